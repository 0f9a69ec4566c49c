"""SMS through SNS Publish, as transactional messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

# Error codes worth another try later; anything else will fail the same way again.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)


class SendFailed(Exception):
    """A message could not be sent; `retryable` says whether trying later may help."""

    def __init__(self, code: str, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class SnsSms:
    """Sends one SMS per call through an SNS client."""

    client: Any
    sender_id: str

    def send(self, phone: str, text: str) -> str:
        """Send `text` to `phone` (E.164); return the provider's message id or raise SendFailed."""
        try:
            response = self.client.publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id},
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise SendFailed(code, retryable=code in RETRYABLE_CODES) from None
        except (EndpointConnectionError, ConnectTimeoutError):
            # Nothing reached SNS, so trying again cannot send twice.
            raise SendFailed("ConnectionError", retryable=True) from None
        except BotoCoreError as exc:
            # E.g. a read timeout: SNS may have sent it; recorded as failed, never sent twice.
            raise SendFailed(type(exc).__name__, retryable=False) from None
        return str(response["MessageId"])
