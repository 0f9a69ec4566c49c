"""Actions as dispatch starts them through the API, and the API's error bodies."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE
from tests.support.builders import UTRECHT
from tests.support.system import System

MISSING = object()  # a field left out of a request body


def area(**changes: Any) -> dict[str, Any]:
    """A valid 1 km area around the Dom, with fields changed or (as MISSING) left out."""
    return _apply({"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1000}, changes)


def action_body(**changes: Any) -> dict[str, Any]:
    """A valid POST /actions body, with fields changed or (as MISSING) left out."""
    body = {
        "incident": "burglary",
        "description": "Man, ongeveer 30 jaar, donkere jas met capuchon, witte sneakers",
        "area": area(),
    }
    return _apply(body, changes)


def _apply(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = {**body, **changes}
    return {key: value for key, value in out.items() if value is not MISSING}


def assert_error(
    response: Any, status: int, code: str, field: str | None = None, *mentions: str
) -> dict[str, Any]:
    """The response is the API's JSON error; the message names each of `mentions`."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    if field is not None:
        assert body.get("field") == field, body
    for mention in mentions:
        assert mention in body["message"], body
    return body


def assert_nothing_stored_or_sent(system: System) -> None:
    """No action exists, no work was queued and nobody got an SMS."""
    for status in ("active", "closed"):
        listed = system.get(f"/actions?status={status}")
        assert listed.status_code == 200
        assert listed.json_body["actions"] == []
    assert system.emulator.drain(TARGETING_QUEUE) == []
    assert system.emulator.drain(SMS_QUEUE) == []
    assert system.emulator.sms() == []


def start(system: System, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """POST /actions; the default body is valid."""
    return system.post("/actions", action_body() if body is None else body, headers)


def started(system: System, **changes: Any) -> dict[str, Any]:
    """Start a valid action and return its view."""
    response = start(system, action_body(**changes))
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def alerted_once(system: System, phone: str, ref: str) -> bool:
    texts = system.emulator.sms_to(phone)
    return len(texts) == 1 and ref in texts[0]
