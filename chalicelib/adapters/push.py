"""App push notifications through SNS mobile push (FCM and APNs platform endpoints)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.errors import SendFailed, provider_errors

PLATFORMS = ("fcm", "apns")
# Publish answers these when the endpoint (the install's token) will never work again.
GONE_CODES = frozenset({"EndpointDisabled", "InvalidParameter", "NotFound"})


class EndpointGone(SendFailed):
    """The device's endpoint is disabled or invalid: delete it rather than try again."""

    def __init__(self, code: str) -> None:
        super().__init__(code, retryable=False)


# APNs shows notifications with one collapse id as one (the apns-collapse-id header, at most 64
# bytes); SNS sets that header from this message attribute ("Amazon SNS message attributes",
# reserved attributes for mobile push).
APNS_COLLAPSE_ID = "AWS.SNS.MOBILE.APNS.COLLAPSE_ID"
MAX_COLLAPSE_ID_BYTES = 64


def push_payload(
    title: str, body: str, action_id: str, collapse_id: str, image: str | None = None
) -> str:
    """The MessageStructure=json message: one payload per platform, carrying the action id and
    the URL of the action's small photo, if it has one.

    FCM gets SNS's FCM HTTP v1 structure (`fcmV1Message`), where `android.collapse_key` lets FCM
    keep only the newest of two waiting messages and `android.notification.tag` makes the second
    replace the first in the notification drawer: a second try of one alert shows once.
    """
    android: dict[str, Any] = {"title": title, "body": body, "tag": collapse_id}
    # In the data too: an app in the foreground builds the notification itself, and must use it.
    data = {"action_id": action_id, "collapse_id": collapse_id}
    apns: dict[str, Any] = {
        "aps": {"alert": {"title": title, "body": body}, "sound": "default"},
        "action_id": action_id,
    }
    if image:
        android["image"] = image  # Android shows it in the notification itself
        data["image"] = image
        apns["image"] = image
        apns["aps"]["mutable-content"] = 1  # lets the app's extension fetch and attach it
    fcm = {
        "fcmV1Message": {
            "message": {
                "notification": {"title": title, "body": body},
                "data": data,
                "android": {
                    "priority": "high",
                    "collapse_key": collapse_id,
                    "notification": android,
                },
            }
        }
    }
    return json.dumps(
        {
            "default": body,
            "GCM": json.dumps(fcm),
            "APNS": json.dumps(apns),
            "APNS_SANDBOX": json.dumps(apns),
        }
    )


@dataclass(frozen=True)
class SnsPush:
    """Registers app installs as SNS platform endpoints and publishes to them."""

    client: Any  # registers and deletes endpoints (idempotent: botocore may retry them)
    platform_application_arns: Mapping[str, str]  # fcm | apns -> platform application ARN
    publisher: Any = None  # publishes (not idempotent: one attempt); defaults to `client`

    def register(self, platform: str, token: str) -> str:
        """Create (or find) the endpoint of a push token; return its ARN or raise SendFailed."""
        application = self.platform_application_arns.get(platform)
        if application is None:
            raise SendFailed("PlatformNotConfigured", retryable=False)
        with provider_errors(refine=_gone):
            response = self.client.create_platform_endpoint(
                PlatformApplicationArn=application, Token=token
            )
        return str(response["EndpointArn"])

    def send(
        self,
        endpoint_arn: str,
        title: str,
        body: str,
        action_id: str,
        collapse_id: str,
        image: str | None = None,
    ) -> str:
        """Publish one notification; return its message id, or raise EndpointGone / SendFailed.

        Two publishes with one `collapse_id` show as one notification on the phone (APNs'
        collapse id, FCM's collapse key and tag), so a second try of an ambiguous send replaces
        the first rather than adding a second.
        """
        if not collapse_id or len(collapse_id.encode()) > MAX_COLLAPSE_ID_BYTES:
            raise ValueError(f"a collapse id is 1 to {MAX_COLLAPSE_ID_BYTES} bytes")
        with provider_errors(refine=_gone):
            response = (self.publisher or self.client).publish(
                TargetArn=endpoint_arn,
                MessageStructure="json",
                Message=push_payload(title, body, action_id, collapse_id, image),
                MessageAttributes={
                    APNS_COLLAPSE_ID: {"DataType": "String", "StringValue": collapse_id}
                },
            )
        return str(response["MessageId"])

    def delete(self, endpoint_arn: str) -> None:
        """Remove an endpoint (an uninstalled or gone device); already gone is fine.

        Any other refusal is a SendFailed, so callers never see a botocore error.
        """
        try:
            with provider_errors(refine=_gone):
                self.client.delete_endpoint(EndpointArn=endpoint_arn)
        except EndpointGone:
            return


def _gone(code: str) -> SendFailed | None:
    return EndpointGone(code) if code in GONE_CODES else None
