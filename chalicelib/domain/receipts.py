"""Provider receipts: what End User Messaging SMS says became of one message, read in one place.

The events are End User Messaging SMS event destinations' (configuration set -> SNS topic -> SQS),
whose SMS event carries `eventType`, `messageId`, `destinationPhoneNumber`, `eventTimestamp`
(Unix milliseconds) and `isFinal`. Anything else in them (prices, carrier codes) is not read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.model import Channel, ReceiptOutcome

# The carrier took the message (some countries report one, some the other).
DELIVERED_EVENTS = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
# It will not reach the phone. TEXT_UNKNOWN is AWS's "could not be delivered, for another
# reason": not delivered, so it counts as a failure.
FAILED_EVENTS = frozenset(
    {
        "TEXT_FAILED",
        "TEXT_TTL_EXPIRED",
        "TEXT_BLOCKED",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_CARRIER_UNREACHABLE",
        "TEXT_UNREACHABLE",
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_SPAM",
        "TEXT_UNKNOWN",
        "TEXT_PROTECT_BLOCKED",
    }
)
# On the way: says nothing yet (a final event follows).
INTERIM_EVENTS = frozenset({"TEXT_QUEUED", "TEXT_PENDING"})
_EVENT_TYPE = re.compile(r"[A-Z_]{1,40}")  # named in a log only when it looks like one
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
# Event times before this are not from this system (2020-01-01): a unit mix-up (seconds) or junk.
_EARLIEST_MS = 1_577_836_800_000


# W: an ambiguous alert with no receipt this long after its end is taken as never accepted and
# tried once more. Receipts come 5-60 s after the provider takes a message: W is five times the
# slowest, and one sweep (a minute) more at most.
RECEIPT_WINDOW = timedelta(minutes=5)
# The channels whose provider keeps a record an ambiguous alert can be settled from: SMS (End
# User Messaging's events) and voice (Connect's contact events; a retry reuses the ClientToken).
# We read no push receipts: an ambiguous push is instead tried once more by its sender, under
# the same collapse id, so a second try replaces the first on the phone (logic/sending.py).
RECONCILED = frozenset({Channel.SMS, Channel.VOICE})
# An alert still `sending` this long after its send began was cut off mid-publish (its
# sender's Lambda timeout, .chalice/config.json, is past: SMS 60 s, voice 300 s, push 60 s, each
# plus a minute), so reconciliation may settle it, or (push) the sender try it once more.
# Results wait the ledger's ALERT_IN_FLIGHT (6 min, the longest) for every channel alike.
SENDER_CUT_OFF = {
    Channel.SMS: timedelta(minutes=2),
    Channel.VOICE: timedelta(minutes=6),
    Channel.PUSH: timedelta(minutes=2),
}
# A receipt can be written before the ledger records the ambiguous end: the sender learns of it
# only at its read timeout (botocore's 60 s). An alert matches a receipt when its ledger time lies
# between RECEIPT_WINDOW before the receipt and RECEIPT_SKEW after it.
RECEIPT_SKEW = timedelta(minutes=2)
# Actions last at most eight hours: a receipt's delivery was claimed at most this long before it.
RECEIPT_LOOKBACK = timedelta(hours=9)


class MalformedReceipt(ValueError):
    """An event that is not a receipt we can read; the message says what, never the number."""


@dataclass(frozen=True)
class Receipt:
    """A provider's word on one message: which, to whom, delivered or failed, and when."""

    channel: Channel
    message_id: str
    destination: str  # E.164: personal data, never logged
    outcome: ReceiptOutcome
    at: datetime  # when the provider reported it
    event: str  # the provider's event type, for logs


def parse_sms_event(body: str) -> Receipt | None:
    """The receipt in one SQS message body; None for an interim event (queued, pending).

    The body is the event itself (the subscription's raw message delivery) or SNS's envelope
    around it. MalformedReceipt for anything else.
    """
    event = _json_object(body, "body")
    if event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        event = _json_object(event["Message"], "SNS Message")
    kind = event.get("eventType")
    if not isinstance(kind, str):
        raise MalformedReceipt("eventType missing or not a string")
    if kind in INTERIM_EVENTS:
        return None
    if kind in DELIVERED_EVENTS:
        outcome = ReceiptOutcome.DELIVERED
    elif kind in FAILED_EVENTS:
        outcome = ReceiptOutcome.FAILED
    else:
        named = kind if _EVENT_TYPE.fullmatch(kind) else "(unreadable)"
        raise MalformedReceipt(f"eventType {named} is not an SMS delivery event")
    if outcome is ReceiptOutcome.FAILED and event.get("isFinal") is False:
        return None  # the carrier may still deliver it: wait for the final word
    message_id = event.get("messageId")
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise MalformedReceipt("messageId missing or not an id")
    destination = event.get("destinationPhoneNumber")
    if not isinstance(destination, str) or not _E164.fullmatch(destination):
        raise MalformedReceipt("destinationPhoneNumber missing or not E.164")
    stamp = event.get("eventTimestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < _EARLIEST_MS:
        raise MalformedReceipt("eventTimestamp missing or not Unix milliseconds")
    at = datetime.fromtimestamp(stamp / 1000, UTC)
    return Receipt(Channel.SMS, message_id, destination, outcome, at, kind)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise MalformedReceipt(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedReceipt(f"{what} is not a JSON object")
    return value
