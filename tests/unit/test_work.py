"""The send message: what a sender reads is what targeting and sending wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.domain.model import Channel, Kind
from chalicelib.logic.work import SendWork


def test_a_send_message_reads_back_as_written_through_json() -> None:
    work = SendWork(
        Kind.ALERT,
        Channel.VOICE,
        "a-1",
        ("p-1", "p-2"),
        attempt=3,
        not_before=datetime(2026, 11, 29, 6, 0, tzinfo=UTC),
    )
    item = json.loads(json.dumps(work.to_item()))
    assert SendWork.from_item(item, Channel.SMS) == work


def test_putting_work_back_counts_the_attempt_and_keeps_only_who_waits() -> None:
    work = SendWork(Kind.RESULT, Channel.SMS, "a-1", ("p-1", "p-2", "p-3"))
    later = work.later(["p-2", "p-3"])
    assert (later.participant_ids, later.attempt, later.kind) == (("p-2", "p-3"), 1, Kind.RESULT)
    assert later.later(["p-3"]).attempt == 2


def test_a_message_from_before_a_queue_per_channel_is_work_of_the_queue_it_came_from() -> None:
    old = {"kind": "alert", "action_id": "a-1", "participant_ids": ["p-1"]}
    work = SendWork.from_item(old, Channel.PUSH)
    assert (work.channel, work.attempt, work.not_before) == (Channel.PUSH, 0, None)
