"""Fan-out promises: nobody is alerted twice, nobody is forgotten.

Checked as people and dispatch notice them: who received which SMS, how many, in what order,
and what GET /actions/{id} counts. Faults SQS and SNS never show in the emulator (throttling,
crashes, a lost enqueue) are injected on the live runtime objects the handlers use.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import queues
from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import ALERT_IN_FLIGHT
from chalicelib.dal.models import Delivery
from chalicelib.domain.messages import render_result
from chalicelib.domain.model import Channel, DeliveryStatus, Kind, Language, Outcome
from chalicelib.logic.sending import ALERT_WAIT_DELAY_S, THROTTLED_RETRIES
from chalicelib.logic.sweep import REDRIVE_IDLE
from chalicelib.queues import (
    SENDER_TIMEOUT_S,
    SMS_QUEUE,
    TARGETING_QUEUE,
    QueueError,
    WorkQueue,
    hold_s,
)
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT, add_participant
from tests.support.fanout import (
    CALLBACK_NUMBER,
    DESCRIPTION,
    INSIDE,
    INSIDE_PHONES,
    RADIUS_M,
    LambdaTimeout,
    PublishFaults,
    alert_text,
    alerts_for,
    assert_each_got_exactly,
    client_error,
    close,
    counts,
    deliver,
    failed_ids,
    language_of,
    north,
    paced_at,
    run,
    start,
    view,
)
from tests.support.system import System

# --- 1. Targeting --------------------------------------------------------------------------------


def test_given_people_in_and_around_the_circle_when_alerted_then_each_inside_gets_one_sms(
    system: System,
) -> None:
    # Given: added far from distance order, so the send order can only come from distance
    add_participant("+31620000001", north(900))
    add_participant("+31620000002", north(-150), language="en")
    add_participant("+31620000003", north(1200), north(-450))  # two places inside
    add_participant("+31620000004", north(6000), north(-1100))  # home outside, work inside
    add_participant("+31620000005", north(1450), language="en")  # just inside
    add_participant("+31620000006", north(1550))  # just outside
    add_participant("+31620000007", north(-3000), north(2500))  # every place outside
    nearest_first = ["+31620000002", "+31620000003", "+31620000001", "+31620000004", "+31620000005"]

    # When
    action = start(system)
    system.run_queues()

    # Then: one SMS each, nearest first, nobody outside
    sent = system.emulator.sms()
    assert [phone for phone, _ in sent] == nearest_first
    english = {"+31620000002", "+31620000005"}
    for phone, text in sent:
        assert CALLBACK_NUMBER in text and "0800-0011" in text
        assert f"ref. {action['ref']}" in text
        if phone in english:
            assert "The police are looking for" in text and "De politie" not in text
            assert text == alert_text(action["ref"], "en")
        else:
            assert "De politie zoekt" in text and "The police" not in text
            assert text == alert_text(action["ref"], "nl")
    got = counts(system, action["action_id"])
    assert got["targeted"] == got["sent"] == len(nearest_first)
    assert got["failed"] == got["cancelled"] == got["queued"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_two_actions_over_the_same_people_then_each_gets_one_alert_per_action(
    system: System,
) -> None:
    # Given: two actions in the same area (e.g. a burglary, then a robbery nearby)
    first = start(system)
    system.run_queues()
    second = start(system)

    # When
    system.run_queues()

    # Then: one alert per action per person; the ledger is per action, not per person
    assert_each_got_exactly(
        system,
        {
            p: [alert_text(first["ref"], language_of(p)), alert_text(second["ref"], language_of(p))]
            for p in INSIDE_PHONES
        },
    )


# --- 2. Redelivery -------------------------------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_redelivered_messages_when_both_workers_run_twice_then_nobody_is_alerted_twice(
    system: System,
) -> None:
    action = start(system)
    [targeting] = system.emulator.drain(TARGETING_QUEUE)

    # When: SQS delivers the targeting message twice (at-least-once)
    for _ in range(2):
        payload = system.invoke("targeting_worker", TARGETING_QUEUE, [targeting])
        assert failed_ids(payload) == []
    sends = system.emulator.drain(SMS_QUEUE)
    assert len(sends) == 2  # the second run re-enqueues its chunk too: a harmless duplicate
    # ... and every send message twice as well
    for _ in range(2):
        for message in sends:
            payload = system.invoke("sms_sender", SMS_QUEUE, [message])
            assert failed_ids(payload) == []
    system.run_queues()

    # Then
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))
    got = counts(system, action["action_id"])
    assert got["targeted"] == got["sent"] == len(INSIDE)
    assert got["queued"] == got["failed"] == got["cancelled"] == 0


@pytest.mark.parametrize("copy", ["after the first", "beside the first"])
@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_delivered_twice_then_the_second_copy_takes_no_time_at_the_rate(
    system: System, monkeypatch: pytest.MonkeyPatch, copy: str
) -> None:
    """At the channel's rate every turn spent on someone already sent is an SMS the quota never
    sends: 1 % duplicate deliveries and every redelivered crash would cost that much."""
    sleeps = paced_at(monkeypatch, per_second=10)  # one SMS is 0.1 s of this instance's time
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)
    ids = json.loads(send["Body"])["participant_ids"]
    read_first = ledger.load(action["action_id"], ids)  # what a copy running beside it read
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []
    if copy == "beside the first":
        monkeypatch.setattr(ledger, "load", lambda *_: read_first)
    sleeps.clear()

    # When: SQS delivers the chunk again
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []

    # Then: the copy waits one turn at most (its first, given back), not one for each of the
    # five, and nobody gets a second SMS
    assert sum(sleeps) <= 0.1 + 1e-9
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))


# --- 3. A crash part-way through a chunk ---------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_the_sms_channel_crashes_on_the_third_send_when_redelivered_then_the_rest_get_one(
    system: System, faults: PublishFaults
) -> None:
    # Given: something unexpected blows up on the third SMS (before it reaches SNS)
    faults.at_call[3] = RuntimeError("SMS channel crashed")
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)

    # When
    payload = system.invoke("sms_sender", SMS_QUEUE, [send])

    # Then: the handler hands the message back to SQS; the two before the crash are sent
    assert failed_ids(payload) == [send["MessageId"]]
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES[:2], action["ref"]))
    assert counts(system, action["action_id"])["sent"] == 2

    # When: SQS redelivers it (twice, for good measure)
    for _ in range(2):
        assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []
    system.run_queues()

    # Then: the rest get exactly one alert and nobody gets a second. The person whose send
    # crashed is recorded as unknown: the code cannot tell whether a crashed send reached SNS,
    # so it never retries it (at most once), and dispatch sees it in the counts.
    stuck = INSIDE_PHONES[2]
    assert_each_got_exactly(
        system, alerts_for([p for p in INSIDE_PHONES if p != stuck], action["ref"])
    )
    got = counts(system, action["action_id"])
    assert got["targeted"] == len(INSIDE)
    assert got["sent"] == len(INSIDE) - 1
    assert got["unknown"] == 1
    assert got["queued"] == got["cancelled"] == got["failed"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_whose_invocation_fails_then_it_returns_after_the_senders_hold(
    system: System, faults: PublishFaults
) -> None:
    # Given: an SMS chunk in flight, received by Lambda's poller (the queue hides it 60 s)
    faults.at_call[3] = RuntimeError("SMS channel crashed")
    start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE, delete=False)
    assert system.emulator.hidden_for(SMS_QUEUE) == [pytest.approx(60, abs=1)]

    # When: its invocation fails part-way
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == [send["MessageId"]]

    # Then: its people wait out the sender's last hold (4 s), not six times its timeout
    assert hold_s(Channel.SMS) == 4 < SENDER_TIMEOUT_S[Channel.SMS]
    assert system.emulator.hidden_for(SMS_QUEUE) == [pytest.approx(4, abs=1)]


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_that_outlasts_the_hold_then_its_live_invocation_keeps_it_hidden(
    system: System, faults: PublishFaults, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: SNS takes 1.5 s an SMS, so the chunk's 5 SMS outlast the 4 s hold
    clock = [0.0]
    monkeypatch.setattr(queues, "monotonic", lambda: clock[0])
    publish = faults._publish

    def slow(**params: Any) -> Any:
        clock[0] += 1.5
        return publish(**params)

    monkeypatch.setattr(faults, "_publish", slow)
    holds: list[tuple[float, int]] = []
    hold = WorkQueue.hold

    def spied(queue: WorkQueue, receipt_handle: str, seconds: int) -> bool:
        holds.append((clock[0], seconds))
        return hold(queue, receipt_handle, seconds)

    monkeypatch.setattr(WorkQueue, "hold", spied)
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE, delete=False)

    # When
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []

    # Then: hidden 4 s at a time, renewed before each hold ran out, and everyone got one SMS
    assert len(holds) >= 3
    assert all(seconds == 4 for _, seconds in holds)
    for (before, _), (after, _) in pairwise(holds):
        assert after - before < 4
    assert clock[0] - holds[-1][0] < 4
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_sender_killed_mid_publish_when_the_action_closes_then_it_counts_as_unknown(
    system: System, faults: PublishFaults, clock: Callable[[timedelta], datetime]
) -> None:
    # Given: the sender is killed while publishing the third alert
    faults.at_call[3] = LambdaTimeout()
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)
    with pytest.raises(LambdaTimeout):
        system.invoke("sms_sender", SMS_QUEUE, [send])
    system.invoke("sms_sender", SMS_QUEUE, [send])  # SQS redelivers: the rest go out
    assert counts(system, action["action_id"])["queued"] == 1  # the one left "sending"

    # When: the action closes after the sender's time is surely up
    clock(timedelta(minutes=7))
    close(system, action["action_id"])
    assert deliver(system) == []

    # Then: the cut-off alert is settled as unknown (never resent), and gets no result
    got = counts(system, action["action_id"])
    assert got["unknown"] == 1 and got["failed"] == got["queued"] == 0
    assert got["results_sent"] == got["sent"] == len(INSIDE) - 1
    assert system.emulator.sms_to(INSIDE_PHONES[2]) == []


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_crashed_send_when_the_action_closes_then_everyone_alerted_gets_one_result(
    system: System, faults: PublishFaults, clock: Callable[[timedelta], datetime]
) -> None:
    faults.at_call[3] = RuntimeError("SMS channel crashed")
    action = start(system)
    assert deliver(system) == []  # the crashed message is handed back once, then completes
    stuck = INSIDE_PHONES[2]
    alerted = [p for p in INSIDE_PHONES if p != stuck]

    # When: closed while that one alert is undecided
    close(system, action["action_id"])
    results = run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)
    system.invoke("sms_sender", SMS_QUEUE, [send])  # may wait for the undecided alert ...
    # ... but not for ever: SQS redelivers after its visibility timeout (6 min), by when any
    # sender that held the alert has certainly stopped
    clock(timedelta(minutes=7))
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []
    assert deliver(system) == []  # nothing left over, nothing dead-lettered

    # Then: one result for each person alerted; none for the undecided one
    assert len(results) == 1
    result = render_result(Outcome.ARRESTED, action["ref"], Language.NL)
    result_en = render_result(Outcome.ARRESTED, action["ref"], Language.EN)
    expected = alerts_for(alerted, action["ref"])
    for phone in alerted:
        expected[phone].append(result_en if language_of(phone) == "en" else result)
    assert_each_got_exactly(system, expected)
    assert counts(system, action["action_id"])["results_sent"] == len(alerted)


# --- 4. Throttling -------------------------------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
@pytest.mark.parametrize("refusals", range(1, THROTTLED_RETRIES + 1))
def test_given_sns_throttles_a_send_then_it_is_tried_again_in_the_invocation_and_all_get_one(
    system: System, faults: PublishFaults, monkeypatch: pytest.MonkeyPatch, refusals: int
) -> None:
    for n in range(refusals):
        faults.at_call[3 + n] = client_error("Throttling", "Rate exceeded")
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)
    paced = paced_at(monkeypatch, per_second=2)

    # When: refused in the middle of the chunk, once or more in a row
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []

    # Then: the refused person is tried again in the same invocation; nothing waits
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))
    assert faults.calls == len(INSIDE) + refusals
    assert system.emulator.delayed(SMS_QUEUE) == []
    # and pacing: five sends at 2/s take 2 s; the first retry goes at once (the refusal used no
    # slot), each further one waits its slot
    assert sum(paced) == pytest.approx((len(INSIDE) - 1) / 2 + (refusals - 1) / 2)
    got = counts(system, action["action_id"])
    assert got["sent"] == len(INSIDE) and got["queued"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_sns_keeps_throttling_when_redelivered_then_everyone_gets_exactly_one(
    system: System, faults: PublishFaults
) -> None:
    for n in range(THROTTLED_RETRIES + 1):
        faults.at_call[3 + n] = client_error("Throttling", "Rate exceeded")
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)

    # When: throttled part-way, and again each time it is tried in the invocation
    payload = system.invoke("sms_sender", SMS_QUEUE, [send])

    # Then: what went out stays out; the rest is put back as a new message, a second later,
    # so waiting uses none of the original message's receives
    assert failed_ids(payload) == []
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES[:2], action["ref"]))
    assert counts(system, action["action_id"])["queued"] == len(INSIDE) - 2
    assert system.emulator.delayed(SMS_QUEUE) == [1]

    # When: it comes round (and the old message is redelivered too, for good measure)
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []
    system.run_queues()

    # Then: nothing dropped, nothing twice (the throttled person included)
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))
    got = counts(system, action["action_id"])
    assert got["targeted"] == got["sent"] == len(INSIDE)
    assert got["queued"] == got["failed"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_sns_throttles_a_result_when_redelivered_then_each_alerted_gets_one_result(
    system: System, faults: PublishFaults
) -> None:
    action = start(system)
    system.run_queues()
    for n in range(THROTTLED_RETRIES + 1):
        faults.at_call[faults.calls + 2 + n] = client_error("Throttling", "Rate exceeded")

    close(system, action["action_id"], "found")
    run(system, "targeting_worker", TARGETING_QUEUE)
    [send] = system.emulator.drain(SMS_QUEUE)
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [send])) == []
    assert system.emulator.delayed(SMS_QUEUE) == [1]  # the throttled rest, put back
    system.run_queues()

    for phone in INSIDE_PHONES:
        texts = system.emulator.sms_to(phone)
        assert len(texts) == 2, (phone, texts)
        assert texts[1] == render_result(Outcome.FOUND, action["ref"], Language(language_of(phone)))
    assert counts(system, action["action_id"])["results_sent"] == len(INSIDE)


# --- 5. Permanent failure ------------------------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_sns_refuses_one_number_then_it_counts_as_failed_and_gets_no_result(
    system: System, faults: PublishFaults
) -> None:
    refused = INSIDE_PHONES[1]
    faults.for_phone[refused] = client_error("InvalidParameter", "Invalid parameter: PhoneNumber")
    others = [p for p in INSIDE_PHONES if p != refused]

    # When
    action = start(system)
    assert deliver(system) == []

    # Then: the others are alerted; the refusal is final: tried once, not handed back to SQS
    assert_each_got_exactly(system, alerts_for(others, action["ref"]))
    assert faults.calls == len(INSIDE)
    got = counts(system, action["action_id"])
    assert got["failed"] == 1
    assert got["sent"] == len(others)
    assert got["targeted"] == len(INSIDE) and got["queued"] == 0

    # When: closed
    close(system, action["action_id"], "not_found")
    system.run_queues()

    # Then: a result for each person alerted, none for the one never reached
    for phone in others:
        texts = system.emulator.sms_to(phone)
        assert len(texts) == 2 and action["ref"] in texts[1], texts
    assert system.emulator.sms_to(refused) == []
    got = counts(system, action["action_id"])
    assert got["results_sent"] == len(others)
    assert got["results_failed"] == 0
    assert got["failed"] == 1


# --- 6. Close and results ------------------------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_people_were_alerted_when_closed_then_each_gets_one_result_and_latecomers_nothing(
    system: System,
) -> None:
    action = start(system)
    system.run_queues()
    latecomer = "+31610000099"
    add_participant(latecomer, north(50))  # moved in after the alert went out
    message = "Dank aan de melder uit de Choorstraat."

    # When
    close(system, action["action_id"], "arrested", message=message)
    [results] = system.emulator.drain(TARGETING_QUEUE)
    assert failed_ids(system.invoke("targeting_worker", TARGETING_QUEUE, [results])) == []
    system.run_queues()
    # ... and the results fan-out is delivered again, with its send messages
    assert failed_ids(system.invoke("targeting_worker", TARGETING_QUEUE, [results])) == []
    system.run_queues()

    # Then
    expected = alerts_for(INSIDE_PHONES, action["ref"])
    for phone in INSIDE_PHONES:
        text = render_result(Outcome.ARRESTED, action["ref"], Language(language_of(phone)), message)
        assert message in text and action["ref"] in text
        expected[phone].append(text)
    assert_each_got_exactly(system, expected)  # the latecomer and outsiders: nothing
    assert system.emulator.sms_to(latecomer) == []
    got = counts(system, action["action_id"])
    assert got["results_sent"] == got["sent"] == len(INSIDE)
    assert got["results_failed"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_an_action_closed_then_its_results_are_queued_side_by_side_on_the_claim_pool(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: everyone inside alerted; each result's ledger write noted with the thread making it
    action = start(system)
    system.run_queues()
    threads: list[str] = []
    queue_result = ledger.queue_result

    def noted(delivery: Any) -> bool:
        threads.append(threading.current_thread().name)
        return queue_result(delivery)

    monkeypatch.setattr(ledger, "queue_result", noted)

    # When: the action closes and its results fan-out runs
    close(system, action["action_id"], "arrested")
    system.run_queues()

    # Then: the writes ran on the claim pool, not one at a time in the worker (a 100,000-person
    # close queued about 200 results a second that way), and everyone got their result
    assert len(threads) == len(INSIDE)
    assert all(name.startswith("claim") for name in threads), threads
    assert counts(system, action["action_id"])["results_sent"] == len(INSIDE)


@pytest.mark.usefixtures("neighbourhood")
def test_given_result_send_messages_redelivered_then_nobody_gets_a_second_result(
    system: System,
) -> None:
    action = start(system)
    system.run_queues()
    close(system, action["action_id"], "found")
    run(system, "targeting_worker", TARGETING_QUEUE)
    sends = system.emulator.drain(SMS_QUEUE)

    for _ in range(3):
        for message in sends:
            assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [message])) == []

    for phone in INSIDE_PHONES:
        assert len(system.emulator.sms_to(phone)) == 2
    assert counts(system, action["action_id"])["results_sent"] == len(INSIDE)


# --- 7. Closed before the alerts went out --------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
@pytest.mark.parametrize("results_first", [False, True], ids=["sends-first", "results-first"])
def test_given_targeted_but_not_sent_when_closed_then_nobody_is_alerted_or_told_the_result(
    system: System, results_first: bool
) -> None:
    # Given: targeting ran, the SMS queue has not yet
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    assert counts(system, action["action_id"])["targeted"] == len(INSIDE)

    # When
    close(system, action["action_id"], "cancelled")
    if results_first:
        run(system, "targeting_worker", TARGETING_QUEUE)
    run(system, "sms_sender", SMS_QUEUE)

    # Then
    assert system.emulator.sms() == []
    got = counts(system, action["action_id"])
    assert got["cancelled"] == got["targeted"] == len(INSIDE)
    assert got["sent"] == got["queued"] == got["failed"] == 0

    system.run_queues()

    assert system.emulator.sms() == []
    got = counts(system, action["action_id"])
    assert got["cancelled"] == got["targeted"] == len(INSIDE)
    assert got["results_sent"] == got["results_failed"] == 0


# --- 8. Expiry by the schedule -------------------------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_an_action_past_its_time_when_the_sweep_runs_twice_then_one_expiry_result_each(
    system: System, clock: Callable[[timedelta], datetime]
) -> None:
    short = start(system, duration_minutes=5)
    long = start(system, radius_m=300, duration_minutes=60)  # only the nearest person
    system.run_queues()
    before = len(system.emulator.sms())

    # When: six minutes later, two scheduled runs in a row
    clock(timedelta(minutes=6))
    first = system.sweep()
    second = system.sweep()
    system.run_queues()

    # Then
    assert first["expired"] == 1
    assert second == {"expired": 0, "redriven": 0, "redacted": 0, "retried": 0}
    expired = view(system, short["action_id"])
    assert expired["status"] == "closed"
    assert expired["outcome"] == "expired"
    for phone in INSIDE_PHONES:
        language = Language(language_of(phone))
        results = [
            t
            for t in system.emulator.sms_to(phone)
            if t.startswith("Burgernet: ")
            and (t == render_result(Outcome.EXPIRED, short["ref"], language))
        ]
        assert len(results) == 1, phone
    assert len(system.emulator.sms()) == before + len(INSIDE)
    assert expired["counts"]["results_sent"] == len(INSIDE)
    # The action with time left is untouched
    untouched = view(system, long["action_id"])
    assert untouched["status"] == "active" and untouched["outcome"] is None
    assert untouched["counts"]["results_sent"] == 0
    nearest = system.emulator.sms_to(INSIDE_PHONES[0])
    assert [t for t in nearest if long["ref"] in t] == [alert_text(long["ref"], "nl")]


@pytest.mark.usefixtures("neighbourhood")
def test_given_overlapping_sweeps_read_the_same_active_list_then_results_go_out_once(
    system: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    action = start(system, duration_minutes=5)
    system.run_queues()
    clock(timedelta(minutes=6))
    stale = action_store.active_actions()  # what a run that started a moment earlier read

    # When: the first run expires it; the overlapping run acts on its stale list
    assert system.sweep()["expired"] == 1
    monkeypatch.setattr(action_store, "active_actions", lambda: stale)
    assert system.sweep()["expired"] == 0
    system.run_queues()

    # Then
    for phone in INSIDE_PHONES:
        assert len(system.emulator.sms_to(phone)) == 2, phone
    assert counts(system, action["action_id"])["results_sent"] == len(INSIDE)


@pytest.mark.usefixtures("neighbourhood")
def test_given_an_action_with_time_left_when_the_sweep_runs_then_nothing_changes(
    system: System, clock: Callable[[timedelta], datetime]
) -> None:
    action = start(system, duration_minutes=5)
    system.run_queues()

    clock(timedelta(minutes=4))
    assert system.sweep() == {"expired": 0, "redriven": 0, "redacted": 0, "retried": 0}
    system.run_queues()

    assert view(system, action["action_id"])["status"] == "active"
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))


# --- 9. A lost enqueue, re-driven by the sweep ---------------------------------------------------


@pytest.mark.usefixtures("neighbourhood")
def test_given_the_targeting_enqueue_is_lost_when_the_sweep_runs_then_everyone_is_alerted_once(
    system: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    targeting = runtime().targeting
    real_send = targeting.send
    refusals: list[int] = []

    def send_failing_once(items: Any) -> int:
        if not refusals:
            refusals.append(1)
            raise QueueError("1 of 1 messages refused by burgernet-targeting: ServiceUnavailable")
        return real_send(items)

    monkeypatch.setattr(targeting, "send", send_failing_once)

    # When: POST while SQS refuses the enqueue
    action = start(system)
    system.run_queues()

    # Then: accepted (the action is stored), nothing sent yet
    assert refusals == [1]
    assert system.emulator.sms() == []
    assert view(system, action["action_id"])["targeting"] == "pending"

    # When: a sweep one minute later leaves it (it may just be slow) ...
    clock(timedelta(minutes=1))
    assert system.sweep()["redriven"] == 0
    # ... and one three minutes later re-drives it
    clock(timedelta(minutes=3))
    assert system.sweep()["redriven"] == 1
    system.run_queues()
    assert system.sweep()["redriven"] == 0  # done now: nothing more to re-drive
    system.run_queues()

    # Then
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, action["ref"]))
    got = counts(system, action["action_id"])
    assert got["targeted"] == got["sent"] == len(INSIDE)
    assert view(system, action["action_id"])["targeting"] == "done"


@pytest.mark.usefixtures("neighbourhood")
def test_given_sqs_unreachable_when_an_action_starts_then_it_answers_202_and_the_sweep_enqueues(
    system: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: the SQS endpoint cannot be reached (botocore's own error, below the WorkQueue)
    client = runtime().targeting.client
    real_send = client.send_message_batch
    refusals: list[int] = []

    def unreachable_once(**kwargs: Any) -> Any:
        if not refusals:
            refusals.append(1)
            raise EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com/")
        return real_send(**kwargs)

    monkeypatch.setattr(client, "send_message_batch", unreachable_once)

    # When: POST while SQS is unreachable
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": DESCRIPTION,
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": RADIUS_M},
        },
    )

    # Then: accepted, its targeting pending until the sweep re-drives it
    assert response.status_code == 202, response.body
    action_id = response.json_body["action_id"]
    assert refusals == [1]
    assert view(system, action_id)["targeting"] == "pending"
    clock(timedelta(minutes=3))
    assert system.sweep()["redriven"] == 1
    system.run_queues()
    assert view(system, action_id)["targeting"] == "done"
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, response.json_body["ref"]))


# --- 10. No personal data in logs ----------------------------------------------------------------


def test_given_a_whole_action_with_failures_then_no_phone_number_is_logged(
    system: System, faults: PublishFaults, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="burgernet")
    phones = {
        "+31612345678": ("0612345678", "612345678"),
        "+31687654321": ("0687654321", "687654321"),  # refused by SNS: a permanent failure
        "+31611223344": ("0611223344", "611223344"),  # throttled once
    }
    for i, phone in enumerate(phones):
        add_participant(phone, north(100 + 200 * i), language=("nl", "en", "nl")[i])
    faults.for_phone["+31687654321"] = client_error(
        "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +31687654321 is not valid"
    )
    faults.at_call[3] = client_error("Throttling", "Rate exceeded")

    action = start(system)
    assert deliver(system) == []
    close(system, action["action_id"], "found", message="Dank voor uw hulp.")
    assert deliver(system) == []

    # The run really went through every path
    got = counts(system, action["action_id"])
    assert got["failed"] == 1 and got["results_sent"] == got["sent"]
    events = {r.getMessage() for r in caplog.records if r.name.startswith("burgernet")}
    assert any('"send_failed"' in e for e in events)
    assert any('"send_throttled"' in e for e in events)
    assert any('"results_queued"' in e for e in events)

    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    )
    for e164, (national, bare) in phones.items():
        for form in (e164, national, bare):
            assert form not in logged, form


# --- 11. Recovery paths: results around alerts in flight, and a lost results job -----------------


class PublishHooks:
    """Stands in for the SNS client's Publish: runs a scripted step while one phone's SMS is being
    published (before SNS has it), once, then passes the call on to moto."""

    def __init__(self, publish: Callable[..., Any]) -> None:
        self._publish = publish
        self.during: dict[str, Callable[[], None]] = {}

    def __call__(self, **params: Any) -> Any:
        step = self.during.pop(params["PhoneNumber"], None)
        if step is not None:
            step()
        return self._publish(**params)


@pytest.fixture
def mid_publish(system: System, monkeypatch: pytest.MonkeyPatch) -> PublishHooks:
    """Interleaving on the very SNS client the SMS sender uses."""
    client = runtime().sender.sms.client
    stand_in = PublishHooks(client.publish)
    monkeypatch.setattr(client, "publish", stand_in)
    return stand_in


def delivery_of(action_id: str, phone: str) -> Delivery:
    """This person's ledger entry for the action."""
    return next(d for d in ledger.ledger(action_id) if d.phone == phone)


def alerts_and_results(phones: list[str], ref: str) -> dict[str, list[str]]:
    """Each of these phones: the alert, then the result of an arrest."""
    expected = alerts_for(phones, ref)
    for phone in phones:
        expected[phone].append(render_result(Outcome.ARRESTED, ref, Language(language_of(phone))))
    return expected


@pytest.mark.usefixtures("neighbourhood")
def test_given_alerts_in_flight_when_closed_then_their_results_wait_for_them_but_not_for_ever(
    system: System, clock: Callable[[timedelta], datetime]
) -> None:
    action = start(system)
    action_id, ref = action["action_id"], action["ref"]
    run(system, "targeting_worker", TARGETING_QUEUE)
    # Given: another sender, still mid-chunk, has taken two people's alerts (its start_sending,
    # before it publishes): `slow` it will finish, `killed` never (cut off mid-publish)
    slow, killed = INSIDE_PHONES[1], INSIDE_PHONES[3]
    taken = {phone: delivery_of(action_id, phone) for phone in (slow, killed)}
    for delivery in taken.values():
        assert ledger.start_sending(delivery, Kind.ALERT, datetime.now(UTC))
    run(system, "sms_sender", SMS_QUEUE)  # this sender alerts the rest
    others = [p for p in INSIDE_PHONES if p not in taken]

    # When: closed while those two alerts are in flight, and the results go out
    close(system, action_id)
    run(system, "targeting_worker", TARGETING_QUEUE)
    run(system, "sms_sender", SMS_QUEUE)

    # Then: the others have their result; the two in flight get none yet, neither skipped nor
    # sent ahead of their alert: put back as a new message, a minute later
    assert_each_got_exactly(system, alerts_and_results(others, ref))
    assert system.emulator.delayed(SMS_QUEUE) == [ALERT_WAIT_DELAY_S]

    # When: the other sender's publish to `slow` completes, and it records the alert as sent
    message_id = runtime().sender.sms.send(slow, alert_text(ref, language_of(slow)))
    ledger.finish_sending(
        taken[slow], Kind.ALERT, DeliveryStatus.SENT, datetime.now(UTC), message_id
    )
    system.emulator.time_passes(SMS_QUEUE)
    run(system, "sms_sender", SMS_QUEUE)

    # Then: `slow` gets exactly one result, after its alert; `killed` still waits
    assert_each_got_exactly(system, alerts_and_results([*others, slow], ref))
    assert system.emulator.delayed(SMS_QUEUE) == [ALERT_WAIT_DELAY_S]

    # When: the put-back comes round once ALERT_IN_FLIGHT has passed, `killed` still `sending`
    clock(ALERT_IN_FLIGHT + timedelta(minutes=1))
    system.emulator.time_passes(SMS_QUEUE)
    run(system, "sms_sender", SMS_QUEUE)

    # Then: its alert is settled as unknown, its result skipped, and nothing waits any more
    assert system.emulator.delayed(SMS_QUEUE) == []
    assert deliver(system) == []
    assert_each_got_exactly(system, alerts_and_results([*others, slow], ref))
    got = counts(system, action_id)
    assert got["sent"] == got["results_sent"] == len(INSIDE) - 1
    assert (got["unknown"], got["queued"]) == (1, 0)
    assert got["results_failed"] == got["failed"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_a_chunk_mid_send_when_the_action_closes_then_the_late_alerted_get_one_result(
    system: System, mid_publish: PublishHooks
) -> None:
    action = start(system)
    action_id, ref = action["action_id"], action["ref"]
    run(system, "targeting_worker", TARGETING_QUEUE)
    [alerts] = system.emulator.drain(SMS_QUEUE)
    left_queued: list[int] = []

    def close_and_fan_out_results() -> None:
        close(system, action_id)
        assert len(run(system, "targeting_worker", TARGETING_QUEUE)) == 1
        left_queued.append(counts(system, action_id)["queued"])

    # Given: dispatch closes the action, and the results pass reads the ledger, while the sender
    # (which read the action as active when its chunk began) is publishing the third alert. The
    # last two alerts are still queued then, so that pass queues no result for them.
    mid_publish.during[INSIDE_PHONES[2]] = close_and_fan_out_results

    # When: the sender carries on with its chunk, and everything queued is delivered
    assert failed_ids(system.invoke("sms_sender", SMS_QUEUE, [alerts])) == []
    assert deliver(system) == []

    # Then: the two alerted after the results pass also get their result; nobody gets two
    assert left_queued == [3]  # the third in flight, the last two not yet taken
    assert_each_got_exactly(system, alerts_and_results(INSIDE_PHONES, ref))
    got = counts(system, action_id)
    assert got["sent"] == got["results_sent"] == len(INSIDE)
    assert got["queued"] == got["cancelled"] == 0


@pytest.mark.usefixtures("neighbourhood")
def test_given_the_results_enqueue_is_lost_when_the_sweep_runs_then_each_alerted_gets_one_result(
    system: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    action = start(system)
    action_id, ref = action["action_id"], action["ref"]
    system.run_queues()
    targeting = runtime().targeting
    real_send = targeting.send
    refused: list[Any] = []

    def send_refusing_results_once(items: Any) -> int:
        if not refused and items[0]["kind"] == "results":
            refused.append(items)
            raise QueueError("1 of 1 messages refused by burgernet-targeting: ServiceUnavailable")
        return real_send(items)

    monkeypatch.setattr(targeting, "send", send_refusing_results_once)

    # When: closed while SQS refuses the enqueue of the results job
    close(system, action_id)
    system.run_queues()

    # Then: closed, everyone alerted, nobody told the result yet
    assert len(refused) == 1
    assert view(system, action_id)["status"] == "closed"
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, ref))

    # When: a sweep one minute later leaves it (it may just be slow) ...
    clock(timedelta(minutes=1))
    assert system.sweep()["redriven"] == 0
    system.run_queues()
    assert_each_got_exactly(system, alerts_for(INSIDE_PHONES, ref))
    # ... and one past REDRIVE_IDLE re-drives it
    clock(REDRIVE_IDLE + timedelta(minutes=1))
    assert system.sweep()["redriven"] == 1
    system.run_queues()
    assert system.sweep()["redriven"] == 0  # done now: nothing more to re-drive
    system.run_queues()

    # Then
    assert_each_got_exactly(system, alerts_and_results(INSIDE_PHONES, ref))
    got = counts(system, action_id)
    assert got["sent"] == got["results_sent"] == len(INSIDE)
    assert got["results_failed"] == got["results_unknown"] == 0
