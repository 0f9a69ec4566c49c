"""Areas as the API takes and gives them: a circle (lat, lon, radius_m), a GeoJSON Polygon, or a
GeoJSON LineString with `buffer_m` (a corridor), checked rule by rule inside the service area."""

from __future__ import annotations

import math
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.geo.rings import first_crossing, ring_area_m2
from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.geo.shapes import Circle, Corridor, Polygon, Shape, ring_contains
from chalicelib.domain.geo.sphere import Ring
from chalicelib.domain.validation import check_fields, is_number, number, required

MIN_RADIUS_M, MAX_RADIUS_M = 100, 20_000
MAX_VERTICES = 500
MIN_BUFFER_M, MAX_BUFFER_M = 50, 2_000
MAX_AREA_M2 = math.pi * MAX_RADIUS_M**2  # a shape may be as large as the largest circle

# The fields each kind of area takes; the OpenAPI schemas are built from the same tuples.
CIRCLE_FIELDS = ("lat", "lon", "radius_m")
POLYGON_FIELDS = ("type", "coordinates")
CORRIDOR_FIELDS = ("type", "coordinates", "buffer_m")


def parse_action_area(value: Any) -> Shape:
    """Validate an area: a circle, or a GeoJSON Polygon or LineString, inside the service area."""
    if not isinstance(value, dict):
        raise InvalidInput(
            "wrong_type",
            "area must be an object: a circle (lat, lon, radius_m), or a GeoJSON Polygon, or a "
            "LineString with buffer_m.",
            "area",
        )
    if "type" in value:
        return _parse_geometry(value)
    check_fields(value, CIRCLE_FIELDS, "area.")
    (lat_lo, lat_hi), (lon_lo, lon_hi) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
    lat = required(value, "lat", "area.")
    lon = required(value, "lon", "area.")
    radius = required(value, "radius_m", "area.")
    for name, coord, (lo, hi) in (("lat", lat, (lat_lo, lat_hi)), ("lon", lon, (lon_lo, lon_hi))):
        if not is_number(coord):
            raise InvalidInput("wrong_type", f"area.{name} must be a number.", f"area.{name}")
        if not lo <= coord <= hi:
            raise InvalidInput(
                "outside_service_area",
                f"area.{name} {coord} is outside the service area (the Netherlands): "
                f"lat {lat_lo}–{lat_hi}, lon {lon_lo}–{lon_hi}.",
                f"area.{name}",
            )
    radius_m = number(radius, "area.radius_m", MIN_RADIUS_M, MAX_RADIUS_M, " m")
    return Circle(lat=float(lat), lon=float(lon), radius_m=radius_m)


def _parse_geometry(value: dict[str, Any]) -> Polygon | Corridor:
    """A GeoJSON Polygon, or a LineString with buffer_m (a corridor), checked rule by rule."""
    kind = value["type"]
    if kind == "Polygon":
        check_fields(value, POLYGON_FIELDS, "area.")
        raw = required(value, "coordinates", "area.")
        if not isinstance(raw, list) or not raw:
            raise _invalid(
                "area.coordinates must be a list of rings: the outer ring, then any holes.",
                "area.coordinates",
            )
        rings = tuple(_ring(ring, f"area.coordinates[{r}]") for r, ring in enumerate(raw))
        vertices = sum(len(ring) - 1 for ring in rings)  # a ring's closing position repeats
        if vertices > MAX_VERTICES:
            raise _invalid(
                f"area has {vertices} vertices; at most {MAX_VERTICES} are allowed (the closing "
                "position of a ring is not counted). Simplify the outline.",
                "area.coordinates",
            )
        _check_rings(rings)
        polygon = Polygon(rings)
        _check_size(polygon.area_m2(), "area encloses")
        return polygon
    if kind == "LineString":
        check_fields(value, CORRIDOR_FIELDS, "area.")
        raw = required(value, "coordinates", "area.")
        if not isinstance(raw, list) or len(raw) < 2:
            raise _invalid(
                "area.coordinates must list at least two [lon, lat] positions along the line.",
                "area.coordinates",
            )
        if len(raw) > MAX_VERTICES:
            raise _invalid(
                f"area has {len(raw)} vertices; at most {MAX_VERTICES} are allowed. Simplify "
                "the line.",
                "area.coordinates",
            )
        line = _positions(raw, "area.coordinates")
        buffer = required(value, "buffer_m", "area.")
        if not is_number(buffer) or not MIN_BUFFER_M <= buffer <= MAX_BUFFER_M:
            raise _invalid(
                f"area.buffer_m is {buffer!r}; it is the distance either side of the line, "
                f"{MIN_BUFFER_M}–{MAX_BUFFER_M} m.",
                "area.buffer_m",
            )
        corridor = Corridor(line, float(buffer))
        _check_size(corridor.area_m2(), "the corridor (2 × buffer_m × length + the ends) covers")
        return corridor
    raise _invalid(
        f"area.type {kind!r} is not an area; use Polygon or LineString (GeoJSON), or give a "
        "circle as lat, lon and radius_m without a type.",
        "area.type",
    )


def _invalid(message: str, field: str) -> InvalidInput:
    return InvalidInput("invalid_area", message, field)


def _positions(raw: list[Any], where: str) -> tuple[tuple[float, float], ...]:
    """[lon, lat] positions inside the service area, none repeating the one before it."""
    (lat_lo, lat_hi), (lon_lo, lon_hi) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
    positions: list[tuple[float, float]] = []
    for i, position in enumerate(raw):
        field = f"{where}[{i}]"
        if not (
            isinstance(position, list) and len(position) == 2 and all(map(is_number, position))
        ):
            raise _invalid(f"{field} must be a position: [lon, lat], two numbers.", field)
        # Compared before float(): an integer like 10**400 is valid JSON and too large for one.
        if not (lon_lo <= position[0] <= lon_hi and lat_lo <= position[1] <= lat_hi):
            raise _invalid(
                f"{field} [{position[0]}, {position[1]}] is outside the service area (the "
                f"Netherlands): lon {lon_lo}–{lon_hi}, lat {lat_lo}–{lat_hi}, in GeoJSON's "
                "[lon, lat] order.",
                field,
            )
        lon, lat = float(position[0]), float(position[1])
        if positions and positions[-1] == (lon, lat):
            raise _invalid(f"{field} repeats the position before it; leave it out.", field)
        positions.append((lon, lat))
    return tuple(positions)


def _ring(raw: Any, where: str) -> Ring:
    """One closed ring of at least three distinct vertices."""
    if not isinstance(raw, list) or len(raw) < 4:
        raise _invalid(
            f"{where} must be a ring: at least four [lon, lat] positions, the last equal to "
            "the first.",
            where,
        )
    ring = _positions(raw, where)
    if ring[0] != ring[-1]:
        raise _invalid(f"{where} is not closed: its last position must equal its first.", where)
    return ring


def _check_rings(rings: tuple[Ring, ...]) -> None:
    """Rings that enclose an area, touch nothing but their own neighbouring edges, holes inside."""
    crossing = first_crossing(rings)
    if crossing is not None:
        (r1, i1), (r2, i2) = crossing
        where = "itself" if r1 == r2 else f"ring {r2}"
        raise _invalid(
            f"area.coordinates[{r1}]: the edge from position {i1} to {i1 + 1} meets {where} at "
            f"the edge from position {i2} to {i2 + 1}; a ring must not cross or touch itself "
            "or another ring.",
            f"area.coordinates[{r1}][{i1}]",
        )
    for r, ring in enumerate(rings):
        if ring_area_m2(ring) < 1.0:  # all its positions on one line
            raise _invalid(f"area.coordinates[{r}] encloses no area.", f"area.coordinates[{r}]")
    outer, holes = rings[0], rings[1:]
    for h, hole in enumerate(holes, start=1):
        if not ring_contains(outer, hole[0]):
            raise _invalid(
                f"area.coordinates[{h}] is a hole outside the outer ring (area.coordinates[0]).",
                f"area.coordinates[{h}]",
            )
        for o, other in enumerate(holes, start=1):
            if o != h and ring_contains(other, hole[0]):
                raise _invalid(
                    f"area.coordinates[{h}] is a hole inside another hole (area.coordinates[{o}]).",
                    f"area.coordinates[{h}]",
                )


def _check_size(area_m2: float, what: str) -> None:
    if area_m2 > MAX_AREA_M2:
        raise _invalid(
            f"{what} {area_m2 / 1e6:,.0f} km²; at most {MAX_AREA_M2 / 1e6:,.0f} km² (a circle of "
            f"{MAX_RADIUS_M // 1000} km) is allowed.",
            "area",
        )


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
