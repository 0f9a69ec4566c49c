"""The push adapter: removing an endpoint (gone is fine, any other refusal is our SendFailed), and
publishing with a collapse id, so a second try of one push replaces the first on the phone."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import SnsPush, push_payload

ARN = "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/burgernet/abc"


class RefusingSns:
    """Answers delete_endpoint with one AWS error code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def delete_endpoint(self, *, EndpointArn: str) -> None:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DeleteEndpoint")


def test_an_endpoint_already_gone_is_removed_quietly() -> None:
    """Given SNS says the endpoint is not found, deleting it raises nothing."""
    SnsPush(RefusingSns("NotFound"), {}).delete(ARN)


def test_another_refusal_is_a_send_failed_not_a_botocore_error() -> None:
    """Given SNS refuses the delete for another reason, the caller gets a SendFailed."""
    with pytest.raises(SendFailed) as refused:
        SnsPush(RefusingSns("AuthorizationError"), {}).delete(ARN)
    assert refused.value.code == "AuthorizationError"
    assert not isinstance(refused.value.__cause__, ClientError)


# --- Publishing: the request SNS's API model accepts, with the collapse id on every platform ------


def _publisher() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sns", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_a_push_carries_its_collapse_id_for_apns_and_fcm() -> None:
    """Given a push, the Publish request (checked against SNS's API model by the Stubber) names
    the collapse id in APNs' reserved attribute and as FCM v1's collapse key and tag."""
    client, stub = _publisher()
    payload = push_payload("Burgernet B-1", "Kijk uit", "a-1", "a-1:alert")
    stub.add_response(
        "publish",
        {"MessageId": "m-1"},
        {
            "TargetArn": ARN,
            "MessageStructure": "json",
            "Message": payload,
            "MessageAttributes": {
                "AWS.SNS.MOBILE.APNS.COLLAPSE_ID": {
                    "DataType": "String",
                    "StringValue": "a-1:alert",
                }
            },
        },
    )
    with stub:
        assert (
            SnsPush(client, {}).send(ARN, "Burgernet B-1", "Kijk uit", "a-1", "a-1:alert") == "m-1"
        )
    android = json.loads(json.loads(payload)["GCM"])["fcmV1Message"]["message"]["android"]
    assert android["collapse_key"] == android["notification"]["tag"] == "a-1:alert"


@pytest.mark.parametrize("collapse_id", ["", "x" * 65])
def test_a_collapse_id_apns_would_refuse_is_never_sent(collapse_id: str) -> None:
    """APNs takes 1 to 64 bytes: anything else is refused before SNS is asked."""
    client, stub = _publisher()
    with stub, pytest.raises(ValueError, match="64 bytes"):
        SnsPush(client, {}).send(ARN, "t", "b", "a-1", collapse_id)
