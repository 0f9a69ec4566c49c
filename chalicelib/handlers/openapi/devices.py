"""The app's routes in the OpenAPI document: devices, their locations, and sightings."""

from __future__ import annotations

from chalicelib.domain import devices as device_rules
from chalicelib.handlers.openapi.actions import ACTION_ID
from chalicelib.handlers.openapi.common import (
    BEARER,
    DEVICE_SECRET,
    IAM,
    LAT,
    LON,
    NULLABLE_TEXT,
    PAGE_PARAMETERS,
    TIME,
    Schema,
    error,
    header_parameter,
    json_answer,
    obj,
    op,
    path_parameter,
    ref,
    request_object,
)
from chalicelib.handlers.openapi.participants import LANGUAGES


def schemas() -> dict[str, Schema]:
    """Sightings, device registrations and locations."""
    languages = LANGUAGES
    return {
        "Sighting": {
            "type": "object",
            "required": ["seen_at", "received_at", "lat", "lon", "text"],
            "properties": {
                "seen_at": TIME,
                "received_at": TIME,
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "text": NULLABLE_TEXT,
                "distance_m": {"type": "integer", "minimum": 0},
                "bearing_deg": {"type": "number", "minimum": 0, "maximum": 360},
            },
        },
        "SightingRequest": request_object(
            device_rules.SIGHTING_FIELDS,
            {
                "lat": LAT,
                "lon": LON,
                "seen_at": {"type": ["string", "null"], "format": "date-time"},
                "text": {"type": ["string", "null"], "maxLength": device_rules.MAX_SIGHTING_TEXT},
            },
            ("lat", "lon"),
        ),
        "DeviceRequest": request_object(
            device_rules.DEVICE_FIELDS,
            {
                "platform": {"type": "string", "enum": list(device_rules.PLATFORMS)},
                "push_token": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": device_rules.MAX_TOKEN,
                },
                "language": languages,
                "attestation": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": device_rules.MAX_ATTESTATION,
                },
            },
            ("platform", "push_token"),
        ),
        "Location": request_object(
            device_rules.LOCATION_FIELDS, {"lat": LAT, "lon": LON}, ("lat", "lon")
        ),
    }


def paths() -> dict[str, Schema]:
    """An action's sightings; registering, moving and removing a device."""
    action_id = ACTION_ID
    device_id = path_parameter("device_id", "The device's id, from POST /devices.")
    return {
        "/actions/{action_id}/sightings": {
            "get": op(
                "An action's sightings, newest received first (dispatch)",
                {
                    "200": json_answer(
                        obj(
                            {
                                "sightings": {"type": "array", "items": ref("Sighting")},
                                "next": NULLABLE_TEXT,
                            },
                            ("sightings", "next"),
                        ),
                        "A page of sightings.",
                    ),
                    "404": error("`action_not_found`."),
                },
                security=IAM,
                parameters=[action_id, *PAGE_PARAMETERS],
            ),
            "post": op(
                "Report a sighting (an alerted app)",
                {
                    "201": json_answer(
                        obj({"sighting_id": {"type": "string"}}, ("sighting_id",)), "Taken."
                    ),
                    "403": error("`not_alerted`."),
                    "429": error("`too_many_sightings`, with Retry-After."),
                },
                security=DEVICE_SECRET,
                body=ref("SightingRequest"),
                parameters=[
                    action_id,
                    header_parameter("X-Device-Id", "The reporting device's id."),
                ],
            ),
        },
        "/devices": {
            "post": op(
                "Register an app install for push",
                {
                    "201": json_answer(
                        obj(
                            {"device_id": {"type": "string"}, "device_secret": {"type": "string"}},
                            ("device_id", "device_secret"),
                        ),
                        "Registered; the secret is shown only this once.",
                    ),
                    "429": error("`too_many_devices`, with Retry-After."),
                    "503": error(
                        "`attestation_unavailable`: Google could not be asked; with Retry-After."
                    ),
                },
                security=[*BEARER, {}],
                body=ref("DeviceRequest"),
            )
        },
        "/devices/{device_id}": {
            "delete": op(
                "Remove an install, its location and its push endpoint",
                {"204": {"description": "Removed."}},
                security=DEVICE_SECRET,
                parameters=[device_id],
            )
        },
        "/devices/{device_id}/location": {
            "put": op(
                "Replace the device's current location (counts for two hours)",
                {
                    "200": json_answer(
                        obj(
                            {"device_id": {"type": "string"}, "expires_in": {"type": "integer"}},
                            ("device_id", "expires_in"),
                        ),
                        "Stored.",
                    )
                },
                security=DEVICE_SECRET,
                body=ref("Location"),
                parameters=[device_id],
            )
        },
    }
