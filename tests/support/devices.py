"""The app as an install uses it: register for push, report where it is, send sightings."""

from __future__ import annotations

import json
from typing import Any

import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tests.support.builders import UTRECHT
from tests.support.system import REGION, System

FAR = (52.3676, 4.9041)  # Amsterdam: far outside a 1 km circle round Utrecht


def pushes() -> list[tuple[str, str]]:
    """Every push sent so far, as (endpoint ARN, message)."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        (arn, message)
        for arn, endpoint in backend.platform_endpoints.items()
        for message in endpoint.messages.values()
    ]


def register(
    system: System, token: str = "token-1", platform: str = "fcm", bearer: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    response = system.post(
        "/devices", {"platform": platform, "push_token": token, "language": "nl"}, headers
    )
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def put_location(system: System, device: dict[str, Any], lat: float, lon: float) -> Any:
    return system.client.http.put(
        f"/devices/{device['device_id']}/location",
        body=json.dumps({"lat": lat, "lon": lon}),
        headers={"Content-Type": "application/json", "X-Device-Secret": device["device_secret"]},
    )


def start_action(system: System, at: tuple[float, float] = UTRECHT) -> dict[str, Any]:
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": "man in rode jas op een zwarte fiets",
            "area": {"lat": at[0], "lon": at[1], "radius_m": 1000},
            "channels": ["sms"],
        },
    )
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def alerted_device(system: System) -> tuple[dict[str, Any], dict[str, Any]]:
    """An app install at the scene of a new action, alerted by push: (device, action)."""
    device = register(system)
    assert put_location(system, device, *UTRECHT).status_code == 200
    action = start_action(system)
    system.run_queues()
    return device, action


def sighting(system: System, device: dict[str, Any], action_id: str, body: dict[str, Any]) -> Any:
    return system.post(
        f"/actions/{action_id}/sightings",
        body,
        {"X-Device-Id": device["device_id"], "X-Device-Secret": device["device_secret"]},
    )


class HttpDevice:
    """An app install talking to a running local system over HTTP (end-to-end tests)."""

    def __init__(self, api: str, token: str = "e2e-app-1") -> None:
        registered = requests.post(
            f"{api}/devices",
            json={"platform": "fcm", "push_token": token, "language": "nl"},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        self.api = api
        self.device_id = str(registered.json()["device_id"])
        self.secret = str(registered.json()["device_secret"])

    def place(self, lat: float, lon: float) -> None:
        """Share where the install is (the app does so as it moves)."""
        placed = requests.put(
            f"{self.api}/devices/{self.device_id}/location",
            json={"lat": lat, "lon": lon},
            headers={"X-Device-Secret": self.secret},
            timeout=10,
        )
        assert placed.status_code == 200, placed.text

    def report(self, action_id: str, body: dict[str, Any]) -> requests.Response:
        """Send a sighting for the action."""
        return requests.post(
            f"{self.api}/actions/{action_id}/sightings",
            json=body,
            headers={"X-Device-Id": self.device_id, "X-Device-Secret": self.secret},
            timeout=10,
        )
