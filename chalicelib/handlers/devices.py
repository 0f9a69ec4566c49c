"""The app's routes: devices, their current location, sightings; and dispatch's sighting list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint, IAMAuthorizer, Response

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone
from chalicelib.dal import actions as store
from chalicelib.dal import devices as store_devices
from chalicelib.dal.ratelimits import hit
from chalicelib.dal.verifications import session_participant
from chalicelib.domain.devices import parse_device, parse_position, parse_sighting, sighting_view
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.requests import parse_json_object
from chalicelib.handlers.http import json_errors
from chalicelib.logs import log_event
from chalicelib.runtime import runtime

app_devices = Blueprint(__name__)
iam = IAMAuthorizer()

LOCATION_UPDATES_PER_HOUR = 60
SIGHTINGS_PER_HOUR = 10
HOUR_S = 3600


def _now() -> datetime:
    """The current time (a seam for tests of expiry)."""
    return datetime.now(UTC)


def _body() -> dict[str, Any]:
    return parse_json_object(app_devices.current_request.raw_body)


def _header(name: str) -> str | None:
    value: str | None = app_devices.current_request.headers.get(name)
    return value


def _session_participant() -> str | None:
    """The participant of a Bearer session token, if one is sent (then it must be valid)."""
    header = _header("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return session_participant(token.strip() if scheme.lower() == "bearer" else None, _now())


@app_devices.route("/devices", methods=["POST"])
@json_errors
def register_device() -> Response:
    """Register an app install for push; linked to the participant of a session token, if any."""
    rt = runtime()
    request = parse_device(_body())
    participant_id = _session_participant()
    push = rt.push
    if push is None or request.platform not in push.platform_application_arns:
        raise InvalidInput(
            "push_not_available", "Push notifications are not available here.", "platform"
        )
    try:
        endpoint = push.register(request.platform, request.push_token)
    except EndpointGone:
        raise InvalidInput(
            "invalid_push_token", "This push token is refused.", "push_token"
        ) from None
    except SendFailed as exc:
        log_event("device_register_failed", code=exc.code)
        raise
    device, secret = store_devices.create_device(
        request.platform, endpoint, request.language, participant_id, _now()
    )
    log_event("device_registered", device_id=device.device_id, linked=int(bool(participant_id)))
    return Response(body={"device_id": device.device_id, "device_secret": secret}, status_code=201)


@app_devices.route("/devices/{device_id}/location", methods=["PUT"])
@json_errors
def put_location(device_id: str) -> dict[str, Any]:
    """Replace the device's current location (kept two hours, no history)."""
    runtime()
    now = _now()
    device = store_devices.authenticate(device_id, _header("x-device-secret"))
    lat, lon = parse_position(_body())
    hit("device-location", device_id, LOCATION_UPDATES_PER_HOUR, HOUR_S, now, "too_many_updates")
    store_devices.set_location(device, lat, lon, now)
    return {"device_id": device_id, "expires_in": int(store_devices.LOCATION_TTL.total_seconds())}


@app_devices.route("/devices/{device_id}", methods=["DELETE"])
@json_errors
def delete_device(device_id: str) -> Response:
    """Remove the install, its location and its push endpoint."""
    rt = runtime()
    device = store_devices.authenticate(device_id, _header("x-device-secret"))
    store_devices.delete_device(device)
    if rt.push is not None and device.endpoint_arn:
        rt.push.delete(str(device.endpoint_arn))
    log_event("device_deleted", device_id=device_id)
    return Response(body="", status_code=204)


@app_devices.route("/actions/{action_id}/sightings", methods=["POST"])
@json_errors
def report_sighting(action_id: str) -> Response:
    """A participant saw the person or vehicle: where, when and, optionally, what."""
    runtime()
    now = _now()
    device = store_devices.authenticate(_header("x-device-id"), _header("x-device-secret"))
    action = store.get_action(action_id)
    if action.status != "active":
        raise Conflict("action_not_active", "This action is closed; no sightings are taken.")
    created = datetime.fromisoformat(str(action.created_at))
    sighting = parse_sighting(_body(), created, now)
    hit("sighting", device.device_id, SIGHTINGS_PER_HOUR, HOUR_S, now, "too_many_sightings")
    stored = store_devices.add_sighting(action_id, device.device_id, sighting, now)
    log_event("sighting_reported", action_id=action_id, device_id=device.device_id)
    return Response(body={"sighting_id": stored.sighting_id}, status_code=201)


@app_devices.route("/actions/{action_id}/sightings", methods=["GET"], authorizer=iam)
@json_errors
def list_sightings(action_id: str) -> dict[str, Any]:
    """Dispatch: an action's sightings, newest first, with distance and bearing from its centre."""
    runtime()
    action = store.get_action(action_id)
    centre = (float(action.lat), float(action.lon))
    found = sorted(
        store_devices.sightings(action_id),
        key=lambda s: (s.seen_at, s.received_at),
        reverse=True,
    )
    return {
        "sightings": [
            sighting_view(
                centre, s.seen_at, s.received_at, float(s.lat), float(s.lon), s.text or None
            )
            for s in found
        ]
    }
