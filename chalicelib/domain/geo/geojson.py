"""Areas as the API takes and gives them: GeoJSON geometries, a corridor's with `buffer_m`."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.geo.shapes import Corridor, Polygon


def to_geojson(shape: Polygon | Corridor) -> dict[str, Any]:
    """The shape as the API takes and gives it: a GeoJSON geometry (with `buffer_m`)."""
    if isinstance(shape, Polygon):
        return {
            "type": "Polygon",
            "coordinates": [[list(position) for position in ring] for ring in shape.rings],
        }
    return {
        "type": "LineString",
        "coordinates": [list(position) for position in shape.line],
        "buffer_m": shape.buffer_m,
    }


def from_geojson(geometry: dict[str, Any]) -> Polygon | Corridor:
    """The shape of a geometry `to_geojson` wrote (stored, so not checked again)."""
    if geometry["type"] == "Polygon":
        return Polygon(
            tuple(
                tuple((float(p[0]), float(p[1])) for p in ring) for ring in geometry["coordinates"]
            )
        )
    return Corridor(
        tuple((float(p[0]), float(p[1])) for p in geometry["coordinates"]),
        float(geometry["buffer_m"]),
    )
