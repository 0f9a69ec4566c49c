"""The public feeds in the OpenAPI document: the alert list, CAP messages, Atom, the page."""

from __future__ import annotations

from chalicelib.domain.action_list import MessageType
from chalicelib.domain.model import Incident
from chalicelib.handlers.openapi.common import (
    NULLABLE_TEXT,
    Schema,
    error,
    json_answer,
    obj,
    op,
    path_parameter,
)

_ENTITY_TAG = r'(W/)?"[^"]*"'
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "description": "The ETag last read (or a list of them, or *).",
    # RFC 9110: *, or a list of entity tags
    "schema": {
        "type": "string",
        "pattern": rf"^(\*|{_ENTITY_TAG}( *, *{_ENTITY_TAG})*)$",
        "maxLength": 1000,
    },
}

# An answer a browser or the CDN may keep (docs/api.md: 30 s, or an hour once it cannot change).
CACHED = {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}}

# The public circle's centre (chalicelib/domain/public.py): never the exact point, often a home.
_ROUNDED = "3 decimals (about 100 m): never the exact point."


def paths() -> dict[str, Schema]:
    """The public face of public actions: feeds, CAP messages and the page."""
    text = {"type": "string"}
    html = {"description": "", "content": {"text/html": {"schema": text}}}
    alert = _alert_item()
    return {
        "/public/alerts": {
            "get": op(
                "Public actions, as Burgernet's public alert list",
                {
                    "200": json_answer(
                        {"type": "array", "items": alert},
                        "A bare array: running public actions, newest first, then those closed "
                        "in the last 3 hours as `Cancel`. Every value is a string or null; "
                        "exercises have `State` `Exercise`. docs/api.md, Reading our public "
                        "feeds.",
                        headers={
                            "ETag": {"schema": text},
                            "Cache-Control": {"schema": text},
                            "Access-Control-Allow-Origin": {"schema": text},
                        },
                    ),
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                },
                parameters=[IF_NONE_MATCH],
            )
        },
        "/public/actions/{name}": {
            "get": op(
                "A public action's latest CAP 1.2 message",
                {
                    "200": {
                        "description": "The message (OASIS CAP 1.2). Cache-Control: max-age=30 "
                        "while the action runs, up to 3600 once it is closed.",
                        "headers": CACHED,
                        "content": {"application/cap+xml": {"schema": text}},
                    },
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                    "404": error("`action_not_found` (or not public), `not_found`."),
                    "410": error("`action_gone`: closed more than 48 hours ago."),
                },
                parameters=[
                    path_parameter("name", "The action's reference and `.cap`: K7P2QX.cap."),
                    IF_NONE_MATCH,
                ],
            )
        },
        "/public/feed.atom": {
            "get": op(
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
                parameters=[IF_NONE_MATCH],
            )
        },
        "/a/{ref}": {
            "get": op(
                "A public action's page (HTML, Dutch with English)",
                {
                    "200": {
                        **html,
                        "description": "The page, cached as the CAP message.",
                        "headers": CACHED,
                    },
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                    "404": {**html, "description": "No public action with this reference."},
                    "410": {**html, "description": "Closed more than 48 hours ago."},
                },
                parameters=[
                    path_parameter("ref", "The action's reference, e.g. K7P2QX."),
                    IF_NONE_MATCH,
                ],
            )
        },
        **action_list_path(),
    }


def action_list_path() -> dict[str, Schema]:
    """GET /public/actions: Burgernet's action list, each action with its messages."""
    epoch = {"type": "integer", "description": "Unix time in whole seconds."}
    message = obj(
        {
            "title": {"type": "string"},
            "body": {"type": "string", "minLength": 1},
            "responseUrl": {"type": "string", "format": "uri", "description": "The page."},
            "messageType": {"type": "string", "enum": [t.value for t in MessageType]},
            "lastModifiedTimestamp": epoch,
            "speechId": {"type": "null", "description": "No spoken versions: always null."},
        },
        ("title", "body", "responseUrl", "messageType", "lastModifiedTimestamp", "speechId"),
    )
    action = obj(
        {
            "id": {"type": "string", "description": "The action's reference."},
            "municipality": NULLABLE_TEXT,
            "actionType": {"type": "string", "enum": [i.value for i in Incident]},
            "amberAlert": {"type": "boolean", "const": False},
            "active": {"type": "boolean"},
            "startTimestamp": epoch,
            "endTimestamp": {**epoch, "type": ["integer", "null"]},
            "area": obj(
                {
                    "lat": {"type": "number", "description": _ROUNDED},
                    "lng": {"type": "number", "description": _ROUNDED},
                    "radius": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Metres, grown so the circle holds the whole area.",
                    },
                },
                ("lat", "lng", "radius"),
            ),
            "messages": {"type": "array", "items": message, "minItems": 1},
        },
        (
            "id",
            "municipality",
            "actionType",
            "amberAlert",
            "active",
            "startTimestamp",
            "endTimestamp",
            "area",
            "messages",
        ),
    )
    cached = {
        "ETag": {"schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string"}},
    }
    return {
        "/public/actions": {
            "get": op(
                "Public actions with their messages, as Burgernet's action list",
                {
                    "200": json_answer(
                        obj({"actions": {"type": "array", "items": action}}, ("actions",)),
                        "Active public actions and those closed in the last 48 hours, newest "
                        "first; messages Start, each Update, Afloop; exercises never appear.",
                        cached,
                    ),
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                },
                parameters=[IF_NONE_MATCH],
            )
        }
    }


def _alert_item() -> Schema:
    """One item of the alert list: Burgernet's keys, every value a string or null."""
    text = {"type": "string"}
    html = {
        "type": ["string", "null"],
        "description": "HTML-escaped: &, <, >, quotes and "
        "every non-ASCII character as entities (ë is &#235;).",
    }
    digits = {"type": "string", "pattern": "^[0-9]+$"}
    decimal = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    nullable_url = {"type": ["string", "null"], "format": "uri"}
    circle = r"^-?[0-9]+(\.[0-9]+)?,-?[0-9]+(\.[0-9]+)? [0-9]+(\.[0-9]+)?$"
    return obj(
        {
            "AlertId": {
                **digits,
                "description": "The action's reference as digits (two a "
                "character: its character code).",
            },
            "MessageId": {
                **digits,
                "description": "AlertId and the number of the state: "
                "the start 1, each update one more, the close last.",
            },
            "Sender": {**text, "description": "CAP_SENDER, as in the CAP messages."},
            "Sent": {**digits, "description": "Unix seconds of this state (start, update, close)."},
            "State": {"type": "string", "enum": ["Actual", "Exercise"]},
            "Type": {"type": "string", "enum": ["Alert", "Update", "Cancel"]},
            "Scope": {"type": "string", "enum": ["Public"]},
            "AlertLevel": {
                "type": "string",
                "enum": ["5"],
                "description": '"10" is '
                "reserved for a national AMBER Alert, which this system never starts.",
            },
            "Location": obj(
                {
                    "Description": html,
                    "Latitude": {**decimal, "description": _ROUNDED},
                    "Longitude": {**decimal, "description": _ROUNDED},
                },
                ("Description", "Latitude", "Longitude"),
            ),
            "Message": obj(
                {
                    "Title": {**html, "description": "null for a Cancel."},
                    "Description": html,
                    "DescriptionExt": {
                        **html,
                        "description": "What happened in a word (Inbraak); null for a Cancel.",
                    },
                    "Readmore_URL": {"type": "string", "format": "uri"},
                    "Media_URL": nullable_url,
                    "Media": obj(
                        {"Image": nullable_url, "SmallImage": nullable_url},
                        ("Image", "SmallImage"),
                    ),
                },
                ("Title", "Description", "DescriptionExt", "Readmore_URL", "Media_URL", "Media"),
            ),
            "Area": obj(
                {
                    "Description": html,
                    "Circle": {
                        "type": "string",
                        "pattern": circle,
                        "description": '"lat,lon radius_km", as CAP writes it.',
                    },
                    "CircleKM": {**decimal, "description": "The same radius in km."},
                },
                ("Description", "Circle", "CircleKM"),
            ),
        },
        (
            "AlertId",
            "MessageId",
            "Sender",
            "Sent",
            "State",
            "Type",
            "Scope",
            "AlertLevel",
            "Location",
            "Message",
            "Area",
        ),
    )
