"""SMS through SNS Publish, as transactional messages; replies through SNS two-way messaging."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.errors import provider_errors


@dataclass(frozen=True)
class SnsSms:
    """Sends one SMS per call through an SNS client."""

    client: Any
    sender_id: str

    def send(self, phone: str, text: str) -> str:
        """Send `text` to `phone` (E.164); return the provider's message id or raise SendFailed."""
        # IAM cannot limit SMS by destination (Publish has no phone-number condition key), so the
        # last check before SNS is here: nothing leaves for a number outside the Netherlands.
        if not phone.startswith("+31"):
            raise ValueError("SMS goes to Dutch (+31) numbers only")
        with provider_errors():
            response = self.client.publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id},
                },
            )
        return str(response["MessageId"])


@dataclass(frozen=True)
class Reply:
    """An SMS someone sent back to one of our numbers."""

    phone: str  # the sender, E.164
    text: str


def parse_reply(message: str) -> Reply | None:
    """The reply in an SNS two-way messaging notification; None when it names no sender."""
    reply = json.loads(message)
    phone = str(reply.get("originationNumber", ""))
    if not phone:
        return None
    return Reply(phone, str(reply.get("messageBody", "")))
