"""The dispatch CLI against the running local system, as a control room would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.local import PATIENCE_S, LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e


def cli(system: LocalSystem, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "tools.dispatch", "--url", system.api, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_starts_follows_and_closes_an_action(local_system: LocalSystem) -> None:
    area = ["--lat", "52.0907", "--lon", "5.1214", "--radius", "1500"]
    started = cli(
        local_system, "start", "--incident", "burglary", "--description", "rode jas", *area
    )
    assert started.returncode == 0, started.stderr
    action = json.loads(started.stdout)
    assert action["status"] == "active"

    status = cli(local_system, "status", action["action_id"])
    assert json.loads(status.stdout)["ref"] == action["ref"]

    closed = cli(local_system, "close", action["action_id"], "--outcome", "arrested")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["outcome"] == "arrested"

    again = cli(local_system, "close", action["action_id"], "--outcome", "arrested")
    assert again.returncode == 1
    assert '"error": "action_closed"' in again.stderr  # the API's own JSON error, printed


def test_the_same_idempotency_key_starts_one_action(local_system: LocalSystem) -> None:
    args = ["start", "--incident", "other", "--description", "blauwe auto", "--lat", "52.09"]
    args += ["--lon", "5.12", "--radius", "500", "--idempotency-key", "meldkamer-42"]
    first, second = cli(local_system, *args), cli(local_system, *args)
    assert json.loads(first.stdout)["action_id"] == json.loads(second.stdout)["action_id"]


def wait_for(system: LocalSystem, action_id: str, done: Callable[[dict[str, int]], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        counts = json.loads(cli(system, "status", action_id).stdout)["counts"]
        if done(counts):
            return
        time.sleep(0.5)
    raise AssertionError(f"not done in time: {counts}")


def test_make_ops_prints_an_actions_life_in_time_order(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    people = [f"+3162500000{n},{52.0907 + n * 0.001:.6f},5.1214,home,nl,sms" for n in range(5)]
    csv = tmp_path / "people.csv"
    csv.write_text("\n".join(["phone,lat,lon,label,language,channel", *people]) + "\n")
    local_system.make_import(csv)
    area = ["--lat", "52.0907", "--lon", "5.1214", "--radius", "1500"]
    action = json.loads(
        cli(
            local_system, "start", "--incident", "burglary", "--description", "rode jas", *area
        ).stdout
    )
    action_id = action["action_id"]
    wait_for(local_system, action_id, lambda c: c["targeted"] > 0 and c["queued"] == 0)
    cli(local_system, "close", action_id, "--outcome", "found")
    wait_for(local_system, action_id, lambda c: c["results_sent"] == c["sent"])

    table = cli(local_system, "timeline", action_id)

    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["at", "event", "channel", "count", "detail"]
    events = [line.split()[1] for line in lines]
    assert events[:2] == ["started", "targeted"]
    assert events.index("first_alert") < events.index("last_alert") < events.index("closed")
    assert events[-1] == "results_done"
    counts = json.loads(cli(local_system, "status", action_id).stdout)["counts"]
    timeline = json.loads(cli(local_system, "timeline", action_id, "--json").stdout)["events"]
    assert sum(e["count"] for e in timeline if e["event"] == "last_alert") == (
        counts["sent"] + counts["unknown"]
    )
    assert [e["count"] for e in timeline if e["event"] == "results_done"] == [
        counts["results_sent"]
    ]
