"""Geohash keys of the geo index and the planning of the Queries that find everyone in a circle.

The geo index holds one item per participant place: partition key `cell` is the place's geohash of
precision 5, sort key `sk` is "<geohash 9>#<participant id>#<label>". Geohash interleaves
longitude and latitude bits (longitude first), so a cell of any *bit* length - not only whole
characters - is one contiguous run of precision-9 geohashes, and the base32 alphabet is in ASCII
order: such a run is one `sk BETWEEN lower AND upper` on its partition. Planning works on integers:
a position is the 45-bit number of its precision-9 geohash, and a cell of n bits runs from
`code << (45 - n)` up to the next cell's start.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

PARTITION_PRECISION = 5
PLACE_PRECISION = 9
DEFAULT_MAX_QUERIES = 64

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere every distance here is measured on

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_PARTITION_BITS = 5 * PARTITION_PRECISION
_PLACE_BITS = 5 * PLACE_PRECISION
_TAIL_BITS = _PLACE_BITS - _PARTITION_BITS  # precision-9 bits below a partition
_UPPER_SENTINEL = "~"  # sorts after every base32 character and after "#"

# A cell may hold a point within the radius unless its nearest point is beyond radius * (1 + REL) +
# ABS; the same margin, inward, decides that a cell is wholly inside. The rectangle-to-point
# distance below is exact on the sphere, so the margin only absorbs floating-point rounding and a
# position read back slightly off the one its key was computed from: cheap insurance, since a
# missed cell is a missed participant while an extra cell only costs reads.
_MARGIN_REL = 0.001
_MARGIN_ABS_M = 2.0

# Edge cells are refined until their longer side is at most radius / _REFINE_DIVISOR: finer cells
# hug the circle more closely, but once the budget of queries forces merges the detail is lost,
# and planning time grows with the number of edge cells (about 4 * divisor of them).
_REFINE_DIVISOR = 64


@dataclass(frozen=True)
class Circle:
    """A target area: centre in WGS84 degrees and radius in metres."""

    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class KeyRange:
    """One DynamoDB Query: partition key and inclusive BETWEEN bounds on the sort key."""

    partition: str
    lower: str
    upper: str


class Located(Protocol):
    """Anything with a participant and a position: a geo-index item as read back."""

    @property
    def participant_id(self) -> str: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


T = TypeVar("T", bound=Located)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points, on the mean-radius sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from the first point to the second, in degrees [0, 360).

    0 is north, 90 east; two equal points give 0.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    y = math.sin(dlon) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlon)
    if x == 0.0 and y == 0.0:
        return 0.0  # the same point: no direction
    return math.degrees(math.atan2(y, x)) % 360.0


def geohash(lat: float, lon: float, precision: int) -> str:
    """The geohash of a position: longitude and latitude halved in turn, midpoints going low.

    Ours rather than geohash2's: the same bisection, bit for bit (a test holds the two equal),
    without shipping an AGPL package and the docutils its metadata drags into the Lambda.
    """
    south, north, west, east = -90.0, 90.0, -180.0, 180.0
    code = 0
    for bit in range(5 * precision):
        code <<= 1
        if bit % 2 == 0:  # geohash starts with longitude
            mid = (west + east) / 2
            if lon > mid:
                code |= 1
                west = mid
            else:
                east = mid
        else:
            mid = (south + north) / 2
            if lat > mid:
                code |= 1
                south = mid
            else:
                north = mid
    return "".join(_BASE32[(code >> (5 * i)) & 31] for i in reversed(range(precision)))


def place_cell(lat: float, lon: float) -> str:
    """The partition key of a place: its geohash of precision 5."""
    return geohash(lat, lon, PARTITION_PRECISION)


def place_sort_key(lat: float, lon: float, participant_id: str, label: str) -> str:
    """The sort key of a place: geohash 9, participant id and label, so Z-order is key order."""
    return f"{geohash(lat, lon, PLACE_PRECISION)}#{participant_id}#{label}"


def plan_queries(circle: Circle, max_queries: int = DEFAULT_MAX_QUERIES) -> list[KeyRange]:
    """The Queries that together return every place within the circle, sorted in key order.

    Cells are refined like an S2 region coverer: a precision-5 cell wholly inside the circle
    stays whole, one crossing the edge is split bit by bit until its cells are small next to the
    radius (precision 9 at most), and cells wholly outside are dropped. Cells touching in Z-order
    are joined; then, while there are more ranges than `max_queries`, the two neighbouring ranges
    of one partition with the smallest gap (in precision-9 cells, so about wasted area) are
    joined. A Query reads one partition, so every partition the circle touches keeps at least one:
    in the Netherlands, past about 14.5 km radius the circle touches more than 64 partitions (a
    20 km circle about 110) and the plan has more Queries than `max_queries`.
    """
    if max_queries < 1:
        raise ValueError("max_queries must be at least 1")
    if not (math.isfinite(circle.radius_m) and circle.radius_m > 0):
        raise ValueError("radius_m must be a positive number of metres")
    if not (-90.0 <= circle.lat <= 90.0 and math.isfinite(circle.lon)):
        raise ValueError("the centre must be a valid latitude and longitude")
    intervals = _touching_joined(_cover(circle))
    budget = max(max_queries, len({start >> _TAIL_BITS for start, _ in intervals}))
    return [_key_range(start, end) for start, end in _budget_joined(intervals, budget)]


def select_recipients(circle: Circle, rows: Iterable[T]) -> list[tuple[float, T]]:
    """The rows within the circle, one per participant (their nearest place), nearest first."""
    nearest: dict[str, tuple[float, T]] = {}
    for row in rows:
        distance = haversine_m(circle.lat, circle.lon, row.lat, row.lon)
        if distance > circle.radius_m:
            continue
        known = nearest.get(row.participant_id)
        if known is None or distance < known[0]:
            nearest[row.participant_id] = (distance, row)
    return sorted(nearest.values(), key=lambda pair: (pair[0], pair[1].participant_id))


class _Distances:
    """Haversine terms between one centre and points or lat/lon rectangles."""

    def __init__(self, circle: Circle) -> None:
        self.lat = circle.lat
        self.lon = circle.lon
        self.phi = math.radians(circle.lat)
        self.cos_phi = math.cos(self.phi)
        self.tan_phi = math.tan(self.phi)
        outer = circle.radius_m * (1 + _MARGIN_REL) + _MARGIN_ABS_M
        inner = circle.radius_m * (1 - _MARGIN_REL) - _MARGIN_ABS_M
        # Compare haversine terms, not distances: monotonic in distance and no asin per corner.
        self.hav_outer = _hav_of_distance(outer)
        self.hav_inner = _hav_of_distance(inner) if inner > 0 else -1.0

    def hav(self, lat: float, dlon: float) -> float:
        """The haversine term between the centre and (lat, centre lon + dlon), both in degrees."""
        phi = math.radians(lat)
        return (
            math.sin((phi - self.phi) / 2) ** 2
            + self.cos_phi * math.cos(phi) * math.sin(math.radians(dlon) / 2) ** 2
        )

    def nearest_hav(self, south: float, north: float, west: float, east: float) -> float:
        """The haversine term to the nearest point of the rectangle (exact on the sphere)."""
        d_west = _wrap(west - self.lon)
        d_east = d_west + (east - west)
        if d_west <= 0.0 <= d_east:
            # Same meridian as the centre: the nearest point is straight north or south.
            if south <= self.lat <= north:
                return 0.0
            edge = south if self.lat < south else north
            return math.sin(math.radians(edge - self.lat) / 2) ** 2
        # Otherwise it lies on the nearer meridian edge, where the great circle from the centre
        # meets it at right angles: poleward of the centre's latitude, then clamped to the cell.
        dlon = d_west if abs(d_west) <= abs(_wrap(d_east)) else _wrap(d_east)
        cos_dlon = math.cos(math.radians(dlon))
        if cos_dlon > 0.0:
            foot = math.degrees(math.atan(self.tan_phi / cos_dlon))
        else:
            foot = math.copysign(90.0, self.lat)
        return self.hav(min(max(foot, south), north), dlon)

    def farthest_hav(self, south: float, north: float, west: float, east: float) -> float:
        """The haversine term to the farthest point of the rectangle: one of its corners."""
        dlon = max(abs(_wrap(west - self.lon)), abs(_wrap(east - self.lon)))
        return max(self.hav(south, dlon), self.hav(north, dlon))


def _hav_of_distance(distance_m: float) -> float:
    return math.sin(min(distance_m / EARTH_RADIUS_M, math.pi) / 2) ** 2


def _wrap(dlon: float) -> float:
    return (dlon + 180.0) % 360.0 - 180.0


def _cover(circle: Circle) -> list[tuple[int, int]]:
    """Inclusive precision-9 intervals of the cells that may hold a point within the circle."""
    dist = _Distances(circle)
    max_bits = _finest_bits(circle)
    covering: list[tuple[int, int]] = []
    # Depth-first over (code, bits, south, north, west, east); sorted into Z-order at the end.
    stack = [(code, _PARTITION_BITS, *bounds) for code, bounds in _partition_cells(circle)]
    while stack:
        code, bits, south, north, west, east = stack.pop()
        if dist.nearest_hav(south, north, west, east) > dist.hav_outer:
            continue
        shift = _PLACE_BITS - bits
        if bits >= max_bits or dist.farthest_hav(south, north, west, east) <= dist.hav_inner:
            covering.append((code << shift, ((code + 1) << shift) - 1))
            continue
        # Bit n+1 halves longitude when n is even (geohash starts with longitude), else latitude;
        # a 1 bit is the upper half, as geohash() files a point on the midpoint in the lower one.
        if bits % 2 == 0:
            mid = (west + east) / 2
            stack.append((code << 1, bits + 1, south, north, west, mid))
            stack.append(((code << 1) | 1, bits + 1, south, north, mid, east))
        else:
            mid = (south + north) / 2
            stack.append((code << 1, bits + 1, south, mid, west, east))
            stack.append(((code << 1) | 1, bits + 1, mid, north, west, east))
    covering.sort()
    return covering


def _finest_bits(circle: Circle) -> int:
    """The bit length at which edge cells are small enough next to the radius."""
    target = circle.radius_m / _REFINE_DIVISOR
    metres_per_degree = math.pi * EARTH_RADIUS_M / 180.0
    cos_lat = max(math.cos(math.radians(circle.lat)), 1e-6)
    for bits in range(_PARTITION_BITS, _PLACE_BITS):
        width = 360.0 / 2 ** ((bits + 1) // 2) * metres_per_degree * cos_lat
        height = 180.0 / 2 ** (bits // 2) * metres_per_degree
        if max(width, height) <= target:
            return bits
    return _PLACE_BITS


def _partition_cells(
    circle: Circle,
) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Every precision-5 cell meeting the circle's lat/lon bounding box, with its bounds."""
    lon_bits, lat_bits = (_PARTITION_BITS + 1) // 2, _PARTITION_BITS // 2
    lon_step, lat_step = 360.0 / 2**lon_bits, 180.0 / 2**lat_bits
    reach = (circle.radius_m * (1 + _MARGIN_REL) + _MARGIN_ABS_M) / EARTH_RADIUS_M  # radians
    south = max(circle.lat - math.degrees(reach), -90.0)
    north = min(circle.lat + math.degrees(reach), 90.0)
    sin_reach, cos_lat = math.sin(min(reach, math.pi / 2)), math.cos(math.radians(circle.lat))
    if reach >= math.pi / 2 or sin_reach >= cos_lat:
        columns = range(2**lon_bits)  # the circle holds a pole: every longitude
    else:
        half_width = math.degrees(math.asin(sin_reach / cos_lat))
        first = math.floor((circle.lon - half_width + 180.0) / lon_step)
        last = math.floor((circle.lon + half_width + 180.0) / lon_step)
        columns = range(first, min(last, first + 2**lon_bits - 1) + 1)
    rows = range(
        max(math.floor((south + 90.0) / lat_step), 0),
        min(math.floor((north + 90.0) / lat_step), 2**lat_bits - 1) + 1,
    )
    cells = []
    for column in columns:
        x = column % 2**lon_bits
        for y in rows:
            bounds = (
                -90.0 + y * lat_step,
                -90.0 + (y + 1) * lat_step,
                -180.0 + x * lon_step,
                -180.0 + (x + 1) * lon_step,
            )
            cells.append((_interleave(x, y, _PARTITION_BITS), bounds))
    return cells


def _interleave(x: int, y: int, bits: int) -> int:
    """The geohash code of longitude index x and latitude index y: lon, lat, lon... from the top."""
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    code = 0
    for k in range(bits):
        bit = x >> (lon_bits - 1 - k // 2) if k % 2 == 0 else y >> (lat_bits - 1 - k // 2)
        code = (code << 1) | (bit & 1)
    return code


def _touching_joined(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted intervals with neighbours in one partition that touch in Z-order made one."""
    joined: list[tuple[int, int]] = []
    for start, end in intervals:
        if (
            joined
            and start == joined[-1][1] + 1
            and start >> _TAIL_BITS == joined[-1][1] >> _TAIL_BITS
        ):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _budget_joined(intervals: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    """The intervals with the smallest same-partition gaps bridged until at most `budget` remain.

    Bridging gaps never changes another gap, so bridging the smallest ones first reads the
    fewest extra cells for the budget; ties go to the earlier gap, so plans are deterministic.
    """
    excess = len(intervals) - budget
    if excess <= 0:
        return intervals
    gaps = [
        (intervals[i + 1][0] - intervals[i][1] - 1, i)
        for i in range(len(intervals) - 1)
        if intervals[i][0] >> _TAIL_BITS == intervals[i + 1][0] >> _TAIL_BITS
    ]
    bridged = {i for _, i in heapq.nsmallest(excess, gaps)}
    joined: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(intervals):
        if i - 1 in bridged:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _key_range(start: int, end: int) -> KeyRange:
    """The Query for precision-9 positions start..end, one partition, with short bounds."""
    lower, upper = _geohash_of(start), _geohash_of(end)
    # "abc" sorts before every "abc0..." and "abc~" after every "abczz...": trailing 0s of the
    # lower bound and trailing zs of the upper bound add nothing, so they are left off.
    lower = lower[:PARTITION_PRECISION] + lower[PARTITION_PRECISION:].rstrip("0")
    upper = upper[:PARTITION_PRECISION] + upper[PARTITION_PRECISION:].rstrip("z")
    return KeyRange(lower[:PARTITION_PRECISION], lower, upper + _UPPER_SENTINEL)


def _geohash_of(position: int) -> str:
    return "".join(
        _BASE32[(position >> (_PLACE_BITS - 5 * (i + 1))) & 31] for i in range(PLACE_PRECISION)
    )
