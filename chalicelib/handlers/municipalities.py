"""Admin routes for municipalities (IAM-signed in deployed stages, like the dispatch API)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, IAMAuthorizer, Response

from chalicelib.dal import municipalities as store
from chalicelib.dal.models import Municipality
from chalicelib.domain.areas import check_code, from_bytes, parse_area
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.requests import check_fields, parse_json_object, required
from chalicelib.handlers.http import json_errors
from chalicelib.runtime import runtime

admin = Blueprint(__name__)
iam = IAMAuthorizer()
MAX_AREA_BYTES = 4 * 1024 * 1024  # detailed outlines are large; API Gateway allows 10 MB


def _view(m: Municipality, with_area: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"code": m.code, "name": m.name, "bbox": store.bbox(m)}
    if with_area:
        view["area"] = from_bytes(m.area).geojson()
    return view


@admin.route("/municipalities", methods=["POST"], authorizer=iam)
@json_errors
def put_municipality() -> Response:
    """Create or replace a municipality with its area."""
    runtime()
    body = parse_json_object(admin.current_request.raw_body, max_bytes=MAX_AREA_BYTES)
    check_fields(body, ("code", "name", "area", "bbox"))
    code = check_code(required(body, "code"))
    name = required(body, "name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("wrong_type", "name must be the municipality's name.", "name")
    record = store.put_municipality(
        code, name.strip(), parse_area(body.get("area"), body.get("bbox"))
    )
    return Response(body=_view(record, with_area=True), status_code=201)


@admin.route("/municipalities/{code}", methods=["GET"], authorizer=iam)
@json_errors
def get_municipality(code: str) -> dict[str, Any]:
    """One municipality, with its area."""
    runtime()
    return _view(store.get_municipality(code), with_area=True)


@admin.route("/municipalities", methods=["GET"], authorizer=iam)
@json_errors
def list_municipalities() -> dict[str, Any]:
    """Every municipality (without their outlines)."""
    runtime()
    return {"municipalities": [_view(m) for m in store.list_municipalities()]}
