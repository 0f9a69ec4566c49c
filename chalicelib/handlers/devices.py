"""The app's routes: devices, their current location, sightings; and dispatch's sighting list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain.devices import parse_device
from chalicelib.domain.requests import parse_page_query
from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers.http import iam, json_errors, source_ip, wired
from chalicelib.logic import devices
from chalicelib.runtime import runtime

app_devices = Blueprint(__name__)


def _now() -> datetime:
    """The current time (a seam for tests of expiry)."""
    return datetime.now(UTC)


def _body() -> dict[str, Any]:
    return parse_json_object(app_devices.current_request.raw_body)


def _header(name: str) -> str | None:
    value: str | None = app_devices.current_request.headers.get(name)
    return value


def _source() -> str:
    return source_ip(app_devices.current_request)


@app_devices.route("/devices", methods=["POST"])
@json_errors
def register_device() -> Response:
    """Register an app install for push; linked to the participant of a session token, if any."""
    rt = runtime()
    device_id, secret = devices.register(
        parse_device(_body()), _header("authorization"), _source(), rt.devices, _now()
    )
    return Response(body={"device_id": device_id, "device_secret": secret}, status_code=201)


@app_devices.route("/devices/{device_id}/location", methods=["PUT"])
@json_errors
@wired
def put_location(device_id: str) -> dict[str, Any]:
    """Replace the device's current location (kept two hours, no history)."""
    expires_in = devices.update_location(device_id, _header("x-device-secret"), _body(), _now())
    return {"device_id": device_id, "expires_in": expires_in}


@app_devices.route("/devices/{device_id}", methods=["DELETE"])
@json_errors
def delete_device(device_id: str) -> Response:
    """Remove the install, its location and its push endpoint."""
    rt = runtime()
    devices.delete(device_id, _header("x-device-secret"), rt.devices.push)
    return Response(body="", status_code=204)


@app_devices.route("/actions/{action_id}/sightings", methods=["POST"])
@json_errors
@wired
def report_sighting(action_id: str) -> Response:
    """A participant who was alerted saw the person or vehicle: where, when and, maybe, what."""
    sighting_id = devices.report_sighting(
        action_id, _header("x-device-id"), _header("x-device-secret"), _body(), _now()
    )
    return Response(body={"sighting_id": sighting_id}, status_code=201)


@app_devices.route("/actions/{action_id}/sightings", methods=["GET"], authorizer=iam)
@json_errors
@wired
def list_sightings(action_id: str) -> devices.SightingsPage:
    """Dispatch: an action's sightings, newest first, a page at a time."""
    limit, page = parse_page_query(app_devices.current_request.query_params)
    return devices.list_sightings(action_id, limit, page)
