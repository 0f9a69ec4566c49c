"""End to end on `make run`: SMS and voice people in one action, one alert and one result each."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e

TWO_PLACES = "+31622000001"  # SMS, home and work both inside
CALLER = "+31622000002"  # voice
OUTSIDE = "+31622000003"  # SMS, far away
ROWS = f"""phone,lat,lon,label,language,channel
{TWO_PLACES},52.0907,5.1214,home,nl,sms
{TWO_PLACES},52.0920,5.1230,work,nl,sms
{CALLER},52.0900,5.1200,home,en,voice
{OUTSIDE},52.3731,4.8926,home,nl,sms
"""


def calls_to(system: LocalSystem, phone: str) -> list[str]:
    """What the runner shows the voice stand-in reading to this phone (masked as it prints)."""
    assert system.log is not None
    masked = re.escape(phone[:4]) + "•+" + re.escape(phone[-3:])
    return re.findall(rf"\[voice\] call to {masked} \(\w+\): (.*)", system.log.read_text())


def wait_for(check: object, deadline_s: float = 10) -> None:
    end = time.monotonic() + deadline_s
    while not check() and time.monotonic() < end:  # type: ignore[operator]
        time.sleep(0.2)


def test_each_person_once_on_their_channel_and_the_result_the_same_way(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(ROWS)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["BURGERNET_EMULATOR_PORT"] = local_system.emulator.rsplit(":", 1)[1]
    imported = subprocess.run(
        [sys.executable, "-m", "tools.import_participants", str(csv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr

    action = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "robbery",
            "description": "two men on a black scooter",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1000},
        },
        timeout=5,
    ).json()
    wait_for(lambda: local_system.sms_to(TWO_PLACES) and calls_to(local_system, CALLER))

    # One alert each, on their own channel; nobody outside
    assert len(local_system.sms_to(TWO_PLACES)) == 1
    [call] = calls_to(local_system, CALLER)
    assert "reference " + ", ".join(action["ref"]) in call  # English, the reference spelled out
    assert local_system.sms_to(CALLER) == [] and local_system.sms_to(OUTSIDE) == []

    # Closing: one result each, the same way the alert went
    requests.post(
        f"{local_system.api}/actions/{action['action_id']}/close",
        json={"outcome": "arrested"},
        timeout=5,
    )
    wait_for(
        lambda: (
            len(calls_to(local_system, CALLER)) == 2 and len(local_system.sms_to(TWO_PLACES)) == 2
        )
    )
    assert "arrested" in calls_to(local_system, CALLER)[1]
    assert "aangehouden" in local_system.sms_to(TWO_PLACES)[1]
    assert local_system.sms_to(CALLER) == []
    wait_for(
        lambda: (
            requests.get(f"{local_system.api}/actions/{action['action_id']}", timeout=5).json()[
                "counts"
            ]["results_sent"]
            == 2
        )
    )
    counts = requests.get(f"{local_system.api}/actions/{action['action_id']}", timeout=5).json()[
        "counts"
    ]
    assert (counts["targeted"], counts["sent"], counts["results_sent"]) == (2, 2, 2)
