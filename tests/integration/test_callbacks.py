"""The callback number: a caller who was alerted reaches dispatch with that action's context."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.dal import deliveries
from chalicelib.logic import callbacks
from tests.support.builders import UTRECHT, UTRECHT_AREA, add_participant
from tests.support.callbacks import alert, route
from tests.support.system import System

ALERTED = "+31612340001"
STRANGER = "+31612340002"


@pytest.fixture
def alerted_neighbour(system: System) -> None:
    system.post("/municipalities", UTRECHT_AREA)
    add_participant(ALERTED, UTRECHT)


@pytest.mark.usefixtures("alerted_neighbour")
def test_a_caller_who_was_alerted_reaches_dispatch_with_the_action(system: System) -> None:
    action = alert(system)

    for notation in (ALERTED, "0612340001"):  # Connect passes E.164; be lenient anyway
        assert route(system, notation) == {
            "queue": "dispatch",
            "action_ref": action["ref"],
            "incident": "robbery",
            "municipality": "GM0344",
            "action_status": "active",
        }


@pytest.mark.usefixtures("alerted_neighbour")
def test_with_two_alerts_the_newest_active_action_wins(system: System) -> None:
    first = alert(system, "man in rode jas")
    second = alert(system, "vrouw met blauwe tas")
    assert route(system, ALERTED)["action_ref"] == second["ref"]

    system.post(f"/actions/{second['action_id']}/close", {"outcome": "arrested"})
    system.run_queues()
    assert route(system, ALERTED)["action_ref"] == first["ref"]  # the one still running


@pytest.mark.usefixtures("alerted_neighbour")
@pytest.mark.parametrize("caller", [STRANGER, None, "anonymous", "+3225551234"])
def test_unknown_or_withheld_callers_get_the_general_line(
    system: System, caller: str | None
) -> None:
    alert(system)
    assert route(system, caller) == {
        "queue": "general",
        "action_ref": "",
        "incident": "",
        "municipality": "",
        "action_status": "",
    }


@pytest.mark.usefixtures("alerted_neighbour")
def test_an_alert_from_long_ago_no_longer_routes_the_call(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert(system)
    later = datetime.now(UTC) + callbacks.RECENT + timedelta(minutes=1)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return later

    monkeypatch.setattr("chalicelib.handlers.callbacks.datetime", Later)
    assert route(system, ALERTED)["queue"] == "general"


@pytest.mark.usefixtures("alerted_neighbour")
def test_the_number_is_never_logged(system: System, caplog: pytest.LogCaptureFixture) -> None:
    alert(system)
    logger = logging.getLogger("burgernet")
    logger.addHandler(caplog.handler)
    try:
        route(system, ALERTED)
    finally:
        logger.removeHandler(caplog.handler)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "callback_routed" in logged
    assert "612340001" not in logged


# --- the rate limit per calling number ---------------------------------------------------------


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each ledger look-up the router makes (by the action ids it found)."""
    made: list[str] = []
    real = deliveries.alerted_actions

    def counted(phone: str, since: datetime) -> list[str]:
        found = real(phone, since)
        made.append(",".join(found))
        return found

    monkeypatch.setattr(deliveries, "alerted_actions", counted)
    return made


@pytest.mark.usefixtures("alerted_neighbour")
def test_a_number_calling_too_often_gets_the_general_line_without_a_look_up(
    system: System, lookups: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    alert(system)
    add_participant(STRANGER, UTRECHT)  # a second alerted neighbour, calling once
    second = alert(system, "vrouw met blauwe tas")
    limit = callbacks.LOOKUPS_PER_WINDOW
    # Any notation of the number counts toward the same limit.
    for call in range(limit):
        notation = ALERTED if call % 2 else "06-12340001"
        assert route(system, notation)["queue"] == "dispatch"
    assert len(lookups) == limit

    logger = logging.getLogger("burgernet")
    logger.addHandler(caplog.handler)
    try:
        over = route(system, ALERTED)
    finally:
        logger.removeHandler(caplog.handler)

    assert over == callbacks.GENERAL
    assert len(lookups) == limit  # no look-up for the call over the limit
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "rate_limited" in logged and "612340001" not in logged
    # Another number is counted on its own.
    assert route(system, STRANGER)["action_ref"] == second["ref"]


@pytest.mark.usefixtures("alerted_neighbour")
def test_the_limit_lifts_when_its_window_has_passed(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = alert(system)
    for _ in range(callbacks.LOOKUPS_PER_WINDOW + 1):
        route(system, ALERTED)
    later = datetime.now(UTC) + timedelta(seconds=callbacks.WINDOW_S)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return later

    monkeypatch.setattr("chalicelib.handlers.callbacks.datetime", Later)
    assert route(system, ALERTED)["action_ref"] == action["ref"]


@pytest.mark.usefixtures("alerted_neighbour")
@pytest.mark.parametrize("caller", [ALERTED, STRANGER, None])
def test_every_answer_carries_the_same_attributes(system: System, caller: str | None) -> None:
    alert(system)
    assert set(route(system, caller)) == set(callbacks.GENERAL)
