"""Municipal outlines: GeoJSON polygons (or a bounding box), stored compactly, and which one a
point lies in."""

from __future__ import annotations

import re
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.geo.shapes import Polygon
from chalicelib.domain.geo.sphere import Position, Ring
from chalicelib.domain.validation import is_number

CBS_CODE = re.compile(r"GM\d{4}")
MAX_VERTICES = 200_000  # parsing bound; what is stored is bounded by to_bytes
LON_RANGE, LAT_RANGE = (-180, 180), (-90, 90)  # degrees, as GeoJSON positions have them
BBOX_MEMBERS = (  # shared with the OpenAPI schema
    ("min_lon", LON_RANGE),
    ("min_lat", LAT_RANGE),
    ("max_lon", LON_RANGE),
    ("max_lat", LAT_RANGE),
)
DECIMALS = 7  # outlines are stored to 1e-7 degree (about 1 cm)
MUNICIPALITY_FIELDS = ("code", "name", "area", "bbox")  # shared with the OpenAPI schema


@dataclass(frozen=True)
class Outline:
    """A municipality's polygons (GeoJSON's, as action areas have them) and their bounding box."""

    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside (holes excluded)."""
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        return any(
            outer.contains(lat, lon) and not any(hole.contains(lat, lon) for hole in holes)
            for outer, *holes in self._rings
        )

    @cached_property
    def _rings(self) -> tuple[tuple[Polygon, ...], ...]:
        # Each ring tested on its own: a point in any hole is outside, however the holes lie.
        return tuple(tuple(Polygon((ring,)) for ring in polygon.rings) for polygon in self.polygons)

    def geojson(self) -> dict[str, Any]:
        """The outline as a GeoJSON MultiPolygon."""
        return {
            "type": "MultiPolygon",
            "coordinates": [
                [[list(p) for p in ring] for ring in poly.rings] for poly in self.polygons
            ],
        }


def check_code(code: Any, field: str = "code") -> str:
    """A CBS municipality code: GM followed by four digits."""
    if not isinstance(code, str) or not CBS_CODE.fullmatch(code):
        raise InvalidInput(
            "invalid_municipality_code",
            "A municipality code is GM followed by four digits, e.g. GM0344.",
            field,
        )
    return code


def parse_outline(area: Any = None, bbox: Any = None) -> Outline:
    """An Outline from a GeoJSON Polygon or MultiPolygon, or from a bounding box."""
    if (area is None) == (bbox is None):
        raise InvalidInput(
            "missing_field", "Give either area (a GeoJSON Polygon or MultiPolygon) or bbox.", "area"
        )
    if bbox is not None:
        return _from_bbox(bbox)
    if not isinstance(area, dict) or area.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            "invalid_area",
            "area must be a GeoJSON geometry of type Polygon or MultiPolygon.",
            "area",
        )
    coordinates = area.get("coordinates")
    raw = [coordinates] if area["type"] == "Polygon" else coordinates
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("invalid_area", "area.coordinates is empty or not a list.", "area")
    polygons = tuple(_polygon(p) for p in raw)
    if sum(len(ring) for poly in polygons for ring in poly.rings) > MAX_VERTICES:
        raise InvalidInput(
            "invalid_area", f"area has more than {MAX_VERTICES} vertices; simplify it.", "area"
        )
    return Outline(polygons, _bounds(polygons))


def _bounds(polygons: Sequence[Polygon]) -> tuple[float, float, float, float]:
    points = [
        p for polygon in polygons for p in polygon.rings[0]
    ]  # holes lie inside the outer ring
    return (
        min(p[0] for p in points),
        min(p[1] for p in points),
        max(p[0] for p in points),
        max(p[1] for p in points),
    )


def _from_bbox(bbox: Any) -> Outline:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) for v in bbox)):
        raise InvalidInput(
            "invalid_area", "bbox must be [min_lon, min_lat, max_lon, max_lat] in degrees.", "bbox"
        )
    for i, (value, (name, (low, high))) in enumerate(zip(bbox, BBOX_MEMBERS, strict=True)):
        # Compared before float(): 10**400 is valid JSON and too large for one, and 1e300 would
        # overflow the stored integers.
        if not low <= value <= high:
            raise InvalidInput(
                "out_of_range",
                f"bbox[{i}] ({name}) is {_shown(value)}; allowed is {low} to {high} degrees.",
                "bbox",
            )
    min_lon, min_lat, max_lon, max_lat = (round(float(v), DECIMALS) for v in bbox)
    if not (min_lon < max_lon and min_lat < max_lat):
        raise InvalidInput(
            "invalid_area",
            f"bbox minimums must be below its maximums (to 1e-{DECIMALS} degree, the precision "
            "outlines are stored with).",
            "bbox",
        )
    ring = ((min_lon, min_lat), (max_lon, min_lat), (max_lon, max_lat), (min_lon, max_lat))
    return Outline((Polygon(((*ring, ring[0]),)),), (min_lon, min_lat, max_lon, max_lat))


def _shown(value: float) -> str:
    """A number as a message can show it: a 400-digit integer is cut short."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} digits)"


def _polygon(raw: Any) -> Polygon:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("invalid_area", "Each polygon must be a list of rings.", "area")
    return Polygon(tuple(_ring(r) for r in raw))


def _ring(raw: Any) -> Ring:
    if not isinstance(raw, list) or len(raw) < 4:
        raise InvalidInput(
            "invalid_area", "Each ring needs at least four [lon, lat] positions, closed.", "area"
        )
    ring: list[Position] = []
    for position in raw:
        if not (
            isinstance(position, list) and len(position) >= 2 and all(map(is_number, position[:2]))
        ):
            raise InvalidInput("invalid_area", "Positions must be [lon, lat] numbers.", "area")
        lon, lat = position[0], position[1]
        # Compared before float(), as in _from_bbox; rounded as stored, so what is read back
        # (and the bbox kept beside it) is what was taken.
        (lon_lo, lon_hi), (lat_lo, lat_hi) = LON_RANGE, LAT_RANGE
        if not (lon_lo <= lon <= lon_hi and lat_lo <= lat <= lat_hi):
            raise InvalidInput(
                "invalid_area",
                f"Positions must be [lon, lat] in degrees: lon {lon_lo} to {lon_hi}, "
                f"lat {lat_lo} to {lat_hi}.",
                "area",
            )
        ring.append((round(float(lon), DECIMALS), round(float(lat), DECIMALS)))
    if ring[0] != ring[-1]:
        raise InvalidInput("invalid_area", "Each ring must end where it starts.", "area")
    return tuple(ring)


SCALE = 10**DECIMALS
MAX_STORED_BYTES = 350_000  # a DynamoDB item holds 400 KB


def to_bytes(outline: Outline) -> bytes:
    """A compact encoding: rings as zlib-compressed deltas of 1e-7 degree integers.

    A 40,000-vertex outline is about 1 MB of GeoJSON and a tenth of that here; an outline too
    detailed even so is refused with advice to simplify it.
    """
    numbers = array("q", [len(outline.polygons)])
    for polygon in outline.polygons:
        numbers.append(len(polygon.rings))
        for ring in polygon.rings:
            numbers.append(len(ring))
            last_x = last_y = 0
            for lon, lat in ring:
                x, y = round(lon * SCALE), round(lat * SCALE)
                numbers.extend((x - last_x, y - last_y))
                last_x, last_y = x, y
    data = zlib.compress(numbers.tobytes(), 9)
    if len(data) > MAX_STORED_BYTES:
        raise InvalidInput(
            "area_too_detailed",
            "The outline is too detailed to store; simplify it (a 5 m tolerance is plenty).",
            "area",
        )
    return data


def from_bytes(data: bytes) -> Outline:
    """The inverse of to_bytes."""
    numbers = array("q")
    numbers.frombytes(zlib.decompress(data))
    values = iter(numbers)
    polygons: list[Polygon] = []
    for _ in range(next(values)):
        rings: list[Ring] = []
        for _ in range(next(values)):
            ring: list[Position] = []
            x = y = 0
            for _ in range(next(values)):
                x += next(values)
                y += next(values)
                ring.append((round(x / SCALE, DECIMALS), round(y / SCALE, DECIMALS)))
            rings.append(tuple(ring))
        polygons.append(Polygon(tuple(rings)))
    return Outline(tuple(polygons), _bounds(polygons))


def municipality_at(outlines: Sequence[tuple[str, Outline]], lat: float, lon: float) -> str | None:
    """The code of the first municipality whose outline holds the point, if any."""
    return next((code for code, outline in outlines if outline.contains(lat, lon)), None)
