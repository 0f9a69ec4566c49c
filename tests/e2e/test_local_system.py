"""End to end: the system as `make run` starts it, driven over HTTP like a dispatch system would."""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.geo.sphere import haversine_m
from tests.support.geometry import beside_line
from tests.support.local import PATIENCE_S, LocalSystem

pytestmark = pytest.mark.e2e

CENTRE = (52.0907, 5.1214)
RADIUS_M = 1500


def offset(metres_north: float, metres_east: float) -> tuple[float, float]:
    """A point this far from the centre."""
    lat = CENTRE[0] + metres_north / 111_320
    lon = CENTRE[1] + metres_east / (111_320 * math.cos(math.radians(CENTRE[0])))
    return lat, lon


def test_imported_participants_inside_get_one_alert_and_one_result(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    # Given participants imported with `make import`: 40 inside the circle (one of them with two
    # places inside), 10 outside.
    rows = ["phone,lat,lon,label,language,channel"]
    inside, outside = set(), set()
    for n in range(50):
        phone = f"+3162{n:07d}"
        distance = 100 + n * 28 if n < 40 else RADIUS_M + 200 + n * 10
        lat, lon = offset(distance * math.cos(n), distance * math.sin(n))
        assert (haversine_m(*CENTRE, lat, lon) <= RADIUS_M) == (n < 40)
        rows.append(f"{phone},{lat:.6f},{lon:.6f},home,nl,sms")
        (inside if n < 40 else outside).add(phone)
    rows.append("+31620000001,52.0910,5.1220,work,nl,sms")
    csv = tmp_path / "participants.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert "50 created" in local_system.make_import(csv).stdout

    # When dispatch starts an action there
    response = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "burglary",
            "description": "man, circa 30 jaar, rode jas, zwarte fiets",
            "area": {"lat": CENTRE[0], "lon": CENTRE[1], "radius_m": RADIUS_M},
        },
        headers={"Idempotency-Key": "e2e-1"},
        timeout=5,
    )
    assert response.status_code == 202, response.text
    action = response.json()

    # Then everyone inside has exactly one SMS with the callback number
    ours = inside | outside  # another test's action may still be sending
    sent = local_system.wait_for_sms(len(inside), PATIENCE_S, among=ours)
    receivers = [s["phone_number"] for s in sent]
    assert sorted(receivers) == sorted(inside)
    assert all("0800-0011" in s["message"] and action["ref"] in s["message"] for s in sent)

    # When dispatch closes it, each of them gets exactly one result
    closed = requests.post(
        f"{local_system.api}/actions/{action['action_id']}/close",
        json={"outcome": "arrested", "message": "Dank voor het uitkijken."},
        timeout=5,
    )
    assert closed.status_code == 200, closed.text
    everything = local_system.wait_for_sms(2 * len(inside), PATIENCE_S, among=ours)
    results = [s for s in everything[len(sent) :]]
    assert sorted(s["phone_number"] for s in results) == sorted(inside)
    assert all("aangehouden" in s["message"] for s in results)

    counts = requests.get(f"{local_system.api}/actions/{action['action_id']}", timeout=5).json()
    assert counts["status"] == "closed"
    assert counts["counts"]["sent"] == counts["counts"]["results_sent"] == len(inside)

    # And the run's output holds the action's metrics, as CloudWatch would extract them
    metrics = wait_for_metrics(local_system, action["action_id"], "ResultsSent", len(inside))
    assert {"Recipients", "AlertsSent", "TimeToFirstAlert", "TimeToLastAlert"} <= set(metrics)
    assert metrics["Recipients"] == [len(inside)]
    assert sum(metrics["AlertsSent"]) == len(inside)
    assert len(metrics["TimeToFirstAlert"]) == 1  # once for the action's one channel


def wait_for_metrics(
    local_system: LocalSystem, action_id: str, name: str, total: float
) -> dict[str, list[float]]:
    """Every value of the action's EMF metrics in the run's log, by name, once `name` adds up to
    `total` (a sender writes its chunk's line just after the chunk's last message)."""
    assert local_system.log is not None
    end = time.monotonic() + PATIENCE_S
    while True:
        values: dict[str, list[float]] = {}
        for line in local_system.log.read_text().splitlines():
            if line.startswith('{"_aws"'):
                emf: dict[str, Any] = json.loads(line)
                if emf.get("action_id") == action_id:
                    [directive] = emf["_aws"]["CloudWatchMetrics"]
                    assert directive["Namespace"] == "Burgernet"
                    for metric in directive["Metrics"]:
                        values.setdefault(metric["Name"], []).extend(emf[metric["Name"]])
        if sum(values.get(name, [])) >= total or time.monotonic() > end:
            return values
        time.sleep(0.2)


def test_bad_input_over_http_is_a_json_4xx(local_system: LocalSystem) -> None:
    response = requests.post(
        f"{local_system.api}/actions",
        data="{not json",
        timeout=5,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_a_corridor_alerts_exactly_the_people_within_its_buffer_and_reach_agrees(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    # Given people 12 m inside and 12 m outside a 300 m corridor along a road north of the circle
    road = ((5.100, 52.125), (5.125, 52.135), (5.160, 52.138))
    rows = ["phone,lat,lon,label,language,channel"]
    inside, outside = set(), set()
    for n in range(16):
        segment, side = n % 2, 1 if n % 4 < 2 else -1
        metres = 288 if n < 8 else 312
        lon, lat = beside_line(road[segment], road[segment + 1], 0.2 + n / 25, side, metres)
        phone = f"+3163{n:07d}"
        rows.append(f"{phone},{lat:.7f},{lon:.7f},home,nl,sms")
        (inside if n < 8 else outside).add(phone)
    csv = tmp_path / "corridor.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert "16 created" in local_system.make_import(csv).stdout
    area = {"type": "LineString", "coordinates": [list(p) for p in road], "buffer_m": 300}

    # When dispatch asks how many it would reach, then starts the action
    reach = requests.post(f"{local_system.api}/reach", json={"area": area}, timeout=30)
    response = requests.post(
        f"{local_system.api}/actions",
        json={"incident": "hit_and_run", "description": "grijze bestelbus", "area": area},
        headers={"Idempotency-Key": "e2e-corridor"},
        timeout=5,
    )

    # Then reach counts the people inside, the start expects to text them, and exactly they get
    # an SMS
    assert reach.status_code == 200, reach.text
    assert reach.json()["participants"] == len(inside)
    assert reach.json()["expected"]["sms"]["people"] == len(inside)
    assert response.status_code == 202, response.text
    assert response.json()["area"] == area
    assert response.json()["expected"]["sms"] == reach.json()["expected"]["sms"]
    # (only this test's people count: an action of another test may still be sending)
    ours = inside | outside
    sent = local_system.wait_for_sms(len(inside), PATIENCE_S, among=ours)
    assert sorted(s["phone_number"] for s in sent) == sorted(inside)
    late = local_system.wait_for_sms(len(inside) + 1, 2, among=ours)  # nobody else
    assert len(late) == len(inside)


def test_ctrl_c_stops_everything(local_system: LocalSystem) -> None:
    local_system.process.send_signal(signal.SIGINT)
    assert local_system.process.wait(timeout=20) == 0
    for url in (local_system.api, local_system.emulator):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=1)
