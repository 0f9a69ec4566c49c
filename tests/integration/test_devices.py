"""The app: devices register for push, report where they are now, and send sightings."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.dal.deliveries import load
from chalicelib.dal.models import Device, Place
from chalicelib.dal.participants import find_by_phone
from chalicelib.dal.verifications import start_session
from chalicelib.handlers import devices as devices_handler
from chalicelib.logic import devices as devices_logic
from chalicelib.queues import PUSH_QUEUE, SMS_QUEUE, TARGETING_QUEUE
from tests.support.builders import UTRECHT, add_participant
from tests.support.devices import (
    FAR,
    alerted_device,
    pushes,
    put_location,
    register,
    sighting,
    start_action,
)
from tests.support.system import REGION, System

PHONE = "+31612345678"
NORTH_1KM = (UTRECHT[0] + 0.008993, UTRECHT[1])  # about 1000 m due north of the centre


def test_an_anonymous_install_registers_and_gets_an_endpoint_and_a_secret_shown_once(
    app: System,
) -> None:
    device = register(app)
    stored = Device.get(device["device_id"])
    assert stored.participant_id is None
    assert stored.endpoint_arn and ":endpoint/GCM/" in stored.endpoint_arn
    assert device["device_secret"] not in json.dumps(stored.attribute_values, default=str)


def test_an_install_with_a_session_token_is_linked_to_that_participant(app: System) -> None:
    add_participant(PHONE, UTRECHT)
    person = find_by_phone(PHONE)
    assert person is not None
    token = start_session(person.participant_id, datetime.now(UTC))
    device = register(app, platform="apns", bearer=token)
    assert Device.get(device["device_id"]).participant_id == person.participant_id


def test_their_data_export_lists_their_apps_and_whether_one_shares_a_location(
    app: System,
) -> None:
    add_participant(PHONE, UTRECHT)
    person = find_by_phone(PHONE)
    assert person is not None
    token = start_session(person.participant_id, datetime.now(UTC))
    device = register(app, bearer=token)
    put_location(app, device, *UTRECHT)

    data = app.client.http.get(
        "/participants/me/export", headers={"Authorization": f"Bearer {token}"}
    ).json_body

    [exported] = data["devices"]
    assert exported["device_id"] == device["device_id"]
    assert (exported["platform"], exported["shares_location"]) == ("fcm", True)
    assert device["device_secret"] not in json.dumps(data)


def test_an_invalid_session_token_is_refused(app: System) -> None:
    response = app.post(
        "/devices",
        {"platform": "fcm", "push_token": "t"},
        {"Authorization": "Bearer not-a-session"},
    )
    assert response.status_code == 401


def test_a_location_needs_the_device_secret(app: System) -> None:
    device = register(app)
    response = put_location(app, {**device, "device_secret": "wrong"}, *UTRECHT)
    assert response.status_code == 401


def test_a_new_location_replaces_the_old_one_and_alerts_come_by_push_at_the_new_spot(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = register(app)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # by train from Amsterdam, then
    with monkeypatch.context() as clock:
        clock.setattr(devices_handler, "_now", lambda: an_hour_ago)
        assert put_location(app, device, *FAR).status_code == 200
    assert put_location(app, device, *UTRECHT).status_code == 200
    assert len(list(Place.scan())) == 1  # no history

    start_action(app, FAR)
    app.run_queues()
    assert pushes() == []

    action = start_action(app, UTRECHT)
    app.run_queues()
    sent = pushes()
    assert len(sent) == 1
    assert sent[0][0] == Device.get(device["device_id"]).endpoint_arn
    assert action["action_id"] in sent[0][1]
    assert app.emulator.sms() == []


def test_a_location_older_than_two_hours_is_ignored(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = register(app)
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    monkeypatch.setattr(devices_handler, "_now", lambda: three_hours_ago)
    assert put_location(app, device, *UTRECHT).status_code == 200
    assert len(list(Place.scan())) == 1  # DynamoDB's TTL has not deleted it yet

    start_action(app)
    app.run_queues()
    assert pushes() == []


def test_a_participant_with_home_and_device_both_inside_gets_exactly_one_alert(
    app: System,
) -> None:
    add_participant(PHONE, (UTRECHT[0] + 0.002, UTRECHT[1]))  # home about 220 m away
    person = find_by_phone(PHONE)
    assert person is not None
    device = register(app, bearer=start_session(person.participant_id, datetime.now(UTC)))
    assert put_location(app, device, *UTRECHT).status_code == 200

    action = start_action(app)
    app.run_queues()
    assert len(pushes()) + len(app.emulator.sms()) == 1
    assert len(pushes()) == 1  # the device location is nearest: it goes by push
    [delivery] = load(action["action_id"], [person.participant_id])
    assert delivery.channel == "push"
    assert delivery.alert_status == "sent"


def test_results_go_by_push_too(app: System) -> None:
    device = register(app)
    put_location(app, device, *UTRECHT)
    action = start_action(app)
    app.run_queues()
    closed = app.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})
    assert closed.status_code == 200, closed.body
    app.run_queues()
    assert len(pushes()) == 2


def test_a_disabled_endpoint_fails_the_delivery_and_is_cleaned_up(app: System) -> None:
    device = register(app)
    put_location(app, device, *UTRECHT)
    arn = Device.get(device["device_id"]).endpoint_arn
    sns = boto3.client("sns", region_name=REGION)
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})

    action = start_action(app)
    app.run_queues()
    [delivery] = load(action["action_id"], [f"device:{device['device_id']}"])
    assert delivery.alert_status == "failed"
    assert Device.get(device["device_id"]).endpoint_arn is None
    assert list(Place.scan()) == []
    assert arn not in sns_backends[DEFAULT_ACCOUNT_ID][REGION].platform_endpoints


def test_deleting_a_device_removes_it_and_its_location(app: System) -> None:
    device = register(app)
    put_location(app, device, *UTRECHT)
    response = app.client.http.delete(
        f"/devices/{device['device_id']}", headers={"X-Device-Secret": device["device_secret"]}
    )
    assert response.status_code == 204
    assert list(Device.scan()) == []
    assert list(Place.scan()) == []


def test_location_updates_are_rate_limited_per_device(app: System) -> None:
    device = register(app)
    for _ in range(devices_logic.LOCATION_UPDATES_PER_HOUR):
        assert put_location(app, device, *UTRECHT).status_code == 200
    assert put_location(app, device, *UTRECHT).status_code == 429


def test_a_sighting_is_stored_and_dispatch_lists_newest_first_with_distance_and_bearing(
    app: System,
) -> None:
    device, action = alerted_device(app)
    action_id = action["action_id"]
    earlier = action["created_at"]  # the earliest a sighting may be
    first = sighting(
        app, device, action_id, {"lat": UTRECHT[0], "lon": UTRECHT[1], "seen_at": earlier}
    )
    assert first.status_code == 201, first.body
    second = sighting(
        app,
        device,
        action_id,
        {"lat": NORTH_1KM[0], "lon": NORTH_1KM[1], "text": "rode jas, fiets"},
    )
    assert second.status_code == 201, second.body

    listed = app.get(f"/actions/{action_id}/sightings")
    assert listed.status_code == 200
    assert listed.json_body["next"] is None
    found = listed.json_body["sightings"]
    assert [s["text"] for s in found] == ["rode jas, fiets", None]
    assert found[0]["distance_m"] == pytest.approx(1000, abs=2)
    assert found[0]["bearing_deg"] == pytest.approx(0, abs=0.1)
    assert found[1]["distance_m"] == 0
    assert set(found[0]) == {
        "seen_at",
        "received_at",
        "lat",
        "lon",
        "text",
        "distance_m",
        "bearing_deg",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lon": UTRECHT[1]}, "missing_field"),
        ({"lat": 40.0, "lon": UTRECHT[1]}, "outside_service_area"),
        ({"lat": UTRECHT[0], "lon": UTRECHT[1], "text": "x" * 501}, "text_too_long"),
        ({"lat": UTRECHT[0], "lon": UTRECHT[1], "seen_at": "gisteren"}, "invalid_time"),
        (
            {"lat": UTRECHT[0], "lon": UTRECHT[1], "seen_at": "2099-01-01T00:00:00Z"},
            "seen_in_future",
        ),
        (
            {"lat": UTRECHT[0], "lon": UTRECHT[1], "seen_at": "2020-01-01T00:00:00Z"},
            "seen_before_action",
        ),
        ({"lat": UTRECHT[0], "lon": UTRECHT[1], "where": "here"}, "unknown_field"),
    ],
)
def test_a_sighting_is_validated(app: System, body: dict[str, Any], code: str) -> None:
    device, action = alerted_device(app)
    response = sighting(app, device, action["action_id"], body)
    assert response.status_code == 400
    assert response.json_body["error"] == code


def test_a_sighting_needs_a_known_device(app: System) -> None:
    action = start_action(app)
    fake = {"device_id": "nope", "device_secret": "nope"}
    response = sighting(app, fake, action["action_id"], {"lat": UTRECHT[0], "lon": UTRECHT[1]})
    assert response.status_code == 401


def test_a_sighting_of_a_closed_action_is_a_conflict(app: System) -> None:
    device = register(app)
    action = start_action(app)
    app.post(f"/actions/{action['action_id']}/close", {"outcome": "found"})
    response = sighting(app, device, action["action_id"], {"lat": UTRECHT[0], "lon": UTRECHT[1]})
    assert response.status_code == 409


def test_sightings_are_rate_limited_per_device(app: System) -> None:
    device, action = alerted_device(app)
    here = {"lat": UTRECHT[0], "lon": UTRECHT[1]}
    for _ in range(devices_logic.SIGHTINGS_PER_HOUR):
        assert sighting(app, device, action["action_id"], here).status_code == 201
    response = sighting(app, device, action["action_id"], here)
    assert response.status_code == 429
    assert response.headers["Retry-After"]


def test_no_phone_numbers_or_locations_in_the_logs(
    app: System, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="burgernet")
    add_participant(PHONE, (UTRECHT[0] + 0.002, UTRECHT[1]))
    person = find_by_phone(PHONE)
    assert person is not None
    device = register(app, bearer=start_session(person.participant_id, datetime.now(UTC)))
    put_location(app, device, 52.0911, 5.1217)
    action = start_action(app)
    app.run_queues()
    reported = sighting(
        app, device, action["action_id"], {"lat": 52.0913, "lon": 5.1219, "text": "hier"}
    )
    assert reported.status_code == 201, reported.body
    app.get(f"/actions/{action['action_id']}/sightings")
    text = caplog.text
    assert "device_registered" in text
    for secret in (PHONE, "612345678", "52.0911", "5.1217", "52.0913", "5.1219"):
        assert secret not in text


def test_a_participant_who_leaves_takes_their_device_location_with_them(app: System) -> None:
    add_participant(PHONE, FAR)
    person = find_by_phone(PHONE)
    assert person is not None
    token = start_session(person.participant_id, datetime.now(UTC))
    device = register(app, bearer=token)
    put_location(app, device, *UTRECHT)
    response = app.client.http.delete(
        "/participants/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    assert list(Place.scan()) == []
    assert Device.get(device["device_id"]).participant_id is None


def test_app_users_are_alerted_while_sms_is_still_waiting_its_turn(app: System) -> None:
    # Given: 60 SMS participants and 3 app users at the scene
    for n in range(60):
        add_participant(f"+3161300{n:04d}", (UTRECHT[0] + n * 0.0001, UTRECHT[1]))
    for n in range(3):
        device = register(app)
        put_location(app, device, UTRECHT[0] - n * 0.0001, UTRECHT[1])

    # When: targeting has run, and no SMS sender has started yet
    action = start_action(app)
    for message in app.emulator.drain(TARGETING_QUEUE):
        app.invoke("targeting_worker", TARGETING_QUEUE, [message])
    for message in app.emulator.drain(PUSH_QUEUE):
        app.invoke("push_sender", PUSH_QUEUE, [message])

    # Then: every app user has their alert; the SMS wait in their own queue, untouched
    assert len(pushes()) == 3
    assert app.emulator.sms() == []
    assert app.get(f"/actions/{action['action_id']}").json_body["counts"]["sent"] == 3
    waiting = [json.loads(m["Body"]) for m in app.emulator.drain(SMS_QUEUE)]
    assert sum(len(work["participant_ids"]) for work in waiting) == 60  # no app user among them
