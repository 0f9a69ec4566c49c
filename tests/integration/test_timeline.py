"""GET /actions/{id}/timeline: one action's life in time order, with the action's own counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from chalicelib.queues import TARGETING_QUEUE
from tests.support.builders import UTRECHT, add_participant
from tests.support.fanout import (
    PublishFaults,
    client_error,
    close,
    run,
    start,
    view,
)
from tests.support.system import System

PHONES = [f"+3161200000{n}" for n in range(4)]


@pytest.fixture
def people(system: System) -> None:
    for n, phone in enumerate(PHONES):
        add_participant(phone, (UTRECHT[0] + n * 0.001, UTRECHT[1]))


def events(system: System, action_id: str) -> list[dict[str, object]]:
    response = system.get(f"/actions/{action_id}/timeline")
    assert response.status_code == 200, response.body
    return list(response.json_body["events"])


@pytest.mark.usefixtures("people")
def test_a_sent_and_closed_action_tells_its_life_in_order_with_its_own_counts(
    system: System, faults: PublishFaults
) -> None:
    faults.at_call[2] = client_error("Throttling", "Rate exceeded")  # tried again at once
    action = start(system)
    system.run_queues()
    close(system, action["action_id"], "arrested")
    system.run_queues()

    found = events(system, action["action_id"])

    assert [e["event"] for e in found] == [
        "started",
        "targeted",
        "first_alert",
        "last_alert",
        "throttled",
        "closed",
        "results_done",
    ]
    assert [e["at"] for e in found] == sorted(e["at"] for e in found)
    by_event = {e["event"]: e for e in found}
    counts = view(system, action["action_id"])["counts"]
    assert by_event["targeted"]["count"] == counts["targeted"] == len(PHONES)
    assert by_event["first_alert"]["channel"] == by_event["last_alert"]["channel"] == "sms"
    assert by_event["last_alert"]["count"] == counts["sent"] == len(PHONES)
    assert by_event["throttled"]["count"] == 1
    assert by_event["closed"]["detail"] == {"outcome": "arrested", "by": "local"}
    assert by_event["results_done"]["count"] == counts["results_sent"] == len(PHONES)
    # nothing personal in it
    assert not any(phone in str(found) for phone in PHONES)


@pytest.mark.usefixtures("people")
def test_an_action_still_targeting_shows_only_its_start(system: System) -> None:
    action = start(system)
    assert [e["event"] for e in events(system, action["action_id"])] == ["started"]

    run(system, "targeting_worker", TARGETING_QUEUE)
    assert [e["event"] for e in events(system, action["action_id"])] == ["started", "targeted"]


@pytest.mark.usefixtures("people")
def test_an_action_that_ran_out_of_time_says_it_expired_and_who_closed_it(
    system: System, clock: Callable[[timedelta], datetime]
) -> None:
    action = start(system, duration_minutes=5)
    system.run_queues()
    clock(timedelta(minutes=6))
    system.sweep()
    system.run_queues()

    found = {e["event"]: e for e in events(system, action["action_id"])}

    assert "closed" not in found
    assert found["expired"]["detail"] == {"outcome": "expired", "by": "sweeper"}
    assert found["results_done"]["count"] == len(PHONES)


def test_an_unknown_action_has_no_timeline(system: System) -> None:
    response = system.get("/actions/00000000-0000-4000-8000-000000000000/timeline")
    assert response.status_code == 404
    assert response.json_body["error"] == "action_not_found"
