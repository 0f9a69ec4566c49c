"""Reading End User Messaging SMS events: what each says, and what is refused (without numbers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.domain.model import Channel, ReceiptOutcome
from chalicelib.domain.receipts import MalformedReceipt, parse_sms_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "receipts"


def event(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FIXTURES / name).read_text())
    return loaded


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [
        ("text_successful.json", ReceiptOutcome.DELIVERED),
        ("text_delivered.json", ReceiptOutcome.DELIVERED),
        ("text_ttl_expired.json", ReceiptOutcome.FAILED),
    ],
)
def test_each_final_event_is_read_as_what_it_says(fixture: str, outcome: ReceiptOutcome) -> None:
    receipt = parse_sms_event((FIXTURES / fixture).read_text())
    assert receipt is not None
    assert receipt.outcome is outcome
    assert receipt.channel is Channel.SMS
    assert receipt.message_id == "862a8790-60c0-4430-9b2b-658bdexample"
    assert receipt.destination == "+31610000001"
    assert receipt.at == datetime(2023, 6, 17, 4, 11, 43, 470000, tzinfo=UTC)


def test_an_event_in_its_sns_envelope_reads_the_same() -> None:
    wrapped = parse_sms_event((FIXTURES / "sns_envelope.json").read_text())
    raw = parse_sms_event((FIXTURES / "text_successful.json").read_text())
    assert wrapped == raw


@pytest.mark.parametrize("kind", ["TEXT_QUEUED", "TEXT_PENDING"])
def test_an_interim_event_says_nothing_yet(kind: str) -> None:
    body = event("text_successful.json") | {"eventType": kind, "isFinal": False}
    assert parse_sms_event(json.dumps(body)) is None


def test_a_failure_that_is_not_final_waits_for_the_final_word() -> None:
    body = event("text_ttl_expired.json") | {"eventType": "TEXT_CARRIER_UNREACHABLE"}
    assert parse_sms_event(json.dumps(body | {"isFinal": False})) is None
    final = parse_sms_event(json.dumps(body))
    assert final is not None and final.outcome is ReceiptOutcome.FAILED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eventType": "VOICE_COMPLETED"}, "eventType VOICE_COMPLETED is not an SMS"),
        ({"eventType": "+31612345678"}, "eventType (unreadable)"),
        ({"messageId": None}, "messageId"),
        ({"destinationPhoneNumber": "0612345678"}, "destinationPhoneNumber"),
        ({"eventTimestamp": 1686975103}, "eventTimestamp"),  # seconds, not milliseconds
        ({"eventTimestamp": True}, "eventTimestamp"),
    ],
)
def test_a_malformed_event_is_refused_with_a_reason_that_names_no_number(
    change: dict[str, object], reason: str
) -> None:
    body = event("text_successful.json") | change
    with pytest.raises(
        MalformedReceipt, match=reason.replace("(", r"\(").replace(")", r"\)")
    ) as err:
        parse_sms_event(json.dumps(body))
    assert "+316" not in str(err.value) and "0612" not in str(err.value)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"Type": "Notification"})])
def test_a_body_that_is_no_event_is_refused(body: str) -> None:
    with pytest.raises(MalformedReceipt):
        parse_sms_event(body)
