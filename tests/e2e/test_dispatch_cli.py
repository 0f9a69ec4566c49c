"""The dispatch CLI against the running local system, as a control room would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import LocalSystem
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
