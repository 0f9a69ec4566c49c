"""How a resident and a dispatcher use the system: signing up, codes, the account, alerts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.handlers import participants as resident_routes
from tests.support.system import System

MUNICIPALITY = json.loads(
    (Path(__file__).parents[2] / "tools" / "fixtures" / "gm0344_utrecht.json").read_text()
)
PHONE = "+31612345678"  # what "06-12345678" is in E.164
OTHER_PHONE = "+31687654321"
MISSING = object()  # a field left out of a request body

# Recorded addresses (tools/fixtures/pdok_addresses.json) and where they lie.
DOMPLEIN = {"label": "home", "postcode": "3511 LX", "house_number": "1"}
DOM = (52.09074, 5.12143)  # Domplein 1
UITHOF = (52.086, 5.1742)  # Heidelberglaan 1-2, 3.6 km east of the Dom
RAADSTEDE = (52.0288, 5.0801)  # Raadstede 5, Nieuwegein

CODE = re.compile(r"\b(\d{6})\b")


def signup_body(**changes: Any) -> dict[str, Any]:
    """A valid POST /signup body (home at Domplein 1), with fields changed or (MISSING) left out."""
    body = {
        "municipality": "GM0344",
        "phone": "06-12345678",
        "birth_date": "1990-04-01",
        "places": [DOMPLEIN],
        **changes,
    }
    return {key: value for key, value in body.items() if value is not MISSING}


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error with this code (and field)."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.body)
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    if field is not None:
        assert body.get("field") == field, body
    return body


def header(response: Any, name: str) -> str | None:
    return next((v for k, v in response.headers.items() if k.lower() == name.lower()), None)


def start_signup(system: System, headers: dict[str, str] | None = None, **changes: Any) -> str:
    """POST /signup; the signup id."""
    response = system.post("/signup", signup_body(**changes), headers)
    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"signup_id", "expires_in"}
    assert response.json_body["expires_in"] == 900
    return str(response.json_body["signup_id"])


def texts_to(system: System, phone: str = PHONE) -> list[str]:
    return system.emulator.sms_to(phone)


def code_sent_to(system: System, phone: str = PHONE) -> str:
    """The six-digit code in the latest SMS to `phone`."""
    texts = texts_to(system, phone)
    assert texts, f"no SMS to {phone}"
    codes = CODE.findall(texts[-1])
    assert len(codes) == 1, texts[-1]
    return str(codes[0])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def verify(system: System, signup_id: str, code: str) -> Any:
    return system.post("/signup/verify", {"signup_id": signup_id, "code": code})


def join(system: System, **changes: Any) -> str:
    """Sign up and type the code from the SMS; the participant id."""
    signup_id = start_signup(system, **changes)
    response = verify(system, signup_id, code_sent_to(system))
    assert response.status_code == 201, response.body
    assert set(response.json_body) == {"participant_id"}
    return str(response.json_body["participant_id"])


def login(system: System, phone: str = "06-12345678") -> str:
    """Log in with a code by SMS; the bearer token."""
    started = system.post("/participants/login", {"phone": phone})
    assert started.status_code == 202, started.body
    system.run_queues()  # the code goes out after the answer
    response = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": code_sent_to(system)},
    )
    assert response.status_code == 200, response.body
    return str(response.json_body["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(system: System, token: str) -> dict[str, Any]:
    response = system.client.http.get("/participants/me", headers=bearer(token))
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def put_me(system: System, token: str, change: dict[str, Any]) -> Any:
    return system.client.http.put(
        "/participants/me",
        body=json.dumps(change).encode(),
        headers={"Content-Type": "application/json", **bearer(token)},
    )


def export(system: System, token: str) -> dict[str, Any]:
    response = system.client.http.get("/participants/me/export", headers=bearer(token))
    assert response.status_code == 200, response.body
    return dict(response.json_body)


@dataclass(frozen=True)
class Action:
    action_id: str
    ref: str


def action_around(
    system: System, at: tuple[float, float] = DOM, radius_m: int = 500, incident: str = "burglary"
) -> Action:
    """A dispatcher starts an action around `at`, and the queues run."""
    response = system.post(
        "/actions",
        {
            "incident": incident,
            "description": "Man, ongeveer 30 jaar, donkere jas met capuchon",
            "area": {"lat": at[0], "lon": at[1], "radius_m": radius_m},
        },
    )
    assert response.status_code == 202, response.body
    system.run_queues()
    return Action(response.json_body["action_id"], response.json_body["ref"])


def alerts(system: System, action: Action, phone: str = PHONE) -> list[str]:
    """The alert texts of this action that `phone` received."""
    return [t for t in texts_to(system, phone) if f"ref. {action.ref}" in t]


def alerted_once(system: System, at: tuple[float, float] = DOM, phone: str = PHONE) -> bool:
    """Whether a new action around `at` alerts `phone` exactly once."""
    return len(alerts(system, action_around(system, at), phone)) == 1


def not_alerted(system: System, at: tuple[float, float] = DOM, phone: str = PHONE) -> bool:
    """Whether a new action around `at` leaves `phone` alone."""
    return alerts(system, action_around(system, at), phone) == []


def pin_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(resident_routes, "_now", lambda: moment)


def unsubscribe(system: System, phone: str = "06-12345678") -> str:
    response = system.post("/unsubscribe", {"phone": phone})
    assert response.status_code == 202, response.body
    system.run_queues()  # the code goes out after the answer
    return str(response.json_body["unsubscribe_id"])


def confirm(system: System, unsubscribe_id: str, code: str) -> Any:
    return system.post("/unsubscribe/confirm", {"unsubscribe_id": unsubscribe_id, "code": code})


def reply(system: System, text: str, phone: str = PHONE) -> Any:
    """A reply to one of our SMS, as SNS two-way messaging delivers it to the topic."""
    message = {
        "originationNumber": phone,
        "destinationNumber": "+3197010203040",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": text,
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": "wJ0S5vh7WPAXsRGHDgrXhqI",
    }
    event = system.client.events.generate_sns_event(message=json.dumps(message), subject="")
    return system.client.lambda_.invoke("inbound_sms", event)


class TransactionFault:
    """Makes the next DynamoDB transaction fail, once, as a cancelled transaction would."""

    def __init__(self) -> None:
        self.armed = False
        self.hits = 0

    def arm(self) -> None:
        self.armed = True
