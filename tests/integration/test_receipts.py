"""Reconciling ambiguous alerts from SMS receipts: End User Messaging events on the receipts queue.

An SMS whose Publish answer is lost is `unknown`. A receipt saying the carrier took it settles it
as sent; a failure receipt, or none within RECEIPT_WINDOW, has it tried once more, never twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.dal import deliveries as ledger
from chalicelib.dal.models import Delivery
from chalicelib.domain.messages import render_result
from chalicelib.domain.model import Channel, DeliveryStatus, Kind, Language, Outcome
from chalicelib.domain.receipts import RECEIPT_WINDOW
from chalicelib.logic.receipts import cut_off_retry_after
from chalicelib.queues import TARGETING_QUEUE
from chalicelib.runtime import runtime
from tests.support.fanout import INSIDE_PHONES, close, counts, language_of, start
from tests.support.receipts import (
    LostAnswers,
    accepted,
    deliver_receipts,
    not_accepted,
    sms_event,
)
from tests.support.system import System

Clock = Callable[[timedelta], datetime]


@pytest.fixture
def network(system: System) -> LostAnswers:
    """Hooked in front of moto on the very SNS client the SMS sender publishes with."""
    hook = LostAnswers()
    client = runtime().sender.sms.client  # type: ignore[attr-defined]
    client.meta.events.register_first("before-send.sns.Publish", hook)
    return hook


def receipt(kind: str, phone: str, after: timedelta = timedelta(seconds=20)) -> str:
    """The body SQS holds for one SMS event, 20 s (by default) after now."""
    return json.dumps(sms_event(kind, phone, datetime.now(UTC) + after))


def published_to(system: System, phone: str) -> int:
    return len(system.emulator.sms_to(phone))


def ledger_of(action_id: str) -> dict[str, Delivery]:
    """The action's deliveries by phone (through the dal, which knows the ledger's keys)."""
    return {d.phone or "": d for d in ledger.ledger(action_id)}


def taken_not_finished(system: System) -> dict[str, Any]:
    """An action whose first person's SMS a sender has taken (`sending`) and not finished."""
    action = start(system)
    system.emulator.time_passes(TARGETING_QUEUE)
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    delivery = ledger_of(action["action_id"])[INSIDE_PHONES[0]]
    assert ledger.start_sending(delivery, Kind.ALERT, datetime.now(UTC))
    return action


@pytest.mark.usefixtures("neighbourhood")
def test_a_delivered_receipt_settles_an_unknown_alert_as_sent_and_sends_no_second_sms(
    system: System, network: LostAnswers, clock: Clock
) -> None:
    # Given: SNS took the 3rd SMS, but its answer was lost: unknown
    network.faults[3] = accepted
    action = start(system)
    system.run_queues()
    phone = network.phones[2]
    assert counts(system, action["action_id"])["unknown"] == 1

    # When: the carrier's receipt says it was delivered
    deliver_receipts(system, receipt("TEXT_DELIVERED", phone))

    # Then: dispatch sees it sent; and long after the window nothing goes out again
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"]) == (5, 0)
    clock(RECEIPT_WINDOW * 3)
    system.sweep()
    system.run_queues()
    assert published_to(system, phone) == 1
    # and, alerted after all, that person gets the result like everyone else
    close(system, action["action_id"])
    system.run_queues()
    result = render_result(Outcome.ARRESTED, action["ref"], Language(language_of(phone)))
    assert system.emulator.sms_to(phone)[1:] == [result]


@pytest.mark.usefixtures("neighbourhood")
def test_a_failure_receipt_sends_exactly_one_more_sms(system: System, network: LostAnswers) -> None:
    # Given: the 2nd SMS ended unknown
    network.faults[2] = accepted
    action = start(system)
    system.run_queues()
    phone = network.phones[1]

    # When: the carrier says it expired undelivered
    deliver_receipts(system, receipt("TEXT_TTL_EXPIRED", phone))
    system.run_queues()

    # Then: it went out once more, and that one is sent
    assert published_to(system, phone) == 2
    assert network.publishes == 6
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"], got["failed"]) == (5, 0, 0)


@pytest.mark.usefixtures("neighbourhood")
def test_a_second_failure_is_not_tried_a_third_time(system: System, network: LostAnswers) -> None:
    # Given: the 1st SMS ended unknown, its failure receipt came, and the retry ended unknown too
    network.faults[1] = not_accepted
    network.faults[6] = not_accepted
    action = start(system)
    system.run_queues()
    phone = network.phones[0]
    deliver_receipts(system, receipt("TEXT_TTL_EXPIRED", phone))
    system.run_queues()
    assert network.publishes == 6 and network.phones[5] == phone

    # When: the retry fails as well
    deliver_receipts(system, receipt("TEXT_TTL_EXPIRED", phone, timedelta(seconds=40)))
    system.run_queues()

    # Then: no third try; the ledger says failed
    assert network.publishes == 6
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"], got["failed"]) == (4, 0, 1)


@pytest.mark.usefixtures("neighbourhood")
def test_no_receipt_within_the_window_sends_one_more_and_never_a_third(
    system: System, network: LostAnswers, clock: Clock
) -> None:
    # Given: the 4th SMS never reached SNS, and nothing says so
    network.faults[4] = not_accepted
    action = start(system)
    system.run_queues()
    phone = network.phones[3]
    assert published_to(system, phone) == 0

    # When: the sweep runs inside the window, nothing happens yet
    clock(RECEIPT_WINDOW - timedelta(minutes=1))
    system.sweep()
    system.run_queues()
    assert network.publishes == 5

    # When: past the window, it is tried once more, and that try too ends unknown
    network.faults[6] = not_accepted
    clock(RECEIPT_WINDOW + timedelta(minutes=1))
    system.sweep()
    system.run_queues()
    assert network.publishes == 6 and network.phones[5] == phone

    # Then: however long nothing comes, there is no third try
    clock(RECEIPT_WINDOW * 4)
    system.sweep()
    system.run_queues()
    assert network.publishes == 6
    assert counts(system, action["action_id"])["unknown"] == 1


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_for_an_alert_already_sent_changes_nothing(
    system: System, network: LostAnswers, clock: Clock
) -> None:
    # Given: everyone's SMS went out normally
    action = start(system)
    system.run_queues()
    before = counts(system, action["action_id"])
    sent = ledger_of(action["action_id"])[INSIDE_PHONES[0]]

    # When: a failure receipt names that message, and a delivered one comes for another phone
    failed = sms_event(
        "TEXT_TTL_EXPIRED", INSIDE_PHONES[0], datetime.now(UTC), sent.alert_message_id
    )
    deliver_receipts(system, json.dumps(failed), receipt("TEXT_DELIVERED", INSIDE_PHONES[1]))
    clock(RECEIPT_WINDOW * 2)
    system.sweep()
    system.run_queues()

    # Then: nothing was sent again and the counts stand
    assert network.publishes == 5
    assert counts(system, action["action_id"]) == before


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_that_fits_two_ambiguous_alerts_settles_neither(
    system: System, network: LostAnswers
) -> None:
    # Given: two actions over the same people, each with that person's SMS unknown
    first = start(system)
    network.faults[1] = accepted
    system.run_queues()
    second = start(system, description="Vrouw met blauwe jas en rode rugzak")
    network.faults[6] = accepted
    system.run_queues()
    phone = network.phones[0]
    assert network.phones[5] == phone

    # When: a receipt comes for that number: it could be either alert's
    deliver_receipts(system, receipt("TEXT_TTL_EXPIRED", phone))
    system.run_queues()

    # Then: nothing is guessed: no SMS now, both still unknown
    assert network.publishes == 10
    assert counts(system, first["action_id"])["unknown"] == 1
    assert counts(system, second["action_id"])["unknown"] == 1


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_settles_the_alert_of_its_time_not_an_older_one(
    system: System, network: LostAnswers, clock: Clock
) -> None:
    # Given: that person's SMS of an earlier action ended unknown an hour ago; now another
    network.faults[1] = accepted
    clock(timedelta(hours=-1))
    first = start(system)
    system.run_queues()
    clock(timedelta(0))
    network.faults[6] = accepted
    second = start(system, description="Vrouw met blauwe jas en rode rugzak")
    system.run_queues()
    phone = network.phones[0]

    # When: the receipt of the recent one comes
    deliver_receipts(system, receipt("TEXT_DELIVERED", phone))

    # Then: the recent alert is settled, the old one is left as it was
    assert counts(system, second["action_id"])["unknown"] == 0
    assert counts(system, first["action_id"])["unknown"] == 1


def test_a_malformed_event_is_dropped_and_logged_without_the_number(
    system: System, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: an event with no message id, one with no timestamp, and a body that is not JSON
    no_id = sms_event("TEXT_DELIVERED", "+31610000001", datetime.now(UTC))
    del no_id["messageId"]
    no_time = sms_event("TEXT_DELIVERED", "+31610000002", datetime.now(UTC))
    no_time["eventTimestamp"] = "yesterday"

    # When
    with caplog.at_level(logging.INFO):
        answer = deliver_receipts(system, json.dumps(no_id), json.dumps(no_time), "{not json")

    # Then: none is read again (no crash loop), each is logged, and no number is in the logs
    assert answer == {"batchItemFailures": []}
    logged = [r.getMessage() for r in caplog.records if "receipt_malformed" in r.getMessage()]
    assert len(logged) == 3
    assert "messageId" in logged[0] and "eventTimestamp" in logged[1]
    assert not any("+3161000000" in message or "0610000" in message for message in caplog.messages)


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_settling_an_alert_someone_settled_meanwhile_counts_nothing_twice(
    system: System, network: LostAnswers
) -> None:
    # Given: an unknown alert, read by two receipt readers at once (a duplicate SQS delivery)
    network.faults[3] = accepted
    action = start(system)
    system.run_queues()
    stale = ledger_of(action["action_id"])[network.phones[2]]
    assert ledger.settle_ambiguous_alert(stale, DeliveryStatus.UNKNOWN, DeliveryStatus.SENT)

    # When: the second settles from what it read before the first wrote
    again = ledger_of(action["action_id"])[network.phones[2]]
    again.alert_status = DeliveryStatus.UNKNOWN  # what it had read before the first wrote
    settled = ledger.settle_ambiguous_alert(again, DeliveryStatus.UNKNOWN, DeliveryStatus.SENT)

    # Then: the ledger refuses it, and dispatch's counts stay true
    assert not settled
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"]) == (5, 0)


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_for_an_alert_still_being_sent_is_read_again_later(
    system: System, clock: Clock
) -> None:
    # Given: an alert its sender has taken (sending) but not finished
    action = taken_not_finished(system)
    body = receipt("TEXT_DELIVERED", INSIDE_PHONES[0])

    # When: its receipt comes while the sender may still record the end itself
    answer = deliver_receipts(system, body)

    # Then: it goes back to the queue, and nothing is settled
    assert len(answer["batchItemFailures"]) == 1
    assert ledger_of(action["action_id"])[INSIDE_PHONES[0]].alert_status is DeliveryStatus.SENDING

    # When: read again after the sender's time is up (it died mid-send)
    clock(timedelta(minutes=7))
    answer = deliver_receipts(system, body)

    # Then: the provider's word settles it
    assert answer == {"batchItemFailures": []}
    assert ledger_of(action["action_id"])[INSIDE_PHONES[0]].alert_status is DeliveryStatus.SENT
    assert counts(system, action["action_id"])["sent"] == 1


@pytest.mark.usefixtures("neighbourhood")
def test_a_receipt_naming_a_sent_message_never_settles_another_alert_of_that_number(
    system: System, network: LostAnswers
) -> None:
    # Given: that person's SMS of one action went out (the ledger has its id); another's is unknown
    first = start(system)
    system.run_queues()
    phone = INSIDE_PHONES[0]
    sent = ledger_of(first["action_id"])[phone]
    network.faults[6] = accepted
    second = start(system, description="Vrouw met blauwe jas en rode rugzak")
    system.run_queues()
    assert network.phones[5] == phone

    # When: the carrier reports the first message undelivered
    late = sms_event("TEXT_TTL_EXPIRED", phone, datetime.now(UTC), sent.alert_message_id)
    deliver_receipts(system, json.dumps(late))
    system.run_queues()

    # Then: the unknown alert of the other action is not taken for it: no SMS goes out
    assert network.publishes == 10
    assert counts(system, second["action_id"])["unknown"] == 1


@pytest.mark.usefixtures("neighbourhood")
def test_a_delivered_receipt_after_the_close_gets_that_person_the_result_too(
    system: System, network: LostAnswers
) -> None:
    # Given: an unknown alert, and the action closed before its receipt came (no result for it)
    network.faults[2] = accepted
    action = start(system)
    system.run_queues()
    phone = network.phones[1]
    close(system, action["action_id"])
    system.run_queues()
    result = render_result(Outcome.ARRESTED, action["ref"], Language(language_of(phone)))
    assert result not in system.emulator.sms_to(phone)

    # When: the receipt says the alert was delivered
    deliver_receipts(system, receipt("TEXT_SUCCESSFUL", phone))
    system.run_queues()

    # Then: alerted after all, they get the result, once, like everyone alerted
    assert system.emulator.sms_to(phone)[1:] == [result]
    assert counts(system, action["action_id"])["results_sent"] == 5


@pytest.mark.usefixtures("neighbourhood")
def test_an_sms_left_sending_by_a_dead_sender_is_settled_by_its_receipt_once_that_sender_is_over(
    system: System, clock: Clock
) -> None:
    # Given: an SMS its sender took (sending) and never finished: the sender died after SNS
    # accepted it. The SMS sender runs at most 60 s.
    action = taken_not_finished(system)
    body = receipt("TEXT_DELIVERED", INSIDE_PHONES[0])

    # When: its receipt is read again 3 minutes on, long after the sender's 60 s
    clock(timedelta(minutes=3))
    answer = deliver_receipts(system, body)

    # Then: it is settled as sent, before the sweep would retry it (4 minutes on)
    assert answer == {"batchItemFailures": []}
    assert ledger_of(action["action_id"])[INSIDE_PHONES[0]].alert_status is DeliveryStatus.SENT
    assert cut_off_retry_after(Channel.SMS) == timedelta(minutes=4)
