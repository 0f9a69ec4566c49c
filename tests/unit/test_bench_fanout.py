"""The fan-out bench keeps working, and its faults really happen and really count: a tiny action
through the simulation, with every fault injected often enough to be seen."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bench import moto_gsi
from bench.fanout.__main__ import plan
from bench.fanout.faults import NO_FAULTS, FaultRates
from bench.fanout.providers import Provider
from bench.fanout.receipts import RECEIPTS_MAX_RECEIVES, RECEIPTS_VISIBILITY_S, Receipt, Receipts
from bench.fanout.simulation import run
from bench.fanout.world import Params, phones_in_moto, populate, world
from bench.simclock import Scheduler
from chalicelib.dal import calls as call_ledger
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import Recipient
from chalicelib.dal.models import Delivery
from chalicelib.dal.participants import phone_directory, places_in
from chalicelib.domain.model import Channel, Kind
from chalicelib.queues import hold_s

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Small and short: the least duration an action may have, few people, few calls.
TINY = Params(sms_rate=10, people=60, seed=3, duration_min=5, faults=NO_FAULTS)


def by_channel(params: Params) -> dict[str, dict[str, Any]]:
    return {line["channel"]: line for line in run(params)}


def test_a_small_action_reaches_everyone_once_on_each_channel_with_results() -> None:
    lines = by_channel(TINY)

    assert set(lines) == {"sms", "voice", "push"}
    assert sum(line["recipients"] for line in lines.values()) == 60
    for line in lines.values():
        assert line["finished"], line
        assert line["due"] == line["recipients"] > 0
        assert (line["lost"], line["duplicated"], line["dead_lettered"]) == (0, 0, 0), line
        assert line["ledger_lost"] == line["cancelled"] == 0, line
        assert line["sent"] > 0
        assert line["results_sent"] > 0
        assert line["time_to_last_alert_s"] is not None
        assert line["duplicated_after_lost_receipt"] == 0, line
        assert line["spans"]["before_close"]["made"] > 0, line
        # What POST /actions told dispatch: the same people, none cut off in the duration
        assert line["expected"]["people"] == line["due"], line
        assert line["expected"]["cancelled"] == 0, line
    assert lines["voice"]["binding"] == "lines"


def test_a_person_dropped_in_targeting_is_lost_at_the_provider_though_the_ledger_says_none() -> (
    None
):
    lines = by_channel(replace(TINY, drop_in_targeting=1))

    # The one dropped (the nearest, on whatever channel) is due an alert the ledger never knew of.
    assert sum(line["lost"] for line in lines.values()) == 1
    assert all(line["ledger_lost"] == 0 for line in lines.values())
    assert sum(line["recipients"] for line in lines.values()) == (
        sum(line["due"] for line in lines.values()) - 1
    )


@pytest.fixture(scope="module")
def faulty() -> dict[str, dict[str, Any]]:
    """One run with every fault injected far more often than the bench's rates, so each shows."""
    rates = FaultRates(
        throttled=0.05,
        ambiguous=0.2,
        crashes=0.3,
        hung_invocations=0.1,
        duplicate_deliveries=0.3,
        receipts_lost=0.2,
        ledger_write_units=5.0,  # tiny partitions (10 units with the burst): writes throttled
        ledger_burst_s=1.0,
    )
    return by_channel(replace(TINY, people=80, faults=rates))


def test_every_injected_fault_happens_and_is_counted(faulty: dict[str, dict[str, Any]]) -> None:
    sms, voice, push = faulty["sms"], faulty["voice"], faulty["push"]
    lines = (sms, voice, push)
    injected = sms["faults_injected"]
    assert {"crash:before_provider", "crash:before_ledger", "crash:between_ledger_writes"} <= set(
        injected
    ), injected
    assert sum(line["crashes"] for line in lines) == sum(injected.values())
    assert sum(line["lambda_timeouts"] for line in lines) > 0
    assert sum(line["duplicate_deliveries"] for line in lines) > 0
    assert sms["throttled_writes"] > 0
    assert sms["key_seconds_over_limit_beyond_burst"] > 0
    assert sms["receipts"]["lost"] > 0
    ambiguous = sum(line["ambiguous"] for line in lines)
    delivered = sum(line["ambiguous_delivered"] for line in lines)
    assert 0 < delivered < ambiguous  # some timeouts went out, some did not
    assert sms["faults"]["crashes"] == 0.3  # the rates are printed with the results
    # A crashed chunk waiting to come back is work the channel still has: busy. It waits out
    # its sender's timeout and margin (the sender hid it for that long), not the queue's
    # visibility timeout, six times the sender's.
    assert any(line["busy_only_s"].get("stuck", 0) > 0 for line in lines)
    for line, channel in ((sms, Channel.SMS), (push, Channel.PUSH)):
        assert line["quota_use"] <= line["quota_use_without_stuck"], line
        killed = line["crashes"] + line["lambda_timeouts"]
        assert line["busy_only_s"].get("stuck", 0) <= killed * hold_s(channel), line


def test_under_faults_the_loss_is_what_no_provider_sent_and_nobody_is_alerted_twice(
    faulty: dict[str, dict[str, Any]],
) -> None:
    for line in faulty.values():
        assert line["finished"], line
        # At 20 % lost receipts the documented residual can show (a send that went out, its
        # receipt lost, so tried once more); nothing else may.
        assert line["duplicated"] == line["duplicated_after_lost_receipt"], line
        # Whoever is lost is an ambiguous end where nothing went out, or a send cut off by a
        # crash before the provider answered: never someone the ledger forgot.
        assert line["lost"] >= line["unreached_unknown"], line
        assert line["due"] == line["recipients"], line


def test_the_scheduler_runs_processes_in_simulated_time_order() -> None:
    sched = Scheduler()
    seen: list[tuple[float, str]] = []

    def worker(name: str, pause: float) -> None:
        for _ in range(3):
            sched.sleep(pause)
            seen.append((sched.now, name))

    sched.spawn("a", lambda: worker("a", 1.0))
    sched.spawn("b", lambda: worker("b", 1.5))
    sched.run()

    # In time order; at a tie, whoever asked first (b at 1.5 s, before a at 2 s) goes first.
    assert seen == [(1.0, "a"), (1.5, "b"), (2.0, "a"), (3.0, "b"), (3.0, "a"), (4.5, "b")]


def test_the_index_query_shortcut_answers_as_moto_does() -> None:
    with world(Params(people=0)):
        people = [Recipient(f"p{n}", f"+3161000000{n}", "nl", "voice", float(n)) for n in range(6)]
        ledger.claim("a", people, NOW)
        for n, delivery in enumerate(ledger.load("a", [p.participant_id for p in people])):
            if n % 3:  # two deliveries share a contact id, two have none
                ledger.start_sending(delivery, Kind.ALERT, NOW)
                call_ledger.finish_call(delivery, Kind.ALERT, f"contact-{n % 2}", n, NOW)

        def answers() -> list[list[str]]:
            return [
                sorted(d.participant_id for d in Delivery.by_contact.query(contact))
                for contact in ("contact-0", "contact-1", "contact-9")
            ]

        fast = answers()
        moto_gsi.uninstall()
        try:
            assert answers() == fast == [["p2", "p4"], ["p1", "p5"], []]
        finally:
            moto_gsi.install()

        # Writes after the shortcut has indexed the table: p1's item changes in place to a new
        # contact id, p3's call takes contact-0, and p2's delivery is gone.
        assert answers() == fast  # indexed again after the reinstall
        stored = {d.participant_id: d for d in Delivery.scan()}
        stored["p1"].update(actions=[Delivery.contact_id.set("contact-9")])
        (p3,) = ledger.load("a", ["p3"])
        ledger.start_sending(p3, Kind.ALERT, NOW)
        call_ledger.finish_call(p3, Kind.ALERT, "contact-0", 3, NOW)
        stored["p2"].delete()
        fast = answers()
        moto_gsi.uninstall()
        try:
            assert answers() == fast == [["p3", "p4"], ["p5"], ["p1"]]
        finally:
            moto_gsi.install()


def test_the_full_bench_runs_both_sizes_at_both_rates_and_quick_runs_one_small_action() -> None:
    runs, _ = plan([])

    assert sorted((p.people, p.sms_rate) for p in runs) == [
        (20_000, 10.0),
        (20_000, 100.0),
        (100_000, 10.0),
        (100_000, 100.0),
    ]
    big = [p for p in runs if p.people == 100_000]
    # The app-first mix, every fault at the bench's rates, and the fairness row's second action.
    assert {(p.sms_share, p.voice_share) for p in big} == {(0.25, 0.05)}
    assert all(p.faults == FaultRates() and p.small_action == 300 for p in big)
    assert all(p.small_action == 0 for p in runs if p.people == 20_000)
    assert all(p.duration_min == 60 for p in runs)  # the action's default, closed by the sweep

    quick, _ = plan(["--quick"])
    assert [(p.people, p.sms_rate) for p in quick] == [(1_000, 100.0)]


def test_a_receipt_read_again_carries_the_providers_time_until_its_dead_letter_queue() -> None:
    # A receipt that came while its alert was still `sending` is read again after the receipts
    # queue's visibility timeout: the same message, so the same provider time, which is what
    # matches it to its alert once that alert is cut off (its send died after the provider).
    sched = Scheduler()
    sim = SimpleNamespace(sched=sched, moment=lambda: NOW + timedelta(seconds=sched.now))
    receipts = Receipts(sim)  # type: ignore[arg-type]
    seen: list[tuple[float, datetime]] = []

    class TooEarly:
        def handle(self, receipt: Receipt, _: object) -> bool:
            seen.append((sched.now, receipt.at))
            receipts.again(receipt)
            return False

    receipts.logic = TooEarly()  # type: ignore[assignment]
    receipts.deliver(Receipt("m-1", "+31612345678", True, NOW))
    sched.run()

    assert [at for _, at in seen] == [NOW] * RECEIPTS_MAX_RECEIVES
    assert seen[-1][0] == (RECEIPTS_MAX_RECEIVES - 1) * RECEIPTS_VISIBILITY_S
    assert (receipts.dead_lettered, receipts.pending()) == (1, 0)


def test_the_people_stored_in_place_are_the_ones_the_real_reads_find() -> None:
    # The bench stores its people straight into moto's tables and reads the phone directory
    # there: the real code's own reads must see the same people.
    with world(TINY):
        workload = populate(TINY, NOW)
        assert phones_in_moto() == phone_directory()
        assert {pid: phone for phone, pid in phone_directory().items()} == workload.phones
        # Everyone is in the area: the geo index, read as targeting reads it, finds them all.
        assert len(places_in(workload.circle, NOW)) == TINY.people


def test_two_pushes_with_one_collapse_id_show_once_and_are_still_counted_as_sent_twice() -> None:
    push = Provider(Channel.PUSH)
    alert = ("action-1", Kind.ALERT, "device:1")
    push.went_out(alert, 1.0, "action-1:alert")
    push.went_out(alert, 2.0, "action-1:alert")  # a second try of an ambiguous push
    other = ("action-1", Kind.ALERT, "device:2")
    push.went_out(other, 1.0, "action-1:alert")
    push.went_out(other, 2.0)  # no collapse id: the phone shows it again

    assert (push.delivered[alert], push.shown[alert]) == (2, 1)
    assert (push.delivered[other], push.shown[other]) == (2, 2)
