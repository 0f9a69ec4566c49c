"""The control room page and its built assets (the JSON routes it reads are in control.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.handlers.openapi.common import op, path_parameter


def paths() -> dict[str, Any]:
    """GET /control and GET /control/assets/{name}."""
    return {
        "/control": {
            "get": op(
                "The control room page (HTML); it signs in with Cognito",
                {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/control/assets/{name}": {
            "get": op(
                "The control room's bundled stylesheet and script (Leaflet and ours)",
                {
                    "200": {
                        "description": "The file.",
                        "content": {
                            "text/css": {"schema": {"type": "string"}},
                            "text/javascript": {"schema": {"type": "string"}},
                        },
                    },
                    "304": {"description": "Not modified since the ETag in If-None-Match."},
                },
                parameters=[path_parameter("name", "control.css or control.js")],
            )
        },
    }
