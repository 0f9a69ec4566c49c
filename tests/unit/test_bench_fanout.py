"""The fan-out bench keeps working: a tiny action through the simulation, nobody lost or doubled."""

from __future__ import annotations

from datetime import UTC, datetime

from bench import moto_gsi
from bench.fanout.simulation import run
from bench.fanout.world import Params, world
from bench.simclock import Scheduler
from chalicelib.dal import calls as call_ledger
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import Recipient
from chalicelib.dal.models import Delivery
from chalicelib.domain.model import Kind

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_small_action_reaches_everyone_once_on_each_channel_with_results() -> None:
    lines = {line["channel"]: line for line in run(Params(sms_rate=10, people=60, seed=3))}

    assert set(lines) == {"sms", "voice", "push"}
    assert sum(line["recipients"] for line in lines.values()) == 60
    for line in lines.values():
        assert line["finished"], line
        assert (line["lost"], line["duplicated"], line["dead_lettered"]) == (0, 0, 0), line
        assert line["sent"] + line["lost_detail"]["alerts"] > 0
        assert line["results_sent"] > 0
        assert line["time_to_last_alert_s"] is not None
    assert lines["voice"]["binding"] == "lines"


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
