"""The public feeds in the OpenAPI document: the alert list, CAP messages, Atom, the page."""

from __future__ import annotations

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
    }
