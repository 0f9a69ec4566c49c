"""The action's own item is one partition key: a sender's chunk writes its counters once.

At an action's peak every send adding to the action's live counters on its own would be about
615 writes a second on that one key, over DynamoDB's 1,000 write units once the item is over
1 KB (docs/architecture.md#the-ledgers-partition-keys). A chunk's counts are gathered and written
in one update when it ends; dispatch's counts are right after every chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pynamodb.connection.base import Connection

from chalicelib.dal.actions import get_action
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE
from chalicelib.settings import get_settings
from tests.support.builders import UTRECHT
from tests.support.devices import pushes, put_location, register, start_action
from tests.support.fanout import INSIDE, PublishFaults, counts, failed_ids, run, start
from tests.support.receipts import lose_push_answers
from tests.support.system import System


@pytest.fixture
def action_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The update expression of every UpdateItem on the actions table, in order."""
    table = get_settings().tables.actions
    seen: list[str] = []
    original = Connection.dispatch

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and kwargs.get("TableName") == table:
            seen.append(str(kwargs.get("UpdateExpression")))
        return original(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    yield seen


def counter_writes(expressions: list[str]) -> int:
    """The writes that add to counters (the first alert's time is a SET of its own)."""
    return sum(1 for expression in expressions if "ADD" in expression)


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_of_five_sms_when_sent_then_the_action_item_takes_one_counter_write(
    system: System, action_writes: list[str]
) -> None:
    # Given: an action whose five people are one SMS chunk
    action_id = start(system)["action_id"]
    run(system, "targeting_worker", TARGETING_QUEUE)
    [chunk] = system.emulator.drain(SMS_QUEUE)
    action_writes.clear()

    # When: the sender sends the chunk
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [chunk])) == []

    # Then: the action's counters took one write for the five sends (and one for the time of
    # its first alert); dispatch reads all five as sent
    assert counter_writes(action_writes) == 1, action_writes
    assert len(action_writes) == 2, action_writes
    got = counts(system, action_id)
    assert (got["sent"], got["queued"], got["unknown"]) == (len(INSIDE), 0, 0)


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_that_crashes_mid_send_when_it_fails_then_what_it_did_is_counted(
    system: System, action_writes: list[str], faults: PublishFaults
) -> None:
    # Given: the third publish of the chunk crashes the sender (an error nobody foresaw)
    faults.at_call[3] = RuntimeError("SMS channel crashed")
    action_id = start(system)["action_id"]
    run(system, "targeting_worker", TARGETING_QUEUE)
    [chunk] = system.emulator.drain(SMS_QUEUE)
    action_writes.clear()

    # When: the invocation fails
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [chunk])) == [chunk["MessageId"]]

    # Then: dispatch already reads the two sent and the one that may have gone out, in one
    # counter write (its unknown noted for the sweep in the same write)
    got = counts(system, action_id)
    assert (got["sent"], got["unknown"], got["queued"]) == (2, 1, 2)
    assert counter_writes(action_writes) == 1, action_writes


def test_an_ambiguous_push_is_counted_but_not_noted_for_the_sweep(app: System) -> None:
    # Given: SNS takes an app user's push and its one retry, but both answers are lost
    device = register(app)
    put_location(app, device, *UTRECHT)
    lose_push_answers(2)

    # When: the action is sent
    action_id = start_action(app)["action_id"]
    app.run_queues()

    # Then: dispatch sees it as unknown, and the action item keeps no note of it: no push
    # receipt can settle it, and every note makes each counter write of that one key dearer
    assert len(pushes()) == 2
    assert counts(app, action_id)["unknown"] == 1
    assert not get_action(action_id).unsettled


def test_a_push_retried_after_a_lost_answer_costs_the_action_item_no_extra_write(
    app: System, action_writes: list[str]
) -> None:
    # Given: SNS takes an app user's push, but its answer is lost once
    put_location(app, register(app), *UTRECHT)
    lose_push_answers(1)
    action_id = start_action(app)["action_id"]
    for message in app.emulator.drain(TARGETING_QUEUE):
        app.invoke("targeting_worker", TARGETING_QUEUE, [message])
    action_writes.clear()

    # When: the push sender sends the chunk, trying the push once more at once
    app.run_queues()

    # Then: one counter write for the chunk and one for its first alert's time, as for any
    # chunk: a push is never noted for the sweep, so its retry has no note to take off the item
    assert len(pushes()) == 2
    assert counter_writes(action_writes) == 1, action_writes
    assert len(action_writes) == 2, action_writes
    assert counts(app, action_id)["sent"] == 1
