"""The OpenAPI 3.1 document of the HTTP API, and `GET /openapi.json` that serves it.

Built from Python rather than kept as a JSON file: ranges and enums come from the same
constants the validators use (chalicelib/domain), so the document cannot drift from them. A test
keeps its (path, method) pairs equal to app.routes, and CI fuzzes the running API against it.
"""

from __future__ import annotations

import functools
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain import devices as device_rules
from chalicelib.domain import photos as photo_rules
from chalicelib.domain import requests as rules
from chalicelib.domain import signup as signup_rules
from chalicelib.domain.geo import geojson as area_rules
from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.model import Channel, Incident, Language
from chalicelib.handlers.dispatch import MAX_IDEMPOTENCY_KEY
from chalicelib.logic import timeline

openapi = Blueprint(__name__)

Schema = dict[str, Any]
(LAT_LO, LAT_HI), (LON_LO, LON_HI) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
LAT = {"type": "number", "minimum": LAT_LO, "maximum": LAT_HI}
LON = {"type": "number", "minimum": LON_LO, "maximum": LON_HI}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_TEXT = {"type": ["string", "null"]}
IAM: list[dict[str, list[str]]] = [{"sigv4": []}]
DEVICE_SECRET: list[dict[str, list[str]]] = [{"deviceSecret": []}]
BEARER: list[dict[str, list[str]]] = [
    {"bearer": []}
]  # `Authorization: Bearer <token>` from POST /participants/login/verify


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Schema], required: tuple[str, ...] = (), closed: bool = True) -> Schema:
    """An object schema; `closed` where the validator refuses unknown fields (unknown_field)."""
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json(schema: Schema, description: str, headers: Schema | None = None) -> Schema:
    answer: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str) -> Schema:
    return {"$ref": "#/components/responses/Error", "description": description}


def _op(
    summary: str,
    responses: dict[str, Schema],
    *,
    security: list[dict[str, list[str]]] | None = None,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
) -> Schema:
    """One operation. Every one may answer a 4xx in the error shape (415 for a body not declared
    as JSON, 413 for one too large, ...); the listed codes are the ones worth documenting."""
    op: Schema = {
        "summary": summary,
        "security": security or [],
        "responses": {**responses, "4XX": _error("Refused; `error` says why.")},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    return op


def _path(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }


def _header(name: str, description: str, required: bool = True) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": rules.MAX_LIST_LIMIT,
            "default": rules.DEFAULT_LIST_LIMIT,
        },
    },
    {
        "name": "next",
        "in": "query",
        "description": "The `next` token of the previous page.",
        "schema": {"type": "string"},
    },
]


def _schemas() -> dict[str, Schema]:
    circle = _obj(
        {
            "lat": LAT,
            "lon": LON,
            "radius_m": {
                "type": "number",
                "minimum": area_rules.MIN_RADIUS_M,
                "maximum": area_rules.MAX_RADIUS_M,
            },
        },
        ("lat", "lon", "radius_m"),
    )
    position = {
        "type": "array",
        "description": "[lon, lat], GeoJSON's order.",
        "prefixItems": [LON, LAT],
        "minItems": 2,
        "maxItems": 2,
    }
    polygon = _obj(
        {
            "type": {"type": "string", "const": "Polygon"},
            "coordinates": {
                "type": "array",
                "description": "The outer ring, then any holes. Each ring is closed (its last "
                "position equals its first) and crosses or touches neither itself nor another "
                f"ring; either winding order. At most {area_rules.MAX_VERTICES} vertices in all, "
                "enclosing at most the area of the largest circle.",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "minItems": 4,
                    "maxItems": area_rules.MAX_VERTICES + 1,
                    "items": position,
                },
            },
        },
        ("type", "coordinates"),
    )
    corridor = _obj(
        {
            "type": {"type": "string", "const": "LineString"},
            "coordinates": {
                "type": "array",
                "description": "The line: a road, a river.",
                "minItems": 2,
                "maxItems": area_rules.MAX_VERTICES,
                "items": position,
            },
            "buffer_m": {
                "type": "number",
                "description": "Everyone within this distance of the line, either side.",
                "minimum": area_rules.MIN_BUFFER_M,
                "maximum": area_rules.MAX_BUFFER_M,
            },
        },
        ("type", "coordinates", "buffer_m"),
    )
    counts = [
        "targeted",
        "queued",
        "sent",
        "failed",
        "cancelled",
        "unknown",
        "results_sent",
        "results_failed",
        "results_unknown",
    ]
    address = _obj(
        {
            "label": {"type": "string"},
            "postcode": {"type": "string", "examples": ["3511 LX"]},
            "house_number": {"type": ["string", "integer"]},
            "addition": {"type": ["string", "null"]},
        },
        ("postcode", "house_number"),
    )
    point = _obj({"label": {"type": "string"}, "lat": LAT, "lon": LON}, ("lat", "lon"))
    quiet = {
        "type": ["object", "null"],
        "properties": {
            "from": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "to": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        },
        "required": ["from", "to"],
        "additionalProperties": False,
    }
    places = {
        "type": "array",
        "minItems": 1,
        "maxItems": signup_rules.MAX_PLACES,
        "items": {"oneOf": [address, point]},
    }
    languages = {"type": "string", "enum": [lang.value for lang in Language]}
    channel = {"type": "string", "enum": ["sms", "voice"]}
    phone = {"type": "string", "description": "A Dutch number in any usual notation."}
    code = {"type": "string", "pattern": "^[0-9]{6}$"}
    identifier = {"type": "string", "minLength": 1, "maxLength": 64}
    return {
        "Error": {
            "type": "object",
            "description": "The API's one error shape; some errors add parameters such as "
            "`retry_after`, `limit` or `attempts_left`.",
            "properties": {
                "error": {"type": "string", "description": "A stable snake_case code."},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
            "required": ["error", "message"],
            "additionalProperties": {"type": ["string", "integer"]},
        },
        "Circle": circle,
        "Polygon": polygon,
        "Corridor": corridor,
        "Area": {
            "description": "A circle, a GeoJSON Polygon, or a corridor: a GeoJSON LineString "
            "with `buffer_m`. `invalid_area` says which rule a shape breaks, and where.",
            "oneOf": [_ref("Circle"), _ref("Polygon"), _ref("Corridor")],
        },
        "ActionRequest": _obj(
            {
                "incident": {"type": "string", "enum": [i.value for i in Incident]},
                "description": {"type": "string", "minLength": 1},
                "area": _ref("Area"),
                "duration_minutes": {
                    "type": "integer",
                    "minimum": rules.MIN_DURATION,
                    "maximum": rules.MAX_DURATION,
                    "default": rules.DEFAULT_DURATION,
                },
                "channels": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "enum": ["sms", "voice"]},
                },
                "public": {
                    "type": "boolean",
                    "default": True,
                    "description": "Shown in the public feeds, on its page and on social "
                    "networks; false keeps it out of all of them.",
                },
                "exercise": {
                    "type": "boolean",
                    "default": False,
                    "description": "A drill: its public messages say so (CAP status Test).",
                },
                "place": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": rules.MAX_PLACE,
                    "description": "The area's name for people; by default the municipality's.",
                },
            },
            ("incident", "description", "area"),
        ),
        "UpdateRequest": _obj(
            {
                "message": {
                    "type": "string",
                    "minLength": 1,
                    "description": "What changed, as sent to everyone alerted; it must fit the "
                    "update SMS (three segments) in every language.",
                },
                "description": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A new description of whom to look out for, for the alerts "
                    "still to go and the public page; the alert's length rules apply.",
                },
            },
            ("message",),
        ),
        "CloseRequest": _obj(
            {
                "outcome": {"type": "string", "enum": [o.value for o in rules.CLOSE_OUTCOMES]},
                "message": {"type": ["string", "null"]},
            },
            ("outcome",),
        ),
        "Action": {
            "type": "object",
            "required": ["action_id", "ref", "status", "incident", "area", "counts"],
            "properties": {
                "action_id": {"type": "string"},
                "ref": {"type": "string"},
                "status": {"type": "string", "enum": ["active", "closed"]},
                "incident": {"type": "string"},
                "description": NULLABLE_TEXT,
                "area": _ref("Area"),
                "channels": {"type": "array", "items": {"type": "string"}},
                "public": {"type": "boolean"},
                "exercise": {"type": "boolean"},
                "place": NULLABLE_TEXT,
                "photo": {
                    "type": ["object", "null"],
                    "description": "Public URLs of the photo at 1280 px and 320 px, or null.",
                    "properties": {"large": {"type": "string"}, "small": {"type": "string"}},
                    "required": ["large", "small"],
                },
                "updates": {
                    "type": "array",
                    "items": _obj(
                        {
                            "update_id": {"type": "string"},
                            "at": TIME,
                            "message": NULLABLE_TEXT,
                            "description": NULLABLE_TEXT,
                            "queued": {"type": "boolean"},
                            "counts": _obj(
                                {
                                    c: {"type": "integer", "minimum": 0}
                                    for c in ("sent", "failed", "unknown")
                                },
                                ("sent", "failed", "unknown"),
                            ),
                        },
                        ("update_id", "at", "message", "queued", "counts"),
                    ),
                },
                "created_by": {"type": "string"},
                "created_at": TIME,
                "expires_at": TIME,
                "closed_at": NULLABLE_TIME,
                "outcome": NULLABLE_TEXT,
                "result_message": NULLABLE_TEXT,
                "redacted_at": NULLABLE_TIME,
                "targeting": {"type": "string", "enum": ["pending", "done"]},
                "counts": _obj(
                    {c: {"type": "integer", "minimum": 0} for c in counts}, tuple(counts)
                ),
            },
        },
        "TimelineEvent": _obj(
            {
                "at": TIME,
                "event": {
                    "type": "string",
                    "enum": list(timeline.ORDER),
                },
                "channel": {"type": "string", "enum": [c.value for c in Channel]},
                "count": {"type": "integer", "minimum": 0},
                "detail": {
                    "type": "object",
                    "description": "targeted: `seconds` targeting took; closed and expired: "
                    "`outcome` and `by` (the caller, or `sweeper`); started: `incident`; "
                    "update_sent: `update_id`.",
                },
            },
            ("at", "event"),
        ),
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
        "SightingRequest": _obj(
            {
                "lat": LAT,
                "lon": LON,
                "seen_at": {"type": ["string", "null"], "format": "date-time"},
                "text": {"type": ["string", "null"], "maxLength": device_rules.MAX_SIGHTING_TEXT},
            },
            ("lat", "lon"),
        ),
        "DeviceRequest": _obj(
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
        "Location": _obj({"lat": LAT, "lon": LON}, ("lat", "lon")),
        "Municipality": {
            "type": "object",
            "required": ["code", "name", "bbox"],
            "properties": {
                "code": {"type": "string", "pattern": "^GM[0-9]{4}$"},
                "name": {"type": "string"},
                "bbox": {"type": "array", "items": {"type": "number"}},
                "area": {"type": "object", "description": "A GeoJSON MultiPolygon."},
            },
        },
        "MunicipalityRequest": _obj(
            {
                "code": {"type": "string", "pattern": "^GM[0-9]{4}$"},
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "area": {
                    "type": "object",
                    "description": "A GeoJSON Polygon or MultiPolygon (give area or bbox).",
                    "properties": {
                        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                        "coordinates": {"type": "array"},
                    },
                    "required": ["type", "coordinates"],
                },
                "bbox": {
                    "type": "array",
                    "description": "[min_lon, min_lat, max_lon, max_lat] (give area or bbox).",
                    "items": {"type": "number"},
                    "minItems": 4,
                    "maxItems": 4,
                },
            },
            ("code", "name"),
        ),
        "SignupRequest": _obj(
            {
                "municipality": {"type": "string", "pattern": "^GM[0-9]{4}$"},
                "phone": phone,
                "birth_date": {"type": "string", "format": "date"},
                "language": languages,
                "channel": channel,
                "places": places,
                "quiet_hours": quiet,
            },
            ("municipality", "phone", "birth_date", "places"),
        ),
        "PhoneRequest": _obj({"phone": phone, "language": languages}, ("phone",)),
        "Preferences": _obj(
            {"language": languages, "channel": channel, "places": places, "quiet_hours": quiet}
        ),
        "Participant": {
            "type": "object",
            "required": ["participant_id", "phone", "language", "channel", "places"],
            "properties": {
                "participant_id": {"type": "string"},
                "phone": {"type": "string"},
                "language": {"type": "string"},
                "channel": {"type": "string"},
                "municipality": NULLABLE_TEXT,
                "quiet_hours": {"type": ["object", "null"]},
                "places": {"type": "array", "items": {"type": "object"}},
                "joined_at": NULLABLE_TIME,
            },
        },
        "Code": code,
        "RequestId": identifier,
    }


def _code_body(id_field: str) -> Schema:
    return _obj(
        {id_field: _ref("RequestId"), "code": _ref("Code"), "language": {"type": "string"}},
        (id_field, "code"),
    )


def _code_started(id_field: str) -> Schema:
    return _obj(
        {id_field: {"type": "string"}, "expires_in": {"type": "integer"}},
        (id_field, "expires_in"),
        closed=False,
    )


def _paths() -> dict[str, Schema]:
    action_id = _path("action_id", "The action's id, from POST /actions.")
    device_id = _path("device_id", "The device's id, from POST /devices.")
    action = _json(_ref("Action"), "The action with its live counts.")
    code_sent = "A code is on its way (the same answer for numbers that do not take part)."
    unavailable = _error("`codes_unavailable`: the service's codes for this hour are spent.")
    return {
        "/actions": {
            "post": _op(
                "Start an action (alerts everyone inside the area)",
                {
                    "202": _json(
                        _ref("Action"),
                        "Stored; targeting and sending run from queues.",
                        {"Location": {"schema": {"type": "string"}}},
                    ),
                    "409": _error("`idempotency_key_reused` with a different body."),
                },
                security=IAM,
                body=_ref("ActionRequest"),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "description": "The same key and body return the same action, for 24 h.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_IDEMPOTENCY_KEY,
                        },
                    }
                ],
            ),
            "get": _op(
                "List actions, newest first",
                {
                    "200": _json(
                        _obj(
                            {
                                "actions": {"type": "array", "items": _ref("Action")},
                                "next": NULLABLE_TEXT,
                            },
                            ("actions", "next"),
                        ),
                        "A page of actions.",
                    )
                },
                security=IAM,
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["active", "closed"]},
                    },
                    *PAGE_PARAMETERS,
                ],
            ),
        },
        "/actions/{action_id}": {
            "get": _op(
                "Follow an action",
                {"200": action, "404": _error("`action_not_found`.")},
                security=IAM,
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/updates": {
            "post": _op(
                "Update an action; everyone alerted gets the update once",
                {
                    "202": _json(
                        _obj({"update_id": {"type": "string"}}, ("update_id",)),
                        "Stored; its messages go out from the queues.",
                    ),
                    "404": _error("`action_not_found`."),
                    "409": _error("`action_closed`."),
                },
                security=IAM,
                body=_ref("UpdateRequest"),
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/timeline": {
            "get": _op(
                "What happened to an action and when, oldest first (cloud ops)",
                {
                    "200": _json(
                        _obj(
                            {"events": {"type": "array", "items": _ref("TimelineEvent")}},
                            ("events",),
                        ),
                        "The action's events; counts agree with `GET /actions/{action_id}`.",
                    ),
                    "404": _error("`action_not_found`."),
                },
                security=IAM,
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/close": {
            "post": _op(
                "Close an action; everyone alerted gets the result",
                {
                    "200": action,
                    "404": _error("`action_not_found`."),
                    "409": _error("`action_closed`."),
                },
                security=IAM,
                body=_ref("CloseRequest"),
                parameters=[action_id],
            )
        },
        "/actions/{action_id}/photo": {"put": _photo_op(action_id)},
        "/reach": {
            "post": _op(
                "How many people an action here would alert now (sends nothing)",
                {
                    "200": _json(
                        _obj(
                            {"participants": {"type": "integer", "minimum": 0}}, ("participants",)
                        ),
                        "The count.",
                    )
                },
                security=IAM,
                body=_obj({"area": _ref("Area")}, ("area",)),
            )
        },
        "/actions/{action_id}/sightings": {
            "get": _op(
                "An action's sightings, newest received first (dispatch)",
                {
                    "200": _json(
                        _obj(
                            {
                                "sightings": {"type": "array", "items": _ref("Sighting")},
                                "next": NULLABLE_TEXT,
                            },
                            ("sightings", "next"),
                        ),
                        "A page of sightings.",
                    ),
                    "404": _error("`action_not_found`."),
                },
                security=IAM,
                parameters=[action_id, *PAGE_PARAMETERS],
            ),
            "post": _op(
                "Report a sighting (an alerted app)",
                {
                    "201": _json(
                        _obj({"sighting_id": {"type": "string"}}, ("sighting_id",)), "Taken."
                    ),
                    "403": _error("`not_alerted`."),
                    "429": _error("`too_many_sightings`, with Retry-After."),
                },
                security=DEVICE_SECRET,
                body=_ref("SightingRequest"),
                parameters=[action_id, _header("X-Device-Id", "The reporting device's id.")],
            ),
        },
        "/devices": {
            "post": _op(
                "Register an app install for push",
                {
                    "201": _json(
                        _obj(
                            {"device_id": {"type": "string"}, "device_secret": {"type": "string"}},
                            ("device_id", "device_secret"),
                        ),
                        "Registered; the secret is shown only this once.",
                    ),
                    "429": _error("`too_many_devices`, with Retry-After."),
                },
                security=[*BEARER, {}],
                body=_ref("DeviceRequest"),
            )
        },
        "/devices/{device_id}": {
            "delete": _op(
                "Remove an install, its location and its push endpoint",
                {"204": {"description": "Removed."}},
                security=DEVICE_SECRET,
                parameters=[device_id],
            )
        },
        "/devices/{device_id}/location": {
            "put": _op(
                "Replace the device's current location (counts for two hours)",
                {
                    "200": _json(
                        _obj(
                            {"device_id": {"type": "string"}, "expires_in": {"type": "integer"}},
                            ("device_id", "expires_in"),
                        ),
                        "Stored.",
                    )
                },
                security=DEVICE_SECRET,
                body=_ref("Location"),
                parameters=[device_id],
            )
        },
        "/municipalities": {
            "post": _op(
                "Create or replace a municipality with its area",
                {"201": _json(_ref("Municipality"), "Stored, with its area.")},
                security=IAM,
                body=_ref("MunicipalityRequest"),
            ),
            "get": _op(
                "Every municipality, without outlines",
                {
                    "200": _json(
                        _obj(
                            {"municipalities": {"type": "array", "items": _ref("Municipality")}},
                            ("municipalities",),
                        ),
                        "The municipalities.",
                    )
                },
                security=IAM,
            ),
        },
        "/municipalities/{code}": {
            "get": _op(
                "One municipality, with its area",
                {"200": _json(_ref("Municipality"), "The municipality.")},
                security=IAM,
                parameters=[_path("code", "CBS code, GM + 4 digits.")],
            )
        },
        "/signup": {
            "post": _op(
                "Join: validate, look up addresses, send a code",
                {
                    "202": _json(_code_started("signup_id"), code_sent),
                    "503": unavailable,
                },
                body=_ref("SignupRequest"),
            ),
            "get": _op(
                "The signup page (HTML)",
                {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
                parameters=[{"name": "municipality", "in": "query", "schema": {"type": "string"}}],
            ),
        },
        "/signup/verify": {
            "post": _op(
                "Finish a signup with its code",
                {
                    "201": _json(
                        _obj({"participant_id": {"type": "string"}}, ("participant_id",)),
                        "The person now receives alerts.",
                    )
                },
                body=_code_body("signup_id"),
            )
        },
        "/signup/assets/{name}": {
            "get": _op(
                "The signup page's stylesheet and script",
                {
                    "200": {
                        "description": "The file.",
                        "content": {
                            "text/css": {"schema": {"type": "string"}},
                            "text/javascript": {"schema": {"type": "string"}},
                        },
                    }
                },
                parameters=[_path("name", "signup.css or signup.js")],
            )
        },
        "/participants/login": {
            "post": _op(
                "Send a login code",
                {"202": _json(_code_started("login_id"), code_sent), "503": unavailable},
                body=_ref("PhoneRequest"),
            )
        },
        "/participants/login/verify": {
            "post": _op(
                "Exchange a login code for a session token",
                {
                    "200": _json(
                        _obj(
                            {"token": {"type": "string"}, "expires_in": {"type": "integer"}},
                            ("token", "expires_in"),
                        ),
                        "A token for `Authorization: Bearer`.",
                    )
                },
                body=_code_body("login_id"),
            )
        },
        "/participants/me": {
            "get": _op(
                "The participant's own data",
                {"200": _json(_ref("Participant"), "Their data.")},
                security=BEARER,
            ),
            "put": _op(
                "Change language, channel, quiet hours or places",
                {"200": _json(_ref("Participant"), "The new state.")},
                security=BEARER,
                body=_ref("Preferences"),
            ),
            "delete": _op(
                "Erase the participant at once",
                {"204": {"description": "Erased."}},
                security=BEARER,
            ),
        },
        "/participants/me/export": {
            "get": _op(
                "Everything stored about the participant",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["participant", "alerts", "devices", "sightings"],
                            "properties": {
                                "participant": _ref("Participant"),
                                "age_checked": {"type": "boolean"},
                                "alerts": {"type": "array", "items": {"type": "object"}},
                                "devices": {"type": "array", "items": {"type": "object"}},
                                "sightings": {"type": "array", "items": {"type": "object"}},
                                "kept": {"type": "string"},
                            },
                        },
                        "The export.",
                    )
                },
                security=BEARER,
            )
        },
        "/unsubscribe": {
            "post": _op(
                "Send a code to confirm leaving",
                {"202": _json(_code_started("unsubscribe_id"), code_sent), "503": unavailable},
                body=_ref("PhoneRequest"),
            )
        },
        "/unsubscribe/confirm": {
            "post": _op(
                "Leave: the participant and every place are removed",
                {
                    "200": _json(
                        _obj({"status": {"type": "string", "const": "unsubscribed"}}, ("status",)),
                        "Left.",
                    )
                },
                body=_code_body("unsubscribe_id"),
            )
        },
        "/openapi.json": {
            "get": _op(
                "This document",
                {"200": _json({"type": "object"}, "The OpenAPI 3.1 document.")},
            )
        },
    }


def _photo_op(action_id: Schema) -> Schema:
    """PUT /actions/{action_id}/photo: its body is the image itself, not JSON."""
    op = _op(
        "Attach a photo to an active action (replacing its photo); its two sizes become public",
        {
            "200": _json(
                _ref("Action"),
                "Stored without its metadata (EXIF, GPS); `photo` holds the public URLs of "
                f"the {photo_rules.LARGE_PX} px and {photo_rules.SMALL_PX} px sizes.",
            ),
            "400": _error("`empty_photo`, `not_an_image` or `photo_too_many_pixels`."),
            "404": _error("`action_not_found`."),
            "409": _error("`action_closed`."),
            "413": _error(f"`photo_too_large`: over {photo_rules.MAX_PHOTO_BYTES:,} bytes."),
            "415": _error("`unsupported_media_type`: not image/jpeg or image/png."),
            "503": _error(
                "`photo_unavailable`: nothing was stored, send it again; `photos_unavailable`: "
                "this stage keeps no photos."
            ),
        },
        security=IAM,
        parameters=[action_id],
    )
    op["requestBody"] = {
        "required": True,
        "description": f"A JPEG or PNG of at most {photo_rules.MAX_PHOTO_BYTES:,} bytes.",
        "content": {
            media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
            for media_type in photo_rules.MEDIA_TYPES
        },
    }
    return op


def _public_paths() -> dict[str, Schema]:
    """The public face of public actions (issue 10): feeds, CAP messages and the page."""
    text = {"type": "string"}
    html = {"description": "", "content": {"text/html": {"schema": text}}}
    nullable_url = {"type": ["string", "null"], "format": "uri"}
    entity_tag = r'(W/)?"[^"]*"'
    etags = rf"^(\*|{entity_tag}( *, *{entity_tag})*)$"  # RFC 9110: *, or a list of tags
    alert = _obj(
        {
            "AlertId": {"type": "string", "description": "The action's reference."},
            "AlertLevel": {"type": "integer", "enum": [5, 10]},
            "Sent": TIME,
            "Message": _obj(
                {
                    "Title": text,
                    "Description": NULLABLE_TEXT,
                    "DescriptionExt": text,
                    "Readmore_URL": {"type": "string", "format": "uri"},
                    "Media": _obj(
                        {"Image": nullable_url, "SmallImage": nullable_url},
                        ("Image", "SmallImage"),
                    ),
                },
                ("Title", "Description", "DescriptionExt", "Readmore_URL", "Media"),
            ),
            "Area": _obj(
                {
                    "Description": NULLABLE_TEXT,
                    "Circle": {"type": "string", "description": '"lat,lon radius_m"'},
                },
                ("Description", "Circle"),
            ),
        },
        ("AlertId", "AlertLevel", "Sent", "Message", "Area"),
    )
    return {
        "/public/alerts": {
            "get": _op(
                "Active public actions, as Burgernet's public alert list",
                {
                    "200": _json(
                        {"type": "array", "items": alert},
                        "Newest first; a closed action leaves at once; exercises never appear.",
                    )
                },
            )
        },
        "/public/actions/{name}": {
            "get": _op(
                "A public action's latest CAP 1.2 message",
                {
                    "200": {
                        "description": "The message (OASIS CAP 1.2).",
                        "content": {"application/cap+xml": {"schema": text}},
                    },
                    "404": _error("`action_not_found` (or not public), `not_found`."),
                    "410": _error("`action_gone`: closed more than 48 hours ago."),
                },
                parameters=[_path("name", "The action's reference and `.cap`: K7P2QX.cap.")],
            )
        },
        "/public/feed.atom": {
            "get": _op(
                "The Atom 1.0 index of the public actions' CAP messages",
                {
                    "200": {
                        "description": "Active public actions and those closed in the last "
                        "48 hours, newest message first.",
                        "headers": {
                            "ETag": {"schema": text},
                            "Cache-Control": {"schema": text},
                        },
                        "content": {"application/atom+xml": {"schema": text}},
                    },
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                },
                parameters=[
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "description": "The ETag last read (or a list of them, or *).",
                        "schema": {"type": "string", "pattern": etags, "maxLength": 1000},
                    }
                ],
            )
        },
        "/a/{ref}": {
            "get": _op(
                "A public action's page (HTML, Dutch with English)",
                {
                    "200": {**html, "description": "The page."},
                    "404": {**html, "description": "No public action with this reference."},
                    "410": {**html, "description": "Closed more than 48 hours ago."},
                },
                parameters=[_path("ref", "The action's reference, e.g. K7P2QX.")],
            )
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document (built once per Lambda)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Burgernet",
            "version": "1",
            "description": "Citizen alerts: the dispatch API (SigV4), municipality admin (SigV4), "
            "and the public routes for residents and the app. Prose: docs/api.md, docs/signup.md.",
        },
        "servers": [{"url": "/"}],
        "paths": {**_paths(), **_public_paths()},
        "components": {
            "schemas": _schemas(),
            "responses": {
                "Error": {
                    "description": "An error in the API's one shape.",
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
            },
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 for `execute-api` (API Gateway's IAM "
                    "authorizer). Not checked by the local runner.",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                },
                "bearer": {"type": "http", "scheme": "bearer"},
                "deviceSecret": {"type": "apiKey", "name": "X-Device-Secret", "in": "header"},
            },
        },
    }


@openapi.route("/openapi.json", methods=["GET"])
def openapi_json() -> Response:
    """The OpenAPI document, for integrators' code generators and for fuzzing."""
    return Response(body=document(), status_code=200, headers={"Content-Type": "application/json"})
