"""Residents' routes in the OpenAPI document: signup, login, their own data, unsubscribing."""

from __future__ import annotations

from chalicelib.domain import signup as signup_rules
from chalicelib.domain.model import Language
from chalicelib.handlers.openapi.common import (
    BEARER,
    LAT,
    LON,
    NULLABLE_TEXT,
    NULLABLE_TIME,
    Schema,
    error,
    json_answer,
    obj,
    op,
    path_parameter,
    ref,
    request_object,
)

LANGUAGES = {"type": "string", "enum": [lang.value for lang in Language]}


def schemas() -> dict[str, Schema]:
    """Signup, preferences and the participant as answered."""
    address = request_object(
        signup_rules.ADDRESS_FIELDS,
        {
            "label": {"type": "string"},
            "postcode": {"type": "string", "examples": ["3511 LX"]},
            "house_number": {"type": ["string", "integer"]},
            "addition": {"type": ["string", "null"]},
        },
        ("postcode", "house_number"),
    )
    point = request_object(
        signup_rules.POINT_FIELDS,
        {"label": {"type": "string"}, "lat": LAT, "lon": LON},
        ("lat", "lon"),
    )
    clock = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    quiet = {
        **request_object(
            signup_rules.QUIET_HOURS_FIELDS, {"from": clock, "to": clock}, ("from", "to")
        ),
        "type": ["object", "null"],
    }
    places = {
        "type": "array",
        "minItems": 1,
        "maxItems": signup_rules.MAX_PLACES,
        "items": {"oneOf": [address, point]},
    }
    languages = LANGUAGES
    channel = {"type": "string", "enum": ["sms", "voice"]}
    phone = {"type": "string", "description": "A Dutch number in any usual notation."}
    code = {"type": "string", "pattern": "^[0-9]{6}$"}
    identifier = {"type": "string", "minLength": 1, "maxLength": 64}
    return {
        "SignupRequest": request_object(
            signup_rules.SIGNUP_FIELDS,
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
        "PhoneRequest": request_object(
            signup_rules.PHONE_FIELDS, {"phone": phone, "language": languages}, ("phone",)
        ),
        "Preferences": request_object(
            signup_rules.PREFERENCES_FIELDS,
            {"language": languages, "channel": channel, "places": places, "quiet_hours": quiet},
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
    return request_object(
        (id_field, *signup_rules.CODE_FIELDS),
        {id_field: ref("RequestId"), "code": ref("Code"), "language": {"type": "string"}},
        (id_field, "code"),
    )


def _code_started(id_field: str) -> Schema:
    return obj(
        {id_field: {"type": "string"}, "expires_in": {"type": "integer"}},
        (id_field, "expires_in"),
        closed=False,
    )


def paths() -> dict[str, Schema]:
    """Sign up, log in, read and change one's data, leave."""
    code_sent = "A code is on its way (the same answer for numbers that do not take part)."
    unavailable = error("`codes_unavailable`: the service's codes for this hour are spent.")
    return {
        "/signup": {
            "post": op(
                "Join: validate, look up addresses, send a code",
                {
                    "202": json_answer(_code_started("signup_id"), code_sent),
                    "503": unavailable,
                },
                body=ref("SignupRequest"),
            ),
            "get": op(
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
        "/toegankelijkheid": {
            "get": op(
                "The accessibility statement (HTML, Dutch with an English summary)",
                {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/signup/verify": {
            "post": op(
                "Finish a signup with its code",
                {
                    "201": json_answer(
                        obj({"participant_id": {"type": "string"}}, ("participant_id",)),
                        "The person now receives alerts.",
                    )
                },
                body=_code_body("signup_id"),
            )
        },
        "/signup/assets/{name}": {
            "get": op(
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
                parameters=[path_parameter("name", "signup.css or signup.js")],
            )
        },
        "/participants/login": {
            "post": op(
                "Send a login code",
                {"202": json_answer(_code_started("login_id"), code_sent), "503": unavailable},
                body=ref("PhoneRequest"),
            )
        },
        "/participants/login/verify": {
            "post": op(
                "Exchange a login code for a session token",
                {
                    "200": json_answer(
                        obj(
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
            "get": op(
                "The participant's own data",
                {"200": json_answer(ref("Participant"), "Their data.")},
                security=BEARER,
            ),
            "put": op(
                "Change language, channel, quiet hours or places",
                {"200": json_answer(ref("Participant"), "The new state.")},
                security=BEARER,
                body=ref("Preferences"),
            ),
            "delete": op(
                "Erase the participant at once",
                {"204": {"description": "Erased."}},
                security=BEARER,
            ),
        },
        "/participants/me/export": {
            "get": op(
                "Everything stored about the participant",
                {
                    "200": json_answer(
                        {
                            "type": "object",
                            "required": ["participant", "alerts", "devices", "sightings"],
                            "properties": {
                                "participant": ref("Participant"),
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
            "post": op(
                "Send a code to confirm leaving",
                {
                    "202": json_answer(_code_started("unsubscribe_id"), code_sent),
                    "503": unavailable,
                },
                body=ref("PhoneRequest"),
            )
        },
        "/unsubscribe/confirm": {
            "post": op(
                "Leave: the participant and every place are removed",
                {
                    "200": json_answer(
                        obj({"status": {"type": "string", "const": "unsubscribed"}}, ("status",)),
                        "Left.",
                    )
                },
                body=_code_body("unsubscribe_id"),
            )
        },
    }
