"""The control room's JSON routes as a signed-in person uses them: who may, what they see, and
that acting there is acting through the same logic as the IAM routes.

The test client passes a token's claims on as API Gateway passes a verified token's; refusing a
forged or expired token is API Gateway's (prod) and tools/local.py's (local) job, tested in
tests/unit/test_local_tokens.py and tests/e2e/test_control_sign_in.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib import runtime as runtime_module
from chalicelib.domain.people import SIGN_IN_MESSAGE
from chalicelib.handlers.openapi import document
from chalicelib.logic import control
from chalicelib.queues import TARGETING_QUEUE
from tests.support.actions import assert_error, started
from tests.support.builders import UTRECHT, add_participant
from tests.support.devices import alerted_device, sighting
from tests.support.people import (
    ADMIN,
    CLIENT,
    DISPATCHER,
    POOL,
    as_person,
    control_get,
    control_post,
    id_token,
)
from tests.support.photos import jpeg_with_gps
from tests.support.system import System

INSIDE = ("+31610000001", "+31610000002", "+31610000003")
UPDATE = {"message": "Nu te voet, richting station"}
CLOSE = {"outcome": "arrested", "message": "Dank voor het uitkijken."}


def _people(system: System) -> dict[str, Any]:
    """Three people at the Dom, an action there with every alert sent."""
    for phone in INSIDE:
        add_participant(phone, UTRECHT)
    action = started(system)
    system.run_queues()
    return action


# Every control route a person acts or reads through, with a valid request for each.
ROUTES = [
    ("GET", "/control/actions", None),
    ("GET", "/control/actions/{id}", None),
    ("POST", "/control/actions/{id}/updates", UPDATE),
    ("PUT", "/control/actions/{id}/photo", b"photo"),
    ("POST", "/control/actions/{id}/close", CLOSE),
]


def _call(system: System, method: str, path: str, body: Any, token: str | None) -> Any:
    if method == "GET":
        return control_get(system, path, token)
    if method == "PUT":
        headers = as_person(token, **{"Content-Type": "image/jpeg"})
        return system.client.http.put(path, body=jpeg_with_gps(400, 300), headers=headers)
    return control_post(system, path, body, token)


def _unchanged(system: System, action_id: str, before: dict[str, Any]) -> None:
    """Nothing was updated, closed or photographed, and no work was queued."""
    now = system.get(f"/actions/{action_id}").json_body
    assert (now["status"], now["updates"], now["photo"]) == (
        before["status"],
        before["updates"],
        before["photo"],
    )
    assert system.emulator.drain(TARGETING_QUEUE) == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_a_municipality_admin_is_refused_and_told_which_group_it_needs(
    system: System, method: str, path: str, body: Any
) -> None:
    action = started(system)
    system.emulator.drain(TARGETING_QUEUE)

    response = _call(system, method, path.format(id=action["action_id"]), body, ADMIN)

    refused = assert_error(response, 403, "group_required", None, "dispatch", "municipality-admin")
    assert (refused["group"], refused["groups"]) == ("dispatch", ["municipality-admin"])
    _unchanged(system, action["action_id"], action)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_without_a_token_nobody_gets_in(system: System, method: str, path: str, body: Any) -> None:
    action = started(system)
    system.emulator.drain(TARGETING_QUEUE)

    response = _call(system, method, path.format(id=action["action_id"]), body, None)

    assert json.loads(response.body) == {"error": "unauthorized", "message": SIGN_IN_MESSAGE}
    assert response.status_code == 401
    _unchanged(system, action["action_id"], action)


@pytest.mark.parametrize(
    ("groups", "status"),
    [
        ("dispatch", 200),  # one group, as API Gateway passes it
        ("municipality-admin,dispatch", 200),  # several, comma-separated
        ("municipality-admin", 403),
        ("dispatcher", 403),  # a near miss is a miss
        (None, 403),  # in no group at all
        (["dispatch"], 200),  # a list, as the token itself holds it
    ],
)
def test_only_the_dispatch_group_reads_the_actions(
    system: System, groups: Any, status: int
) -> None:
    started(system)
    response = control_get(system, "/control/actions", id_token("someone", groups))
    assert response.status_code == status, response.body


def test_a_dispatcher_sees_the_active_actions_newest_first_as_the_iam_route_gives_them(
    system: System,
) -> None:
    first = started(system)
    second = started(system, description="vrouw, blauwe jas")

    response = control_get(system, "/control/actions")

    assert response.status_code == 200
    listed = response.json_body["actions"]
    assert {a["action_id"] for a in listed} == {first["action_id"], second["action_id"]}
    # Newest first; the two may share a second (the tables' time is to the second), and then
    # the order is the IAM route's, whatever it is.
    assert [a["created_at"] for a in listed] == sorted(
        (a["created_at"] for a in listed), reverse=True
    )
    assert response.json_body == system.get("/actions").json_body


def test_the_live_view_shows_reach_per_channel_a_series_and_sightings_and_nothing_personal(
    app: System,
) -> None:
    device, action = alerted_device(app)  # an app install at the Dom, alerted by push
    for phone in INSIDE:
        add_participant(phone, UTRECHT)
    action = started(app)
    app.run_queues()
    seen = {"lat": UTRECHT[0] + 0.009, "lon": UTRECHT[1], "text": "rode jas, richting station"}
    assert sighting(app, device, action["action_id"], seen).status_code == 201

    response = control_get(app, f"/control/actions/{action['action_id']}")

    assert response.status_code == 200, response.body
    view = response.json_body
    assert view["action"] == app.get(f"/actions/{action['action_id']}").json_body
    assert view["centre"] == {"lat": UTRECHT[0], "lon": UTRECHT[1]}
    sms = view["channels"]["sms"]
    assert sms == {"people": 3, "queued": 0, "sent": 3, "failed": 0, "unknown": 0, "cancelled": 0}
    assert view["channels"]["push"]["sent"] == 1
    assert view["channels"]["voice"]["answered"] == 0
    assert sum(view["series"]["sms"]) == 3 and sum(view["series"]["push"]) == 1
    assert len(view["series"]["minutes"]) == len(view["series"]["sms"]) >= 1
    [reported] = view["sightings"]
    assert reported["text"] == "rode jas, richting station"
    assert 990 <= reported["distance_m"] <= 1010 and reported["bearing_deg"] == 0.0
    assert view["sightings_more"] is False
    # As the OpenAPI document says, and no field more.
    schema = {"$ref": "#/components/schemas/ControlView", "components": document()["components"]}
    assert list(Draft202012Validator(schema).iter_errors(view)) == []
    assert not Draft202012Validator(schema).is_valid({**view, "phones": []})
    # Nothing that names or places a person: no number, no device, no participant.
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    for secret in [*INSIDE, *(p[3:] for p in INSIDE), device["device_id"], "participant"]:
        assert secret not in text


def test_polling_with_the_etag_answers_304_until_something_changes(system: System) -> None:
    action = _people(system)
    path = f"/control/actions/{action['action_id']}"
    first = control_get(system, path)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = control_get(system, path, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body in (b"", "")

    assert control_post(system, f"{path}/updates", UPDATE).status_code == 202
    changed = control_get(system, path, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert [u["message"] for u in changed.json_body["action"]["updates"]] == [UPDATE["message"]]

    listed = control_get(system, "/control/actions").headers["ETag"]
    assert control_get(system, "/control/actions", **{"If-None-Match": listed}).status_code == 304


def test_a_dispatcher_steers_an_action_to_its_close_through_the_same_logic(
    system: System,
) -> None:
    action = _people(system)
    path = f"/control/actions/{action['action_id']}"

    assert control_post(system, f"{path}/updates", UPDATE).status_code == 202
    system.run_queues()
    photo = system.client.http.put(
        f"{path}/photo",
        body=jpeg_with_gps(800, 600),
        headers=as_person(DISPATCHER, **{"Content-Type": "image/jpeg"}),
    )
    assert photo.status_code == 200, photo.body
    assert photo.json_body["photo"]["small"].endswith(".jpg")
    closed = control_post(system, f"{path}/close", CLOSE)
    system.run_queues()

    assert closed.status_code == 200, closed.body
    assert (closed.json_body["status"], closed.json_body["outcome"]) == ("closed", "arrested")
    for phone in INSIDE:
        texts = system.emulator.sms_to(phone)
        assert len(texts) == 3  # the alert, the update, the result: each once
        assert UPDATE["message"] in texts[1] and CLOSE["message"] in texts[2]
    timeline = system.get(f"/actions/{action['action_id']}/timeline").json_body["events"]
    [closing] = [e for e in timeline if e["event"] == "closed"]
    assert closing["detail"]["by"] == "cognito:meldkamer-jansen"  # who closed it, on the record


@pytest.mark.parametrize(
    ("route", "body", "status", "code"),
    [
        ("updates", {}, 400, "missing_field"),
        ("updates", {"message": "x", "colour": "red"}, 400, "unknown_field"),
        ("updates", {"message": "x" * 2000}, 400, "message_too_long"),
        ("close", {"outcome": "escaped"}, 400, "unknown_outcome"),
        ("close", "not json", 400, None),
    ],
)
def test_a_refused_request_gets_the_same_error_as_on_the_iam_route(
    system: System, route: str, body: Any, status: int, code: str | None
) -> None:
    action = started(system)
    iam = system.post(f"/actions/{action['action_id']}/{route}", body)
    person = control_post(system, f"/control/actions/{action['action_id']}/{route}", body)

    assert person.status_code == iam.status_code == status
    assert json.loads(person.body) == json.loads(iam.body)
    if code:
        assert json.loads(person.body)["error"] == code


def test_acting_on_a_closed_or_unknown_action_is_refused_as_on_the_iam_route(
    system: System,
) -> None:
    action = _people(system)
    path = f"/control/actions/{action['action_id']}"
    assert control_post(system, f"{path}/close", CLOSE).status_code == 200

    assert_error(control_post(system, f"{path}/close", CLOSE), 409, "action_closed")
    assert_error(control_post(system, f"{path}/updates", UPDATE), 409, "action_closed")
    photo = system.client.http.put(
        f"{path}/photo",
        body=jpeg_with_gps(400, 300),
        headers=as_person(DISPATCHER, **{"Content-Type": "image/jpeg"}),
    )
    assert_error(photo, 409, "action_closed")
    assert_error(control_get(system, "/control/actions/nope"), 404, "action_not_found")
    assert_error(
        control_post(system, "/control/actions/nope/updates", UPDATE), 404, "action_not_found"
    )


def test_a_photo_that_is_not_an_image_is_refused_before_anything_runs(system: System) -> None:
    action = started(system)
    refused = system.client.http.put(
        f"/control/actions/{action['action_id']}/photo",
        body=b'{"photo": "x"}',
        headers=as_person(DISPATCHER, **{"Content-Type": "application/json"}),
    )
    assert_error(refused, 415, "unsupported_media_type", None, "image/jpeg")
    assert system.get(f"/actions/{action['action_id']}").json_body["photo"] is None


def test_an_update_retried_with_its_key_goes_out_once(system: System) -> None:
    action = _people(system)
    path = f"/control/actions/{action['action_id']}/updates"
    first = control_post(system, path, UPDATE, **{"Idempotency-Key": "upd-1"})
    again = control_post(system, path, UPDATE, **{"Idempotency-Key": "upd-1"})
    system.run_queues()

    assert first.status_code == again.status_code == 202
    assert first.json_body == again.json_body
    for phone in INSIDE:
        assert len(system.emulator.sms_to(phone)) == 2  # the alert and one update


def test_the_page_is_told_where_to_sign_in(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_error(system.get("/control/config"), 503, "control_room_unavailable", None, "CONTROL")

    monkeypatch.setenv("CONTROL_USER_POOL_ID", POOL)
    monkeypatch.setenv("CONTROL_CLIENT_ID", CLIENT)
    runtime_module.reset()
    response = system.get("/control/config")

    assert response.status_code == 200
    assert response.json_body == {
        "region": "eu-west-1",
        "user_pool_id": POOL,
        "client_id": CLIENT,
        "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
        "mfa": "required",
    }


def test_while_counts_move_a_process_walks_the_ledger_once_per_interval(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many pages polling a large action do not each read its whole ledger on every poll."""
    for phone in INSIDE:
        add_participant(phone, UTRECHT)
    action_id = started(system)["action_id"]
    walks: list[str] = []
    walk = control.ledger_progress.by_channel
    monkeypatch.setattr(control.ledger_progress, "by_channel", lambda a: walks.append(a) or walk(a))
    start = 1_000.0

    first = control.control_view(action_id, now=start)
    system.run_queues()  # targeted and sent: the counters and the ledger move
    moved = control.control_view(action_id, first.etag, now=start + control.TALLY_SECONDS / 2)
    assert len(walks) == 1  # the action moved, but the last walk is recent
    assert moved.view is not None
    assert moved.view["action"]["counts"]["sent"] == 3  # the action's own counts are live
    assert moved.view["channels"]["sms"]["sent"] == 0  # the channels wait for the next walk

    caught_up = control.control_view(action_id, moved.etag, now=start + control.TALLY_SECONDS)
    assert len(walks) == 2
    assert caught_up.view is not None and caught_up.view["channels"]["sms"]["sent"] == 3

    idle = control.control_view(action_id, caught_up.etag, now=start + 100 * control.TALLY_SECONDS)
    assert (idle.view, len(walks)) == (None, 2)  # nothing moved: a 304 without walking
