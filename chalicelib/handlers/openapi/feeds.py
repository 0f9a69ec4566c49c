"""The public feeds in the OpenAPI document: the alert list, CAP messages, Atom, the page."""

from __future__ import annotations

from chalicelib.domain.action_list import MessageType
from chalicelib.domain.model import Incident
from chalicelib.handlers.openapi.common import (
    NULLABLE_TEXT,
    TIME,
    Schema,
    error,
    json_answer,
    obj,
    op,
    path_parameter,
)


def paths() -> dict[str, Schema]:
    """The public face of public actions: feeds, CAP messages and the page."""
    text = {"type": "string"}
    html = {"description": "", "content": {"text/html": {"schema": text}}}
    nullable_url = {"type": ["string", "null"], "format": "uri"}
    entity_tag = r'(W/)?"[^"]*"'
    etags = rf"^(\*|{entity_tag}( *, *{entity_tag})*)$"  # RFC 9110: *, or a list of tags
    alert = obj(
        {
            "AlertId": {"type": "string", "description": "The action's reference."},
            "AlertLevel": {"type": "integer", "enum": [5, 10]},
            "Sent": TIME,
            "Message": obj(
                {
                    "Title": text,
                    "Description": NULLABLE_TEXT,
                    "DescriptionExt": text,
                    "Readmore_URL": {"type": "string", "format": "uri"},
                    "Media": obj(
                        {"Image": nullable_url, "SmallImage": nullable_url},
                        ("Image", "SmallImage"),
                    ),
                },
                ("Title", "Description", "DescriptionExt", "Readmore_URL", "Media"),
            ),
            "Area": obj(
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
            "get": op(
                "Active public actions, as Burgernet's public alert list",
                {
                    "200": json_answer(
                        {"type": "array", "items": alert},
                        "Newest first; a closed action leaves at once; exercises never appear.",
                    )
                },
            )
        },
        "/public/actions/{name}": {
            "get": op(
                "A public action's latest CAP 1.2 message",
                {
                    "200": {
                        "description": "The message (OASIS CAP 1.2).",
                        "content": {"application/cap+xml": {"schema": text}},
                    },
                    "404": error("`action_not_found` (or not public), `not_found`."),
                    "410": error("`action_gone`: closed more than 48 hours ago."),
                },
                parameters=[
                    path_parameter("name", "The action's reference and `.cap`: K7P2QX.cap.")
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
            "get": op(
                "A public action's page (HTML, Dutch with English)",
                {
                    "200": {**html, "description": "The page."},
                    "404": {**html, "description": "No public action with this reference."},
                    "410": {**html, "description": "Closed more than 48 hours ago."},
                },
                parameters=[path_parameter("ref", "The action's reference, e.g. K7P2QX.")],
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
                    "lat": {"type": "number"},
                    "lng": {"type": "number"},
                    "radius": {"type": "integer", "minimum": 1, "description": "Metres."},
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
