"""Action areas in the OpenAPI document: a circle, a GeoJSON Polygon, a corridor."""

from __future__ import annotations

from chalicelib.domain.geo import geojson as area_rules
from chalicelib.handlers.openapi.common import LAT, LON, Schema, ref, request_object


def schemas() -> dict[str, Schema]:
    """The three kinds of area, and `Area`: any one of them."""
    circle = request_object(
        area_rules.CIRCLE_FIELDS,
        {
            "lat": LAT,
            "lon": LON,
            "radius_m": {
                "type": "number",
                "minimum": area_rules.MIN_RADIUS_M,
                "maximum": area_rules.MAX_RADIUS_M,
            },
        },
        ("lat", "lon", "radius_m"),
    )
    position = {
        "type": "array",
        "description": "[lon, lat], GeoJSON's order.",
        "prefixItems": [LON, LAT],
        "minItems": 2,
        "maxItems": 2,
    }
    polygon = request_object(
        area_rules.POLYGON_FIELDS,
        {
            "type": {"type": "string", "const": "Polygon"},
            "coordinates": {
                "type": "array",
                "description": "The outer ring, then any holes. Each ring is closed (its last "
                "position equals its first) and crosses or touches neither itself nor another "
                f"ring; either winding order. At most {area_rules.MAX_VERTICES} vertices in all, "
                "enclosing at most the area of the largest circle.",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "minItems": 4,
                    "maxItems": area_rules.MAX_VERTICES + 1,
                    "items": position,
                },
            },
        },
        ("type", "coordinates"),
    )
    corridor = request_object(
        area_rules.CORRIDOR_FIELDS,
        {
            "type": {"type": "string", "const": "LineString"},
            "coordinates": {
                "type": "array",
                "description": "The line: a road, a river.",
                "minItems": 2,
                "maxItems": area_rules.MAX_VERTICES,
                "items": position,
            },
            "buffer_m": {
                "type": "number",
                "description": "Everyone within this distance of the line, either side.",
                "minimum": area_rules.MIN_BUFFER_M,
                "maximum": area_rules.MAX_BUFFER_M,
            },
        },
        ("type", "coordinates", "buffer_m"),
    )
    return {
        "Circle": circle,
        "Polygon": polygon,
        "Corridor": corridor,
        "Area": {
            "description": "A circle, a GeoJSON Polygon, or a corridor: a GeoJSON LineString "
            "with `buffer_m`. `invalid_area` says which rule a shape breaks, and where.",
            "oneOf": [ref("Circle"), ref("Polygon"), ref("Corridor")],
        },
    }
