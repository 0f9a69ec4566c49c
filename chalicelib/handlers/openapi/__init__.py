"""The OpenAPI 3.1 document of the HTTP API, and `GET /openapi.json` that serves it.

Built from Python rather than kept as a JSON file: ranges, enums and the fields of each request
come from the same constants the validators use (chalicelib/domain), so the document cannot drift
from them. One module per resource; a test keeps the document's (path, method) pairs equal to
app.routes, and CI fuzzes the running API against it.
"""

from __future__ import annotations

import functools
from typing import Any

from chalice import Blueprint, Response

from chalicelib.handlers.openapi import (
    actions,
    areas,
    common,
    control,
    control_page,
    devices,
    feeds,
    municipalities,
    participants,
)
from chalicelib.handlers.openapi.common import json_answer, op

openapi = Blueprint(__name__)


@functools.cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document (built once per Lambda)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Burgernet",
            "version": "1",
            "description": "Citizen alerts: the dispatch API (SigV4), municipality admin (SigV4), "
            "the control room (people, Cognito ID tokens), and the public routes for residents "
            "and the app. Prose: docs/api.md, docs/signup.md.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            **actions.paths(),
            **control.paths(),
            **devices.paths(),
            **municipalities.paths(),
            **participants.paths(),
            **control_page.paths(),
            "/openapi.json": {
                "get": op(
                    "This document",
                    {"200": json_answer({"type": "object"}, "The OpenAPI 3.1 document.")},
                )
            },
            **feeds.paths(),
        },
        "components": {
            "schemas": {
                **common.schemas(),
                **areas.schemas(),
                **actions.schemas(),
                **control.schemas(),
                **devices.schemas(),
                **municipalities.schemas(),
                **participants.schemas(),
            },
            "responses": common.RESPONSES,
            "securitySchemes": common.SECURITY_SCHEMES,
        },
    }


@openapi.route("/openapi.json", methods=["GET"])
def openapi_json() -> Response:
    """The OpenAPI document, for integrators' code generators and for fuzzing."""
    return Response(body=document(), status_code=200, headers={"Content-Type": "application/json"})
