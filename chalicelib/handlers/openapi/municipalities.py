"""The municipality admin routes in the OpenAPI document."""

from __future__ import annotations

from chalicelib.domain.outlines import BBOX_MEMBERS, MUNICIPALITY_FIELDS
from chalicelib.domain.validation import READABLE_PATTERN, READABLE_RULE
from chalicelib.handlers.openapi.common import (
    IAM,
    Schema,
    json_answer,
    obj,
    op,
    path_parameter,
    ref,
    request_object,
)


def schemas() -> dict[str, Schema]:
    """A municipality as answered, and as posted."""
    return {
        "Municipality": {
            "type": "object",
            "required": ["code", "name", "bbox"],
            "properties": {
                "code": {"type": "string", "pattern": "^GM[0-9]{4}$"},
                "name": {"type": "string"},
                "bbox": {"type": "array", "items": {"type": "number"}},
                "area": {"type": "object", "description": "A GeoJSON MultiPolygon."},
            },
        },
        "MunicipalityRequest": {
            # Exactly one of them: the validator refuses both, and neither.
            "oneOf": [{"required": ["area"]}, {"required": ["bbox"]}],
            **request_object(
                MUNICIPALITY_FIELDS,
                {
                    "code": {"type": "string", "pattern": "^GM[0-9]{4}$"},
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 100,
                        "pattern": READABLE_PATTERN,  # it becomes actions' public place
                        "description": f"The municipality's name. Text: {READABLE_RULE}.",
                    },
                    "area": {
                        "type": "object",
                        "description": "A GeoJSON Polygon or MultiPolygon (give area or bbox).",
                        "properties": {
                            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                            "coordinates": {"type": "array"},
                        },
                        "required": ["type", "coordinates"],
                    },
                    "bbox": {
                        "type": "array",
                        "description": "[min_lon, min_lat, max_lon, max_lat] in degrees (give area "
                        "or bbox).",
                        "prefixItems": [
                            {"type": "number", "minimum": low, "maximum": high}
                            for _, (low, high) in BBOX_MEMBERS
                        ],
                        "items": False,
                        "minItems": 4,
                    },
                },
                ("code", "name"),
            ),
        },
    }


def paths() -> dict[str, Schema]:
    """Create or replace, list and read municipalities."""
    return {
        "/municipalities": {
            "post": op(
                "Create or replace a municipality with its area",
                {"201": json_answer(ref("Municipality"), "Stored, with its area.")},
                security=IAM,
                body=ref("MunicipalityRequest"),
            ),
            "get": op(
                "Every municipality, without outlines",
                {
                    "200": json_answer(
                        obj(
                            {"municipalities": {"type": "array", "items": ref("Municipality")}},
                            ("municipalities",),
                        ),
                        "The municipalities.",
                    )
                },
                security=IAM,
            ),
        },
        "/municipalities/{code}": {
            "get": op(
                "One municipality, with its area",
                {"200": json_answer(ref("Municipality"), "The municipality.")},
                security=IAM,
                parameters=[path_parameter("code", "CBS code, GM + 4 digits.")],
            )
        },
    }
