"""What cloud operations see: the functions' events on stdout (CloudWatch), with ids only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import UTRECHT, System, add_participant

PHONE = "+31612345678"


@pytest.fixture
def stdout_log(system: System) -> Iterator[io.StringIO]:
    """What chalice's app logger handler (stdout, i.e. CloudWatch in Lambda) writes."""
    # chalice's own handler: a plain StreamHandler (pytest's capture handlers are subclasses)
    [handler] = [
        h for h in logging.getLogger("burgernet").handlers if type(h) is logging.StreamHandler
    ]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_events_reach_stdout_at_the_level_lambda_runs_with(
    system: System, stdout_log: io.StringIO
) -> None:
    # Given a participant inside the area, and logging left as chalice sets it up
    add_participant(PHONE, UTRECHT)
    assert logging.getLogger("burgernet").level == logging.ERROR  # chalice's, without debug

    # When an action runs
    response = system.post(
        "/actions",
        {
            "incident": "robbery",
            "description": "twee mannen op een zwarte scooter",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500},
        },
    )
    action_id = response.json_body["action_id"]
    system.run_queues()

    # Then its events are on stdout as JSON, carrying the action id and counts, not the phone
    out = stdout_log.getvalue()
    events = [json.loads(line[line.index("{") :]) for line in out.splitlines() if '"event"' in line]
    started = [e for e in events if e["event"] == "action_started"]
    targeted = [e for e in events if e["event"] == "action_targeted"]
    assert started == [
        {
            "event": "action_started",
            "action_id": action_id,
            "incident": "robbery",
            "area": "Circle",
            "radius_m": 500.0,
        }
    ]
    assert targeted and targeted[0]["recipients"] == 1
    assert PHONE not in out and "612345678" not in out
