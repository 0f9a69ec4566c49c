"""Admin routes for municipalities (IAM-signed in deployed stages, like the dispatch API)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain.validation import parse_json_object
from chalicelib.handlers.http import iam, json_errors, wired
from chalicelib.logic import municipalities

admin = Blueprint(__name__)
MAX_AREA_BYTES = 4 * 1024 * 1024  # detailed outlines are large; API Gateway allows 10 MB


@admin.route("/municipalities", methods=["POST"], authorizer=iam)
@json_errors
@wired
def put_municipality() -> Response:
    """Create or replace a municipality with its area."""
    body = parse_json_object(admin.current_request.raw_body, max_bytes=MAX_AREA_BYTES)
    return Response(body=municipalities.put_municipality(body), status_code=201)


@admin.route("/municipalities/{code}", methods=["GET"], authorizer=iam)
@json_errors
@wired
def get_municipality(code: str) -> municipalities.MunicipalityView:
    """One municipality, with its area."""
    return municipalities.get_municipality(code)


@admin.route("/municipalities", methods=["GET"], authorizer=iam)
@json_errors
@wired
def list_municipalities() -> dict[str, Any]:
    """Every municipality (without their outlines)."""
    return {"municipalities": municipalities.list_municipalities()}
