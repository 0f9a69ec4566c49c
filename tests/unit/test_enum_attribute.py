"""Named states in the tables: stored as the same plain strings as before, read back as members."""

from __future__ import annotations

import pytest

from chalicelib.dal.models import Delivery, EnumAttribute
from chalicelib.domain.model import ActionStatus, DeliveryStatus


def test_a_state_is_stored_as_its_plain_string() -> None:
    attribute = EnumAttribute(DeliveryStatus)
    assert attribute.serialize(DeliveryStatus.SENDING) == "sending"
    assert type(attribute.serialize(DeliveryStatus.SENDING)) is str


def test_an_item_written_before_the_enums_reads_back_as_members() -> None:
    stored = {
        "ledger_key": {"S": "a-1#07"},
        "action_id": {"S": "a-1"},
        "participant_id": {"S": "p-1"},
        "language": {"S": "nl"},
        "channel": {"S": "sms"},
        "distance_m": {"N": "120"},
        "claimed_at": {"S": "2026-11-29T06:00:00.000000+0000"},
        "alert_status": {"S": "sent"},
        "result_status": {"S": "queued"},
        "update_status": {"M": {"u-1": {"S": "skipped"}}},
        "expires": {"N": "1800000000"},
    }
    delivery = Delivery.from_raw_data(stored)
    assert delivery.alert_status is DeliveryStatus.SENT
    assert delivery.result_status is DeliveryStatus.QUEUED
    assert delivery.serialize() == stored  # written back exactly as it was


def test_a_word_that_names_no_state_is_refused_before_it_is_written() -> None:
    with pytest.raises(ValueError):
        EnumAttribute(ActionStatus).serialize("paused")
