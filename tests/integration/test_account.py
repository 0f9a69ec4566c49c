"""A participant's account, as they notice it: their details, preferences, export, leaving, STOP.

Everything runs through the emulated account (moto), the recorded-addresses PDOK stand-in and
chalice's test client. Alerts come from real actions run through the queues.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.handlers import participants as resident_routes
from tests.support.builders import add_participant
from tests.support.residents import (
    DOM,
    DOMPLEIN,
    OTHER_PHONE,
    PHONE,
    UITHOF,
    TransactionFault,
    action_around,
    alerted_once,
    alerts,
    assert_error,
    bearer,
    export,
    join,
    login,
    me,
    not_alerted,
    pin_clock,
    put_me,
    reply,
    texts_to,
)
from tests.support.system import System

# --- Preferences ----------------------------------------------------------------------------------


def test_switching_to_english_makes_the_next_alert_english(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)
    [dutch] = alerts(system, action_around(system))
    assert "De politie zoekt" in dutch

    response = put_me(system, token, {"language": "en"})

    assert response.status_code == 200, response.body
    assert response.json_body["language"] == "en"
    assert me(system, token)["language"] == "en"
    [english] = alerts(system, action_around(system))
    assert "The police are looking for" in english


def test_replacing_places_moves_where_they_are_alerted(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)

    response = put_me(
        system,
        token,
        {"places": [{"label": "work", "postcode": "3584CS", "house_number": "1", "addition": "2"}]},
    )

    assert response.status_code == 200, response.body
    [place] = response.json_body["places"]
    assert (place["label"], place["postcode"], place["addition"]) == ("work", "3584CS", "2")
    assert me(system, token)["places"] == response.json_body["places"]
    assert not_alerted(system, DOM)
    assert alerted_once(system, UITHOF)


def test_bad_new_places_change_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)

    response = put_me(system, token, {"places": [{"postcode": "9999ZZ", "house_number": "1"}]})

    assert_error(response, 400, "address_not_found", "places[0].postcode")
    assert [p["postcode"] for p in me(system, token)["places"]] == ["3511LX"]
    assert alerted_once(system)


def test_quiet_hours_can_be_set_and_cleared(utrecht: System) -> None:
    system = utrecht
    join(system, quiet_hours={"from": "23:00", "to": "07:00"})
    token = login(system)
    assert me(system, token)["quiet_hours"] == {"from": "23:00", "to": "07:00"}

    changed = put_me(system, token, {"quiet_hours": {"from": "22:30", "to": "06:45"}})
    assert changed.status_code == 200, changed.body
    assert me(system, token)["quiet_hours"] == {"from": "22:30", "to": "06:45"}

    cleared = put_me(system, token, {"quiet_hours": None})
    assert cleared.status_code == 200, cleared.body
    assert me(system, token)["quiet_hours"] is None

    bad = put_me(system, token, {"quiet_hours": {"from": "23:00", "to": "23:00"}})
    assert_error(bad, 400, "invalid_quiet_hours", "quiet_hours")
    assert me(system, token)["quiet_hours"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/participants/me"),
        ("PUT", "/participants/me"),
        ("GET", "/participants/me/export"),
        ("DELETE", "/participants/me"),
    ],
)
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer not-a-token", id="invalid-token"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
    ],
)
def test_without_a_valid_token_the_answer_is_401(
    utrecht: System, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = utrecht.client.http.request(
        method, path, headers=headers, body=json.dumps({"language": "en"}).encode()
    )

    assert_error(response, 401, "unauthorized")


def test_an_expired_token_is_401_and_changes_nothing(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    join(system)
    token = login(system)
    real_now = resident_routes._now
    pin_clock(monkeypatch, datetime.now(UTC) + timedelta(minutes=31))

    got = system.client.http.get("/participants/me", headers=bearer(token))
    put = put_me(system, token, {"language": "en"})
    deleted = system.client.http.delete("/participants/me", headers=bearer(token))

    for response in (got, put, deleted):
        assert_error(response, 401, "unauthorized")
    monkeypatch.setattr(resident_routes, "_now", real_now)
    assert me(system, login(system))["language"] == "nl"
    assert alerted_once(system)


# --- Export ------------------------------------------------------------------------------------


def test_export_lists_the_alerts_they_received_and_nothing_of_others(utrecht: System) -> None:
    system = utrecht
    add_participant(OTHER_PHONE, DOM)  # a neighbour, alerted by the same action
    join(system)
    action = action_around(system)
    elsewhere = action_around(system, UITHOF)  # an action they were not alerted for
    assert len(alerts(system, action, OTHER_PHONE)) == 1

    data = export(system, login(system))

    assert data["participant"]["phone"] == PHONE
    [alert] = data["alerts"]
    assert alert["action_id"] == action.action_id
    assert alert["channel"] == "sms"
    assert alert["distance_m"] < 50
    everything = json.dumps(data)
    assert OTHER_PHONE not in everything and "687654321" not in everything
    assert elsewhere.action_id not in everything
    assert data["devices"] == []


# --- Leaving -----------------------------------------------------------------------------------


def test_deleting_yourself_erases_you_at_once(utrecht: System) -> None:
    system = utrecht
    join(system, places=[DOMPLEIN, {"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}])
    token = login(system)

    response = system.client.http.delete("/participants/me", headers=bearer(token))

    assert response.status_code == 204, response.body
    assert not_alerted(system, DOM)
    assert not_alerted(system, UITHOF)
    sent = len(texts_to(system))
    system.post("/participants/login", {"phone": PHONE})
    system.run_queues()
    assert len(texts_to(system)) == sent  # unknown now


@pytest.mark.parametrize("text", ["Stop", "STOP", " stop. ", "Afmelden"])
def test_replying_stop_removes_the_sender(utrecht: System, text: str) -> None:
    system = utrecht
    join(system)

    reply(system, text)

    assert not_alerted(system)


@pytest.mark.parametrize("text", ["Ik zag hem bij de Dom", "stop de dief", ""])
def test_any_other_reply_changes_nothing(utrecht: System, text: str) -> None:
    system = utrecht
    join(system)

    reply(system, text)
    reply(system, "STOP", phone=OTHER_PHONE)  # someone else's STOP is theirs alone

    assert alerted_once(system)


# --- All or nothing ----------------------------------------------------------------------------


def test_a_failed_place_change_keeps_the_old_places(
    utrecht: System, transaction_fault: TransactionFault
) -> None:
    system = utrecht
    join(system)
    token = login(system)
    transaction_fault.arm()

    failed = put_me(
        system, token, {"places": [{"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}]}
    )

    assert transaction_fault.hits == 1
    assert failed.status_code >= 500, failed.body
    assert alerted_once(system, DOM)
    assert not_alerted(system, UITHOF)
    assert [p["label"] for p in me(system, token)["places"]] == ["home"]
