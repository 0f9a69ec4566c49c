"""Municipalities for the admin routes: validate, store, and the views they answer with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from chalicelib.dal import municipalities as municipality_store
from chalicelib.dal.records import MunicipalityRecord
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.outlines import MUNICIPALITY_FIELDS, check_code, from_bytes, parse_outline
from chalicelib.domain.validation import check_fields, readable, required


class MunicipalityView(TypedDict):
    """A municipality as the admin routes show it; its outline only where one is asked for."""

    code: str
    name: str
    bbox: list[float]
    area: NotRequired[dict[str, Any]]  # GeoJSON MultiPolygon


def _view(m: MunicipalityRecord, with_area: bool = False) -> MunicipalityView:
    view = MunicipalityView(code=m.code, name=m.name, bbox=municipality_store.bbox(m))
    if with_area:
        view["area"] = from_bytes(m.area).geojson()
    return view


def put_municipality(body: Mapping[str, Any]) -> MunicipalityView:
    """Create or replace a municipality from a POST body; its view with the area."""
    check_fields(body, MUNICIPALITY_FIELDS)
    code = check_code(required(body, "code"))
    name = required(body, "name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("wrong_type", "name must be the municipality's name.", "name")
    # The name becomes an action's public place: the same characters as dispatch's free texts.
    readable(name, "name")
    record = municipality_store.put_municipality(
        code, name.strip(), parse_outline(body.get("area"), body.get("bbox"))
    )
    return _view(record, with_area=True)


def get_municipality(code: str) -> MunicipalityView:
    """One municipality's view, with its area (NotFound if there is none)."""
    return _view(municipality_store.get_municipality(code), with_area=True)


def list_municipalities() -> list[MunicipalityView]:
    """Every municipality's view, without the outlines."""
    return [_view(m) for m in municipality_store.list_municipalities()]
