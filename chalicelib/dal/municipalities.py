"""Municipalities and their areas."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist

from chalicelib.dal.models import Municipality
from chalicelib.dal.records import MunicipalityRecord
from chalicelib.domain.errors import NotFound
from chalicelib.domain.outlines import Outline, from_bytes, municipality_at, to_bytes

AREAS_FRESH_S = 300  # an admin change reaches every warm Lambda within five minutes

# (when read, code and area of each, name of each)
_areas: tuple[float, list[tuple[str, Outline]], dict[str, str]] | None = None


def put_municipality(code: str, name: str, area: Outline) -> Municipality:
    """Create or replace a municipality."""
    min_lon, min_lat, max_lon, max_lat = area.bbox
    record = Municipality(
        code,
        name=name,
        area=to_bytes(area),
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
    )
    record.save()
    forget_areas()
    return record


def get_municipality(code: str) -> Municipality:
    """The municipality with this code, or NotFound."""
    try:
        return Municipality.get(code)
    except DoesNotExist:
        raise NotFound(
            "unknown_municipality", f"There is no municipality {code!r}.", "municipality"
        ) from None


def list_municipalities() -> list[Municipality]:
    """Every municipality, by code."""
    return sorted(Municipality.scan(), key=lambda m: m.code)


def areas() -> list[tuple[str, Outline]]:
    """Every municipality's area (about 340; cached for a few minutes per process)."""
    return _cached()[1]


def name_at(lat: float, lon: float) -> str | None:
    """The name of the municipality around a point, if one is known."""
    _, known, names = _cached()
    code = municipality_at(known, lat, lon)
    return names[code] if code else None


def forget_areas() -> None:
    """Read the areas afresh on next use (tests and the local runner change the tables)."""
    global _areas
    _areas = None


def _cached() -> tuple[float, list[tuple[str, Outline]], dict[str, str]]:
    global _areas
    if _areas is None or time.monotonic() - _areas[0] > AREAS_FRESH_S:
        found = list_municipalities()
        _areas = (
            time.monotonic(),
            [(m.code, from_bytes(m.area)) for m in found],
            {m.code: m.name for m in found},
        )
    return _areas


def bbox(m: MunicipalityRecord) -> list[float]:
    """The municipality's bounding box as [min_lon, min_lat, max_lon, max_lat]."""
    return [float(m.min_lon), float(m.min_lat), float(m.max_lon), float(m.max_lat)]
