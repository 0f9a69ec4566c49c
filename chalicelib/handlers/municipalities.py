"""Admin routes for municipalities (IAM-signed in deployed stages, like the dispatch API)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, IAMAuthorizer, Response

from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers.http import json_errors
from chalicelib.logic import municipalities
from chalicelib.runtime import runtime

admin = Blueprint(__name__)
iam = IAMAuthorizer()
MAX_AREA_BYTES = 4 * 1024 * 1024  # detailed outlines are large; API Gateway allows 10 MB


@admin.route("/municipalities", methods=["POST"], authorizer=iam)
@json_errors
def put_municipality() -> Response:
    """Create or replace a municipality with its area."""
    runtime()
    body = parse_json_object(admin.current_request.raw_body, max_bytes=MAX_AREA_BYTES)
    return Response(body=municipalities.put_municipality(body), status_code=201)


@admin.route("/municipalities/{code}", methods=["GET"], authorizer=iam)
@json_errors
def get_municipality(code: str) -> municipalities.MunicipalityView:
    """One municipality, with its area."""
    runtime()
    return municipalities.get_municipality(code)


@admin.route("/municipalities", methods=["GET"], authorizer=iam)
@json_errors
def list_municipalities() -> dict[str, Any]:
    """Every municipality (without their outlines)."""
    runtime()
    return {"municipalities": municipalities.list_municipalities()}
