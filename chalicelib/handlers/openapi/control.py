"""The control room's routes in the OpenAPI document: the IAM routes' operations for people
signed in with Cognito, and the live view of one action."""

from __future__ import annotations

import copy

from chalicelib.domain.model import CallOutcome, Channel, DeliveryStatus
from chalicelib.domain.people import PersonGroup
from chalicelib.handlers.openapi import actions
from chalicelib.handlers.openapi.common import (
    TIME,
    Schema,
    error,
    header_parameter,
    json_answer,
    obj,
    op,
    ref,
)
from chalicelib.logic.control import SIGHTINGS_SHOWN

PEOPLE: list[dict[str, list[str]]] = [{"cognito": []}]
REFUSED = {
    "401": error("`unauthorized`: no token, or not a valid, unexpired ID token of the pool."),
    "403": error(
        f"`group_required`: signed in, but not in the `{PersonGroup.DISPATCH}` group; the body "
        "adds `group` (the one needed) and `groups` (the caller's)."
    ),
}
POLLED = {
    "ETag": {"schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
}
IF_NONE_MATCH = header_parameter(
    "If-None-Match", "The ETag last read: 304 with no body while nothing changed.", False
)
UNCHANGED = {"description": "Not modified since the ETag in If-None-Match.", "headers": POLLED}
STATES = ("people", DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.FAILED,
          DeliveryStatus.UNKNOWN, DeliveryStatus.CANCELLED)  # fmt: skip


def _for_people(operation: Schema, summary: str) -> Schema:
    """The IAM route's operation, for people: same body and answers, a Cognito token instead."""
    person = copy.deepcopy(operation)
    person["summary"] = summary
    person["security"] = PEOPLE
    person["responses"] = {**person["responses"], **REFUSED}
    return person


def schemas() -> dict[str, Schema]:
    """The live view of one action and the sign-in settings."""
    count = {"type": "integer", "minimum": 0}
    channel = {
        c.value: obj(
            {
                str(s): count
                for s in (*STATES, *([CallOutcome.ANSWERED] if c is Channel.VOICE else []))
            },
            tuple(str(s) for s in STATES),
        )
        for c in Channel
    }
    per_minute = {"type": "array", "items": count}
    return {
        "ControlView": obj(
            {
                "action": ref("Action"),
                "centre": obj(
                    {"lat": {"type": "number"}, "lon": {"type": "number"}}, ("lat", "lon")
                ),
                "channels": obj(channel, tuple(channel)),
                "series": obj(
                    {
                        "minutes": {"type": "array", "items": TIME},
                        **{c.value: per_minute for c in Channel},
                    },
                    ("minutes", *(c.value for c in Channel)),
                ),
                "sightings": {
                    "type": "array",
                    "maxItems": SIGHTINGS_SHOWN,
                    "items": ref("Sighting"),
                },
                "sightings_more": {"type": "boolean"},
            },
            ("action", "centre", "channels", "series", "sightings", "sightings_more"),
        ),
        "ControlConfig": obj(
            {
                "region": {"type": "string"},
                "user_pool_id": {"type": "string"},
                "client_id": {"type": "string"},
                "endpoint": {"type": "string", "description": "cognito-idp's endpoint, with /."},
                "mfa": {"type": "string", "enum": ["required", "off"]},
            },
            ("region", "user_pool_id", "client_id", "endpoint", "mfa"),
        ),
    }


def paths() -> dict[str, Schema]:
    """GET /control/config, and the control room's reads and acts."""
    iam = actions.paths()
    listed = _for_people(iam["/actions"]["get"], "Actions, newest first, for a signed-in person")
    listed["responses"]["200"]["headers"] = POLLED
    listed["responses"]["304"] = UNCHANGED
    listed["parameters"] = [*listed["parameters"], IF_NONE_MATCH]
    return {
        "/control/config": {
            "get": op(
                "Where the control room signs people in (no data)",
                {
                    "200": json_answer(ref("ControlConfig"), "The pool and its public client."),
                    "503": error("`control_room_unavailable`: no pool configured."),
                },
            )
        },
        "/control/actions": {"get": listed},
        "/control/actions/{action_id}": {
            "get": op(
                "One action for the live view: reach per channel, alerts per minute, sightings",
                {
                    "200": json_answer(
                        ref("ControlView"),
                        "Nothing personal: counts and the sightings' own positions.",
                        POLLED,
                    ),
                    "304": UNCHANGED,
                    "404": error("`action_not_found`."),
                    **REFUSED,
                },
                security=PEOPLE,
                parameters=[actions.ACTION_ID, IF_NONE_MATCH],
            )
        },
        "/control/actions/{action_id}/updates": {
            "post": _for_people(
                iam["/actions/{action_id}/updates"]["post"],
                "Update an action (as POST /actions/{action_id}/updates)",
            )
        },
        "/control/actions/{action_id}/photo": {
            "put": _for_people(
                iam["/actions/{action_id}/photo"]["put"],
                "Attach a photo (as PUT /actions/{action_id}/photo)",
            )
        },
        "/control/actions/{action_id}/close": {
            "post": _for_people(
                iam["/actions/{action_id}/close"]["post"],
                "Close an action (as POST /actions/{action_id}/close)",
            )
        },
    }
