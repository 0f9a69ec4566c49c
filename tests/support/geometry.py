"""Geometry for tests: points at a distance or beside a line, and the query plan run and checked."""

from __future__ import annotations

import itertools
import math

from bench.memory_index import MemoryGeoIndex, PlaceRow
from chalicelib.domain.geo.covering import Coverable
from chalicelib.domain.geo.keys import KeyRange
from chalicelib.domain.geo.planning import DEFAULT_MAX_QUERIES, gather
from chalicelib.domain.geo.sphere import EARTH_RADIUS_M, bearing_deg, haversine_m

BASE32 = set("0123456789bcdefghjkmnpqrstuvwxyz")
Position = tuple[float, float]  # (lon, lat)


def destination(
    lat: float, lon: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """The point at a distance and initial bearing from a start (direct problem, on the sphere)."""
    phi, lam = math.radians(lat), math.radians(lon)
    theta, delta = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), math.degrees(lam2)


def execute(
    area: Coverable, rows: list[PlaceRow], max_queries: int = DEFAULT_MAX_QUERIES
) -> tuple[list[PlaceRow], MemoryGeoIndex[PlaceRow]]:
    """Run both rounds of Queries against an index holding the rows, as targeting runs them."""
    index: MemoryGeoIndex[PlaceRow] = MemoryGeoIndex()
    for row in rows:
        index.add(row)
    return gather(area, index.read, max_queries), index


def assert_well_formed(plan: list[KeyRange]) -> None:
    """Bounds sit in their partition, no range is empty, and ranges are sorted and disjoint."""
    for key_range in plan:
        assert len(key_range.partition) == 5
        assert set(key_range.partition) <= BASE32
        assert key_range.lower.startswith(key_range.partition)
        assert key_range.upper.startswith(key_range.partition)
        assert key_range.upper.endswith("~")
        assert set(key_range.lower) <= BASE32
        assert set(key_range.upper[:-1]) <= BASE32
        assert len(key_range.lower) <= 9 and len(key_range.upper) <= 10
        assert key_range.lower < key_range.upper
    for before, after in itertools.pairwise(plan):
        assert (before.partition, before.lower) < (after.partition, after.lower)
        if before.partition == after.partition:
            assert before.upper < after.lower


def beside_line(a: Position, b: Position, t: float, side: float, metres: float) -> Position:
    """A point `metres` from the great-circle segment a -> b, square to it at fraction t."""
    length = haversine_m(a[1], a[0], b[1], b[0])
    at = destination(a[1], a[0], bearing_deg(a[1], a[0], b[1], b[0]), t * length)
    heading = bearing_deg(*at, b[1], b[0]) + (90 if side > 0 else -90)
    lat, lon = destination(*at, heading, metres)
    return lon, lat
