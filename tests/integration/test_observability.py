"""What cloud operations see: the functions' events on stdout (CloudWatch), with ids only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import boto3
import pytest

from chalicelib import runtime as runtime_module
from chalicelib.dal.models import Device
from tests.conftest import REGION, UTRECHT, System, add_participant

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
            "radius_m": 500.0,
            "function_name": "api_handler",
            "request_id": ANY,
        }
    ]
    assert targeted and targeted[0]["recipients"] == 1
    assert PHONE not in out and "612345678" not in out


def events(out: str) -> list[dict[str, Any]]:
    """The JSON event lines of a log."""
    return [json.loads(line[line.index("{") :]) for line in out.splitlines() if '"event"' in line]


@pytest.fixture
def gone_app(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app install at UTRECHT whose push endpoint the platform has since disabled."""
    sns = boto3.client("sns", region_name=REGION)
    application = sns.create_platform_application(
        Name="burgernet-fcm",
        Platform="GCM",
        Attributes={"PlatformCredential": "secret", "PlatformPrincipal": "principal"},
    )["PlatformApplicationArn"]
    monkeypatch.setenv("PUSH_APPLICATION_FCM_ARN", application)
    runtime_module.reset()
    runtime_module.runtime()
    device = system.post("/devices", {"platform": "fcm", "push_token": "t-1"}).json_body
    located = system.client.http.put(
        f"/devices/{device['device_id']}/location",
        body=json.dumps({"lat": UTRECHT[0], "lon": UTRECHT[1]}),
        headers={"Content-Type": "application/json", "X-Device-Secret": device["device_secret"]},
    )
    assert located.status_code == 200, located.body
    arn = Device.get(device["device_id"]).endpoint_arn
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})


@pytest.mark.usefixtures("gone_app")
def test_every_line_of_a_worker_carries_its_function_invocation_and_action(
    system: System, stdout_log: io.StringIO
) -> None:
    # Given a participant and an app whose endpoint is gone (the push sender then logs that
    # without naming the action), both inside the area
    add_participant(PHONE, UTRECHT)

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

    # Then each line a worker wrote names its function, its invocation and the action
    out = stdout_log.getvalue()
    lines = [e for e in events(out) if e.get("function_name") != "api_handler"]
    assert {e["event"] for e in lines} >= {"action_targeted", "push_endpoint_gone", "send_failed"}
    assert all(e.get("action_id") == action_id for e in lines), lines
    invocations: dict[str, set[str]] = {}
    for e in lines:
        invocations.setdefault(e["function_name"], set()).add(e["request_id"])
    # one invocation each here: the targeting worker, and the push sender's one chunk
    assert {name: len(ids) for name, ids in invocations.items()} == {
        "targeting_worker": 1,
        "push_sender": 1,
    }
    assert PHONE not in out and "612345678" not in out
