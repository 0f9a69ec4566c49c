"""Municipalities for the admin routes: validate, store, and the views they answer with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.dal import municipalities as store
from chalicelib.dal.models import Municipality
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.outlines import MUNICIPALITY_FIELDS, check_code, from_bytes, parse_outline
from chalicelib.domain.validation import check_fields, required


def _view(m: Municipality, with_area: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"code": m.code, "name": m.name, "bbox": store.bbox(m)}
    if with_area:
        view["area"] = from_bytes(m.area).geojson()
    return view


def put_municipality(body: Mapping[str, Any]) -> dict[str, Any]:
    """Create or replace a municipality from a POST body; its view with the area."""
    check_fields(body, MUNICIPALITY_FIELDS)
    code = check_code(required(body, "code"))
    name = required(body, "name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("wrong_type", "name must be the municipality's name.", "name")
    record = store.put_municipality(
        code, name.strip(), parse_outline(body.get("area"), body.get("bbox"))
    )
    return _view(record, with_area=True)


def get_municipality(code: str) -> dict[str, Any]:
    """One municipality's view, with its area (NotFound if there is none)."""
    return _view(store.get_municipality(code), with_area=True)


def list_municipalities() -> list[dict[str, Any]]:
    """Every municipality's view, without the outlines."""
    return [_view(m) for m in store.list_municipalities()]
