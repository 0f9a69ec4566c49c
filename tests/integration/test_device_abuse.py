"""App devices against scripts and spoofers: attestation, registration limits, implausible moves,
expiry of silent installs, sightings only from people who were alerted, and paged sightings."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.credentials import ReadOnlyCredentials

from chalicelib import runtime as runtime_module
from chalicelib.adapters.attestation import (
    GoogleIntegrityDecoder,
    GoogleWorkloadToken,
    StandInAttestation,
    binding,
)
from chalicelib.dal.models import Device, Place
from chalicelib.dal.participants import find_by_phone
from chalicelib.dal.verifications import start_session
from chalicelib.handlers import devices as devices_handler
from chalicelib.logic import devices as devices_logic
from tests.support.builders import UTRECHT, add_participant
from tests.support.devices import (
    FAR,
    alerted_device,
    put_location,
    register,
    sighting,
    start_action,
)
from tests.support.system import REGION, System

HERE = {"lat": UTRECHT[0], "lon": UTRECHT[1]}
PHONE = "+31612345670"


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Let the app's routes see `moment` as now."""
    monkeypatch.setattr(devices_handler, "_now", lambda: moment)


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    assert response.json_body["error"] == code
    assert response.json_body["message"]


# --- registration: at most 10 per address per hour ---------------------------------------------


def test_the_11th_registration_from_one_address_within_an_hour_is_429_too_many_devices(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices_handler, "_source", lambda: "198.51.100.7")
    for n in range(devices_logic.REGISTRATIONS_PER_ADDRESS_PER_HOUR):
        register(app, token=f"token-{n}")

    eleventh = app.post("/devices", {"platform": "fcm", "push_token": "token-x"})

    assert_error(eleventh, 429, "too_many_devices")
    assert eleventh.json_body["limit"] == 10  # the message says what is allowed, too
    assert 0 < int(eleventh.headers["Retry-After"]) <= 3600
    assert len(list(Device.scan())) == 10
    # Another address is not held back by this one.
    monkeypatch.setattr(devices_handler, "_source", lambda: "203.0.113.9")
    register(app, token="token-y")


def test_rotating_addresses_within_one_ipv6_subscriber_line_share_its_limit(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(devices_logic.REGISTRATIONS_PER_ADDRESS_PER_HOUR):
        monkeypatch.setattr(devices_handler, "_source", lambda n=n: f"2001:db8:5:7::{n + 1:x}")
        register(app, token=f"token-{n}")

    monkeypatch.setattr(devices_handler, "_source", lambda: "2001:db8:5:7:ffff::1")
    rotated = app.post("/devices", {"platform": "fcm", "push_token": "token-x"})

    assert_error(rotated, 429, "too_many_devices")
    monkeypatch.setattr(devices_handler, "_source", lambda: "2001:db8:5:8::1")  # the next /64
    register(app, token="token-y")


# --- attestation ---------------------------------------------------------------------------------


@pytest.fixture
def attested(app: System, monkeypatch: pytest.MonkeyPatch) -> StandInAttestation:
    """The app with ATTESTATION=standin; the stand-in that issues tokens it accepts."""
    monkeypatch.setenv("ATTESTATION", "standin")
    monkeypatch.setenv("ATTESTATION_STANDIN_KEY", "test-key")
    runtime_module.reset()
    runtime_module.runtime()
    return StandInAttestation(b"test-key")


def register_with(app: System, attestation: str | None, push_token: str = "token-1") -> Any:
    body = {"platform": "fcm", "push_token": push_token}
    return app.post(
        "/devices", body if attestation is None else {**body, "attestation": attestation}
    )


def test_with_attestation_on_a_registration_without_a_token_is_401(
    attested: StandInAttestation, app: System
) -> None:
    response = register_with(app, None)
    assert_error(response, 401, "attestation_required")
    assert response.json_body["field"] == "attestation"
    assert list(Device.scan()) == []


def test_with_attestation_on_a_fresh_token_for_this_push_token_registers(
    attested: StandInAttestation, app: System
) -> None:
    token = attested.issue("fcm", "token-1", datetime.now(UTC))
    assert register_with(app, token).status_code == 201


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s, now: s.issue("fcm", "someone-else", now), id="other-push-token"),
        pytest.param(lambda s, now: s.issue("apns", "token-1", now), id="other-platform"),
        pytest.param(
            lambda s, now: s.issue("fcm", "token-1", now - timedelta(minutes=11)), id="stale"
        ),
        pytest.param(
            lambda s, now: StandInAttestation(b"other").issue("fcm", "token-1", now),
            id="other-key",
        ),
        pytest.param(lambda s, now: "standin.v1.fcm.garbage", id="garbage"),
    ],
)
def test_with_attestation_on_a_token_that_does_not_vouch_is_403(
    attested: StandInAttestation, app: System, make: Any
) -> None:
    response = register_with(app, make(attested, datetime.now(UTC)))
    assert_error(response, 403, "attestation_failed")
    assert list(Device.scan()) == []


def test_with_attestation_off_the_local_api_registers_without_a_token(app: System) -> None:
    assert register_with(app, None).status_code == 201


# --- Play Integrity in production: the real verifier, Google's answers faked at its HTTP seam ----

PACKAGE = "nl.burgernet.app"
SIGNING_CERT = "S" * 43


def google(asked: list[str], sts_status: int = 200) -> Any:
    """Google's STS, IAM Credentials and decodeIntegrityToken, as our adapters call them.

    An integrity token `good:<push token>` decodes to a sound verdict bound to that push token.
    """

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        asked.append(url.split("/")[2])
        if url.startswith("https://sts.googleapis.com/"):
            return sts_status, json.dumps({"access_token": "federated"}).encode()
        if url.startswith("https://iamcredentials.googleapis.com/"):
            later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            return 200, json.dumps({"accessToken": "ya29.ours", "expireTime": later}).encode()
        assert headers["Authorization"] == "Bearer ya29.ours"
        token = json.loads(body)["integrityToken"]
        if not token.startswith("good:"):
            return 400, b"{}"
        verdict = {
            "requestDetails": {
                "requestPackageName": PACKAGE,
                "requestHash": binding(token.removeprefix("good:")),
                "timestampMillis": str(int(datetime.now(UTC).timestamp() * 1000)),
            },
            "appIntegrity": {
                "appRecognitionVerdict": "PLAY_RECOGNIZED",
                "packageName": PACKAGE,
                "certificateSha256Digest": [SIGNING_CERT],
            },
            "deviceIntegrity": {"deviceRecognitionVerdict": ["MEETS_DEVICE_INTEGRITY"]},
        }
        return 200, json.dumps({"tokenPayloadExternal": verdict}).encode()

    return post


def play_integrity(
    monkeypatch: pytest.MonkeyPatch, asked: list[str], sts_status: int = 200
) -> None:
    """The app as prod runs it (ATTESTATION=play_integrity), Google faked at the HTTP seam."""
    for name, value in {
        "ATTESTATION": "play_integrity",
        "PLAY_INTEGRITY_PACKAGE": PACKAGE,
        "PLAY_INTEGRITY_CERTIFICATES": SIGNING_CERT,
        "GOOGLE_WORKLOAD_PROVIDER": "//iam.googleapis.com/projects/1/locations/global/"
        "workloadIdentityPools/burgernet/providers/aws-prod",
        "GOOGLE_SERVICE_ACCOUNT": "play-integrity@burgernet-prod.iam.gserviceaccount.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PUSH_APPLICATION_APNS_ARN")  # iOS cannot be attested yet
    post = google(asked, sts_status)
    keys = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    monkeypatch.setattr(
        runtime_module,
        "GoogleWorkloadToken",
        functools.partial(GoogleWorkloadToken, credentials=lambda: keys, post=post),
    )
    monkeypatch.setattr(
        runtime_module,
        "GoogleIntegrityDecoder",
        functools.partial(GoogleIntegrityDecoder, post=post),
    )
    runtime_module.reset()
    runtime_module.runtime()


def test_with_play_integrity_a_sound_verdict_for_this_push_token_registers(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    play_integrity(monkeypatch, asked)

    assert register_with(app, "good:token-1").status_code == 201
    assert asked == [
        "sts.googleapis.com",
        "iamcredentials.googleapis.com",
        "playintegrity.googleapis.com",
    ]


@pytest.mark.parametrize(
    "token", ["good:someone-else", "lifted-or-forged"], ids=["other-push-token", "refused"]
)
def test_with_play_integrity_a_verdict_that_does_not_vouch_is_403(
    app: System, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    play_integrity(monkeypatch, [])

    assert_error(register_with(app, token), 403, "attestation_failed")
    assert_error(register_with(app, None), 401, "attestation_required")
    assert list(Device.scan()) == []


def test_with_play_integrity_google_unreachable_is_503_for_the_app_to_retry(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    play_integrity(monkeypatch, [], sts_status=503)

    response = register_with(app, "good:token-1")

    assert_error(response, 503, "attestation_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert list(Device.scan()) == []


# --- implausible moves ---------------------------------------------------------------------------


def test_a_move_faster_than_300_kmh_is_400_implausible_move_and_the_device_stays_put(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = register(app)
    start = datetime.now(UTC)
    at(monkeypatch, start)
    assert put_location(app, device, *FAR).status_code == 200

    at(monkeypatch, start + timedelta(minutes=1))  # Amsterdam to Utrecht (35 km) in a minute
    response = put_location(app, device, *UTRECHT)

    assert_error(response, 400, "implausible_move")
    assert response.json_body["max_speed_kmh"] == 300
    [place] = Place.scan()
    assert (float(place.lat), float(place.lon)) == FAR


def test_moves_a_train_can_make_and_a_phone_standing_still_are_accepted(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = register(app)
    start = datetime.now(UTC)
    at(monkeypatch, start)
    assert put_location(app, device, *FAR).status_code == 200
    at(monkeypatch, start + timedelta(minutes=30))  # 35 km in half an hour: 70 km/h
    assert put_location(app, device, *UTRECHT).status_code == 200
    # GPS jitter: 100 m off in the same second.
    assert put_location(app, device, UTRECHT[0] + 0.0009, UTRECHT[1]).status_code == 200


# --- expiry of silent anonymous installs ---------------------------------------------------------


def test_an_anonymous_install_expires_30_days_after_its_last_location(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = datetime.now(UTC) - timedelta(days=20)
    at(monkeypatch, registered)
    device = register(app)
    assert Device.get(device["device_id"]).expires == registered.replace(microsecond=0) + timedelta(
        days=30
    )

    now = datetime.now(UTC)
    at(monkeypatch, now)
    assert put_location(app, device, *UTRECHT).status_code == 200

    expires = Device.get(device["device_id"]).expires
    assert expires == now.replace(microsecond=0) + timedelta(days=30)


def test_an_install_of_a_participant_does_not_expire_until_they_leave(app: System) -> None:
    add_participant(PHONE, FAR)
    person = find_by_phone(PHONE)
    assert person is not None
    token = start_session(person.participant_id, datetime.now(UTC))
    device = register(app, bearer=token)
    put_location(app, device, *UTRECHT)
    assert Device.get(device["device_id"]).expires is None

    app.client.http.delete("/participants/me", headers={"Authorization": f"Bearer {token}"})

    assert Device.get(device["device_id"]).expires is not None


# --- sightings only from people who were alerted -------------------------------------------------


def test_a_sighting_from_a_device_that_was_not_alerted_is_403_not_alerted(app: System) -> None:
    _, action = alerted_device(app)
    elsewhere = register(app, token="token-2")
    put_location(app, elsewhere, *FAR)  # registered, but far from the action: no alert

    response = sighting(app, elsewhere, action["action_id"], HERE)

    assert_error(response, 403, "not_alerted")
    assert app.get(f"/actions/{action['action_id']}/sightings").json_body["sightings"] == []


def test_a_device_whose_alert_failed_was_not_alerted(app: System) -> None:
    device = register(app)
    put_location(app, device, *UTRECHT)
    arn = Device.get(device["device_id"]).endpoint_arn
    boto3.client("sns", region_name=REGION).set_endpoint_attributes(
        EndpointArn=arn, Attributes={"Enabled": "false"}
    )
    action = start_action(app)
    app.run_queues()  # the push is refused: the delivery is failed, never sent

    assert_error(sighting(app, device, action["action_id"], HERE), 403, "not_alerted")


def test_a_participant_alerted_by_sms_may_report_from_their_linked_app(app: System) -> None:
    add_participant(PHONE, UTRECHT)
    person = find_by_phone(PHONE)
    assert person is not None
    device = register(app, bearer=start_session(person.participant_id, datetime.now(UTC)))
    action = start_action(app)
    app.run_queues()
    assert app.emulator.sms_to(PHONE)  # alerted by SMS at home; the app shares no location

    assert sighting(app, device, action["action_id"], HERE).status_code == 201


def test_sightings_of_one_action_stop_at_its_hourly_limit(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices_logic, "SIGHTINGS_PER_ACTION_PER_HOUR", 3)
    first, action = alerted_device(app)
    outsider = register(app, token="token-3")
    action_id = action["action_id"]
    # Only alerted people count toward the limit: refusals of others do not use it up.
    assert sighting(app, outsider, action_id, HERE).status_code == 403

    assert sighting(app, first, action_id, HERE).status_code == 201
    assert sighting(app, first, action_id, HERE).status_code == 201
    assert sighting(app, first, action_id, HERE).status_code == 201

    response = sighting(app, first, action_id, HERE)
    assert_error(response, 429, "too_many_sightings")
    assert int(response.headers["Retry-After"]) > 0


def linked_devices(app: System, phone: str, count: int) -> list[dict[str, Any]]:
    """`count` app installs, each linked to the participant with this phone."""
    person = find_by_phone(phone)
    assert person is not None
    session = start_session(person.participant_id, datetime.now(UTC))
    return [register(app, token=f"{phone}-{n}", bearer=session) for n in range(count)]


def test_one_participant_with_many_installs_cannot_use_up_the_actions_sightings(
    app: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small numbers, same shape as production (10 / 20 / 200): an install's cap, below a
    # person's, below the action's; four installs at their own cap would take the whole action.
    monkeypatch.setattr(devices_logic, "SIGHTINGS_PER_HOUR", 2)
    monkeypatch.setattr(devices_logic, "SIGHTINGS_PER_PARTICIPANT_PER_HOUR", 3)
    monkeypatch.setattr(devices_logic, "SIGHTINGS_PER_ACTION_PER_HOUR", 5)
    other_phone = "+31612345671"
    add_participant(PHONE, UTRECHT)
    add_participant(other_phone, UTRECHT)
    many = linked_devices(app, PHONE, 4)
    (own,) = linked_devices(app, other_phone, 1)
    action_id = start_action(app)["action_id"]
    app.run_queues()  # both alerted by SMS at home

    answers = [sighting(app, device, action_id, HERE) for device in many for _ in range(2)]

    assert [a.status_code for a in answers].count(201) == 3  # the person's 3, not the action's 5
    refused = answers[-1]
    assert_error(refused, 429, "too_many_sightings")
    assert refused.json_body["limit"] == 3
    assert "per participant" in refused.json_body["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Someone else who was alerted can still report; their install keeps its own cap.
    assert sighting(app, own, action_id, HERE).status_code == 201
    assert sighting(app, own, action_id, HERE).status_code == 201
    third = sighting(app, own, action_id, HERE)
    assert_error(third, 429, "too_many_sightings")
    assert third.json_body["limit"] == 2
    assert len(app.get(f"/actions/{action_id}/sightings").json_body["sightings"]) == 5


# --- dispatch reads sightings a page at a time ---------------------------------------------------


def test_dispatch_pages_through_sightings_newest_first(app: System) -> None:
    device, action = alerted_device(app)
    action_id = action["action_id"]
    for n in range(3):
        assert sighting(app, device, action_id, {**HERE, "text": f"nr {n}"}).status_code == 201

    first = app.get(f"/actions/{action_id}/sightings?limit=2")
    assert first.status_code == 200, first.body
    assert [s["text"] for s in first.json_body["sightings"]] == ["nr 2", "nr 1"]
    token = first.json_body["next"]
    assert token

    second = app.get(f"/actions/{action_id}/sightings?limit=2&next={quote(token)}")
    assert [s["text"] for s in second.json_body["sightings"]] == ["nr 0"]
    assert second.json_body["next"] is None


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("limit=0", "out_of_range", "limit"),
        ("limit=101", "out_of_range", "limit"),
        ("next=garbage", "invalid_page_token", "next"),
        ("next=" + quote("WyJ4IiwgInkiXQ=="), "invalid_page_token", "next"),  # ["x", "y"]
        ("status=active", "unknown_field", "status"),
    ],
)
def test_a_bad_sightings_page_query_is_400(app: System, query: str, code: str, field: str) -> None:
    action = start_action(app)
    response = app.get(f"/actions/{action['action_id']}/sightings?{query}")
    assert_error(response, 400, code)
    assert response.json_body["field"] == field
