"""Burgernet's action list, GET /public/actions, as the apps that read it see it: whole public
actions with their Start, Update and Afloop messages, in JSON types they can use as they are."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.dal import actions as action_store
from chalicelib.dal.models import Action
from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.domain.model import Outcome, iso
from chalicelib.domain.public import ROUNDING_MARGIN_M
from chalicelib.handlers.openapi import document
from tests.support.actions import action_body, area
from tests.support.builders import UTRECHT
from tests.support.system import System
from tools.emulator import stage_environment

PUBLIC_URL = stage_environment("test")["PUBLIC_URL"]
DESCRIPTION = "Man, ongeveer 30 jaar, donkere jas met capuchon, witte sneakers"
PLACE = "Utrecht, Binnenstad"
ACTION_KEYS = {
    "id",
    "municipality",
    "actionType",
    "amberAlert",
    "active",
    "startTimestamp",
    "endTimestamp",
    "area",
    "messages",
}
MESSAGE_KEYS = {
    "title",
    "body",
    "responseUrl",
    "messageType",
    "lastModifiedTimestamp",
    "speechId",
}


def start(system: System, **changes: Any) -> dict[str, Any]:
    """Start an action over HTTP as dispatch does; its JSON view."""
    response = system.post("/actions", action_body(place=PLACE, **changes))
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def update(system: System, action_id: str, message: str, description: str | None = None) -> None:
    body = {"message": message, **({"description": description} if description else {})}
    response = system.post(f"/actions/{action_id}/updates", body)
    assert response.status_code == 202, response.body


def close(system: System, action_id: str, **body: Any) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "arrested", **body})
    assert response.status_code == 200, response.body


def read(system: System, **headers: str) -> Any:
    return system.client.http.get("/public/actions", headers=headers)


def actions(system: System) -> list[dict[str, Any]]:
    """The list's actions, after checking it is the object its readers require."""
    response = read(system)
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    listed = json.loads(response.body)
    assert isinstance(listed, dict) and list(listed) == ["actions"]
    assert isinstance(listed["actions"], list)
    return list(listed["actions"])


def by_id(system: System) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in actions(system)}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# --- What an action shows, from start to result ----------------------------------------------


def test_a_public_action_shows_start_update_and_afloop_in_order_and_ends_inactive(
    system: System,
) -> None:
    action = start(system, area=area(radius_m=1500))
    ref = action["ref"]
    callback = f"Gezien? Bel direct gratis 0800-0011 en noem ref. {ref}."
    page = f"{PUBLIC_URL}/a/{ref}"
    title = f"Burgernet: inbraak in {PLACE}"
    start_message = {
        "title": title,
        "body": f"De politie zoekt: {DESCRIPTION}. {callback}",
        "responseUrl": page,
        "messageType": "Start",
        "lastModifiedTimestamp": epoch(action["created_at"]),
        "speechId": None,
    }

    assert actions(system) == [
        {
            "id": ref,
            "municipality": PLACE,
            "actionType": "burglary",
            "amberAlert": False,
            "active": True,
            "startTimestamp": epoch(action["created_at"]),
            "endTimestamp": None,
            # The centre to ~100 m (it may be a home), the radius grown to still hold it all.
            "area": {"lat": 52.091, "lng": 5.121, "radius": 1500 + ROUNDING_MARGIN_M},
            "messages": [start_message],
        }
    ]

    update(system, action["action_id"], "Nu te voet richting station")  # full stops added
    close(system, action["action_id"], message="Dank voor het uitkijken")
    closed_at = system.get(f"/actions/{action['action_id']}").json_body["closed_at"]

    (shown,) = actions(system)
    assert shown["active"] is False
    assert shown["endTimestamp"] == epoch(closed_at)
    assert [m["messageType"] for m in shown["messages"]] == ["Start", "Update", "Afloop"]
    first, updated, result = shown["messages"]
    assert first == start_message
    assert updated["title"] == title
    assert updated["body"] == f"Nu te voet richting station. {callback}"
    assert result["title"] == f"{title} (beëindigd)"
    assert result["body"] == "De actie is beëindigd. Er is een verdachte aangehouden. " + (
        "Dank voor het uitkijken."
    )
    assert result["lastModifiedTimestamp"] == epoch(closed_at)
    times = [m["lastModifiedTimestamp"] for m in shown["messages"]]
    assert times == sorted(times)


def test_an_update_with_a_new_description_says_so(system: System) -> None:
    action = start(system)

    update(system, action["action_id"], "Gezien bij het station.", "Man in blauwe jas")

    (shown,) = actions(system)
    assert shown["messages"][1]["body"].startswith(
        "Gezien bij het station. De politie zoekt nu: Man in blauwe jas. Gezien? Bel"
    )


def test_every_incident_is_its_action_type_and_none_is_an_amber_alert(system: System) -> None:
    start(system, incident="missing_person", description="Vrouw, 82 jaar, grijs haar")

    (shown,) = actions(system)

    assert shown["actionType"] == "missing_person"
    assert shown["amberAlert"] is False


# --- Which actions ------------------------------------------------------------------------------


def test_an_exercise_never_appears(system: System) -> None:
    drill = start(system, exercise=True)
    update(system, drill["action_id"], "Oefening: nu richting station.")
    assert actions(system) == []

    close(system, drill["action_id"])

    assert actions(system) == []


def test_a_non_public_action_never_appears(system: System) -> None:
    hidden = start(system, public=False)
    assert actions(system) == []

    close(system, hidden["action_id"])

    assert actions(system) == []


def test_a_closed_action_stays_48_hours_then_is_gone(
    system: System, later: Callable[[timedelta], None]
) -> None:
    action = start(system)
    close(system, action["action_id"])

    later(timedelta(hours=47, minutes=59))
    assert [(a["id"], a["active"]) for a in actions(system)] == [(action["ref"], False)]

    later(timedelta(hours=48, seconds=1))
    assert actions(system) == []


def test_an_action_closing_while_the_list_is_read_is_in_it_once_and_closed(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = start(system)
    read_active = action_store.active_actions

    def then_it_closes() -> list[Any]:
        found = read_active()
        action_store.close_action(
            action["action_id"], Outcome.ARRESTED, None, datetime.now(UTC), "dispatch"
        )
        return found

    monkeypatch.setattr(action_store, "active_actions", then_it_closes)

    assert [(a["id"], a["active"]) for a in actions(system)] == [(action["ref"], False)]


def test_newest_start_first(system: System) -> None:
    oldest, middle, newest = (start(system) for _ in range(3))
    close(system, middle["action_id"])
    # Dispatch started them within a second or so; spread their starts over an hour.
    for action, minutes_ago in ((oldest, 60), (middle, 30), (newest, 0)):
        started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        Action(action["action_id"]).update(actions=[Action.created_at.set(iso(started))])

    listed = actions(system)

    assert [a["id"] for a in listed] == [newest["ref"], middle["ref"], oldest["ref"]]
    starts = [a["startTimestamp"] for a in listed]
    assert starts == sorted(starts, reverse=True)


# --- Types as the readers need them -----------------------------------------------------------


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def assert_reader_types(item: dict[str, Any]) -> None:
    """Strict: booleans are JSON booleans, numbers JSON numbers, never strings, every key there."""
    assert set(item) == ACTION_KEYS
    assert type(item["id"]) is str
    assert item["municipality"] is None or type(item["municipality"]) is str
    assert type(item["actionType"]) is str
    assert item["amberAlert"] is False
    assert type(item["active"]) is bool
    assert type(item["startTimestamp"]) is int
    assert item["endTimestamp"] is None or type(item["endTimestamp"]) is int
    assert set(item["area"]) == {"lat", "lng", "radius"}
    assert _number(item["area"]["lat"]) and _number(item["area"]["lng"])
    assert type(item["area"]["radius"]) is int and item["area"]["radius"] > 0
    assert item["messages"]
    for message in item["messages"]:
        assert set(message) == MESSAGE_KEYS
        for text in ("title", "body", "responseUrl"):
            assert type(message[text]) is str and message[text], text
        assert message["messageType"] in ("Start", "Update", "Afloop")
        assert type(message["lastModifiedTimestamp"]) is int
        assert message["speechId"] is None


def test_every_value_has_the_json_type_its_readers_need(system: System) -> None:
    running = start(system)
    update(system, running["action_id"], "Nu te voet richting station.")
    ended = start(system, incident="robbery", area=area(radius_m=733.5))
    close(system, ended["action_id"])

    listed = actions(system)

    assert len(listed) == 2
    for item in listed:
        assert_reader_types(item)
    assert {a["active"] for a in listed} == {True, False}


def test_the_list_is_what_the_openapi_document_says(system: System) -> None:
    running = start(system)
    update(system, running["action_id"], "Nu te voet richting station.")
    close(system, start(system)["action_id"], message="Dank u.")
    answer = document()["paths"]["/public/actions"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]

    errors = list(Draft202012Validator(schema).iter_errors(json.loads(read(system).body)))

    assert errors == []
    assert not Draft202012Validator(schema).is_valid({"actions": [{"id": 1}]})


def test_the_internal_action_id_appears_nowhere(system: System) -> None:
    action = start(system)
    update(system, action["action_id"], "Nu te voet richting station.", "Man in blauwe jas")
    close(system, action["action_id"], message="Dank voor het uitkijken.")

    body = read(system).body.decode()

    assert action["ref"] in body
    assert action["action_id"] not in body
    assert action["action_id"].split("-")[0] not in body  # not even a part of it


def test_a_redacted_action_keeps_its_messages_without_their_text(system: System) -> None:
    action = start(system)
    update(system, action["action_id"], "Nu te voet richting station.", "Man in blauwe jas")
    close(system, action["action_id"], message="Dank voor het uitkijken.")
    assert action_store.redact(action["action_id"], datetime.now(UTC))

    (shown,) = actions(system)

    assert [m["messageType"] for m in shown["messages"]] == ["Start", "Update", "Afloop"]
    assert all(m["body"] for m in shown["messages"])
    body = read(system).body.decode()
    for text in (DESCRIPTION, "blauwe jas", "te voet", "uitkijken"):
        assert text not in body
    assert shown["messages"][0]["body"].startswith("De beschrijving is verwijderd.")


# --- The area -----------------------------------------------------------------------------------


def test_the_radius_is_whole_metres_that_still_hold_the_circle(system: System) -> None:
    start(system, area=area(radius_m=733.4))

    (shown,) = actions(system)

    assert shown["area"] == {"lat": 52.091, "lng": 5.121, "radius": 813}  # 733.4 + 79, rounded up


def test_a_polygon_is_given_as_a_circle_that_holds_all_of_it(system: System) -> None:
    ring = [[5.10, 52.08], [5.14, 52.08], [5.15, 52.10], [5.11, 52.11], [5.10, 52.08]]
    start(system, area={"type": "Polygon", "coordinates": [ring]})

    (shown,) = actions(system)

    circle = shown["area"]
    assert type(circle["radius"]) is int
    farthest = max(haversine_m(circle["lat"], circle["lng"], lat, lon) for lon, lat in ring)
    assert farthest <= circle["radius"] < farthest + 1
    assert 52.08 < circle["lat"] < 52.11 and 5.10 < circle["lng"] < 5.15


# --- A reader written from the published behaviour of the NL-Alert app ------------------------


def nl_alert_app(payload: Any, lat: float, lon: float, zone_km: float) -> list[dict[str, Any]]:
    """What the NL-Alert Home Assistant app makes of the list (its published behaviour): the
    payload must be an object with a list `actions`; an action is near when its centre lies
    within the zone plus its radius in metres; timestamps are seconds (or milliseconds)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("actions"), list):
        raise ValueError("not an action list")
    shown = []
    for action in payload["actions"]:
        centre = action.get("area") or {}
        distance = haversine_m(lat, lon, centre["lat"], centre["lng"])  # numbers, not text
        if distance > zone_km * 1000 + max(0.0, float(centre.get("radius") or 0)):
            continue
        messages = sorted(action["messages"], key=lambda m: m.get("lastModifiedTimestamp") or 0)
        shown.append(
            {
                "id": f"burgernet:{action['id']}",
                "place": action.get("municipality") or "Onbekende locatie",
                "active": action.get("active") is True,
                "started": _seconds(action["startTimestamp"]),
                "texts": [(m["messageType"], m.get("body") or m.get("title")) for m in messages],
            }
        )
    return shown


def _seconds(value: Any) -> float:
    ts = float(value)
    return ts / 1000 if ts > 1e12 else ts


def test_the_nl_alert_app_shows_a_nearby_action_until_its_afloop(system: System) -> None:
    action = start(system, area=area(radius_m=2000))
    # 2.5 km north of the Dom: outside the circle, inside a 1 km zone around it
    home = (UTRECHT[0] + 2500 / 111_195, UTRECHT[1])
    far_away = (53.2, 6.56)  # Groningen

    (seen,) = nl_alert_app(json.loads(read(system).body), *home, zone_km=1)
    assert seen["id"] == f"burgernet:{action['ref']}" and seen["active"] is True
    assert seen["place"] == PLACE
    assert abs(seen["started"] - datetime.now(UTC).timestamp()) < 300
    assert nl_alert_app(json.loads(read(system).body), *far_away, zone_km=5) == []

    close(system, action["action_id"])

    (seen,) = nl_alert_app(json.loads(read(system).body), *home, zone_km=1)
    assert seen["active"] is False
    assert [kind for kind, _ in seen["texts"]] == ["Start", "Afloop"]
    assert "beëindigd" in seen["texts"][-1][1]


# --- Caching like the Atom feed ----------------------------------------------------------------


def test_the_list_has_an_etag_and_answers_304_while_nothing_changed(system: System) -> None:
    action = start(system)
    first = read(system)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=30"

    again = read(system, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag

    update(system, action["action_id"], "Nu te voet richting station.")
    changed = read(system, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert json.loads(changed.body)["actions"][0]["messages"][-1]["messageType"] == "Update"


def test_the_list_and_an_actions_cap_message_are_told_apart(system: System) -> None:
    action = start(system)

    cap = system.get(f"/public/actions/{action['ref']}.cap")
    listed = read(system)

    assert cap.status_code == 200 and cap.headers["Content-Type"] == "application/cap+xml"
    assert listed.status_code == 200 and listed.headers["Content-Type"] == "application/json"
