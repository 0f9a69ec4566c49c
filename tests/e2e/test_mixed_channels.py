"""End to end on `make run`: SMS, voice and app people in one action, one alert and result each."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from tests.support.local import PATIENCE_S, LocalSystem

pytestmark = pytest.mark.e2e

TWO_PLACES = "+31622000001"  # SMS, home and work both inside
CALLER = "+31622000002"  # voice
OUTSIDE = "+31622000003"  # SMS, far away
APP_USER = "+31622000004"  # home far away, but their phone's app is inside right now
ROWS = f"""phone,lat,lon,label,language,channel
{TWO_PLACES},52.0907,5.1214,home,nl,sms
{TWO_PLACES},52.0920,5.1230,work,nl,sms
{CALLER},52.0900,5.1200,home,en,voice
{OUTSIDE},52.3731,4.8926,home,nl,sms
{APP_USER},52.3700,4.8900,home,nl,sms
"""


def pushes(system: LocalSystem) -> list[str]:
    """Every push notification the emulator delivered to an app, as its JSON payload."""
    data = requests.get(f"{system.emulator}/moto-api/data.json", timeout=5).json()
    return [m for e in data["sns"].get("PlatformEndpoint", []) for m in e["messages"].values()]


def app_at_the_scene(system: LocalSystem, phone: str) -> None:
    """The participant logs in with a code by SMS, registers the app, and shares its location."""
    login = requests.post(f"{system.api}/participants/login", json={"phone": phone}, timeout=5)
    wait_for(lambda: system.sms_to(phone))
    code = re.search(r"\d{6}", system.sms_to(phone)[-1])
    assert code is not None
    token = requests.post(
        f"{system.api}/participants/login/verify",
        json={"login_id": login.json()["login_id"], "code": code.group()},
        timeout=5,
    ).json()["token"]
    device = requests.post(
        f"{system.api}/devices",
        json={"platform": "fcm", "push_token": "app-1", "language": "nl"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()
    placed = requests.put(
        f"{system.api}/devices/{device['device_id']}/location",
        json={"lat": 52.0910, "lon": 5.1220},
        headers={"X-Device-Secret": device["device_secret"]},
        timeout=5,
    )
    assert placed.status_code == 200, placed.text


def calls_to(system: LocalSystem, phone: str) -> list[str]:
    """What the runner shows the voice stand-in reading to this phone (masked as it prints)."""
    assert system.log is not None
    masked = re.escape(phone[:4]) + "•+" + re.escape(phone[-3:])
    return re.findall(rf"\[voice\] call to {masked} \(\w+\): (.*)", system.log.read_text())


def wait_for(check: object, deadline_s: float = PATIENCE_S) -> None:
    end = time.monotonic() + deadline_s
    while not check() and time.monotonic() < end:  # type: ignore[operator]
        time.sleep(0.2)


def test_each_person_once_on_their_channel_and_the_result_the_same_way(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(ROWS)
    local_system.make_import(csv)
    app_at_the_scene(local_system, APP_USER)
    codes_sent = len(local_system.sms_to(APP_USER))

    action = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "robbery",
            "description": "two men on a black scooter",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1000},
        },
        timeout=5,
    ).json()
    wait_for(
        lambda: (
            local_system.sms_to(TWO_PLACES)
            and calls_to(local_system, CALLER)
            and pushes(local_system)
        )
    )

    # One alert each, on their own channel; nobody outside
    assert len(local_system.sms_to(TWO_PLACES)) == 1
    [call] = calls_to(local_system, CALLER)
    assert "reference " + ", ".join(action["ref"]) in call  # English, the reference spelled out
    assert local_system.sms_to(CALLER) == [] and local_system.sms_to(OUTSIDE) == []
    [push] = pushes(local_system)  # the app user: by push where they are, no SMS for home
    assert action["action_id"] in push and action["ref"] in push
    assert len(local_system.sms_to(APP_USER)) == codes_sent

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
    assert (counts["targeted"], counts["sent"], counts["results_sent"]) == (3, 3, 3)
