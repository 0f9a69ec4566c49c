"""Geohash keys of the geo index, and planning the Queries that find everyone in an area.

The geo index holds one item per participant place: partition key `cell` is the place's geohash of
precision 5, sort key `sk` is "<geohash 9>#<participant id>#<label>". Geohash interleaves
longitude and latitude bits (longitude first), so a cell of any *bit* length - not only whole
characters - is one contiguous run of precision-9 geohashes, and the base32 alphabet is in ASCII
order: such a run is one `sk BETWEEN lower AND upper` on its partition. Planning works on integers:
a position is the 45-bit number of its precision-9 geohash, and a cell of n bits runs from
`code << (45 - n)` up to the next cell's start.

An area is anything `Coverable`: the circle here, polygons and corridors in `shapes`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

PARTITION_PRECISION = 5
PLACE_PRECISION = 9
DEFAULT_MAX_QUERIES = 64

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere every distance here is measured on
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0

# What a Query costs (eventually consistent): half a read unit per started 4 KB of the items it
# returns, and half a unit even when it returns nothing.
READ_UNIT_BYTES = 4096
QUERY_UNITS = 0.5
# A geo-index item as DynamoDB sizes it (attribute names plus values) with a UUID participant id,
# a mobile number and a position to 1 cm: 175 bytes, measured from the Place model by
# tests/unit/test_geo.py. Planning only estimates with it; nothing depends on it exactly.
PLACE_ITEM_BYTES = 180
# A first-round Query stops after what one read unit holds: a sparse area is then read in one
# cheap Query per range, and a dense one has told us its density for the price of one unit.
PROBE_ITEMS = READ_UNIT_BYTES // PLACE_ITEM_BYTES
# The first round's ranges may cover this many times the area's own (the gaps they bridge plus
# the cells along the edge): places read / places inside is bounded by 1.5, and places are not
# spread quite evenly. In a sparse area this bound, not the price of reading, sets how few
# Queries will do: every one it saves is half a read unit.
PROBE_AMPLIFICATION = 1.45

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_PARTITION_BITS = 5 * PARTITION_PRECISION
_PLACE_BITS = 5 * PLACE_PRECISION
_TAIL_BITS = _PLACE_BITS - _PARTITION_BITS  # precision-9 bits below a partition
_UPPER_SENTINEL = "~"  # sorts after every base32 character and after "#"

# A cell may hold a point of the area unless it lies beyond the edge by more than REL of the size
# (radius, buffer) plus ABS; the same margin, inward, decides that a cell is wholly inside. The
# tests of cells are exact, so the margin only absorbs floating-point rounding and a position read
# back slightly off the one its key was computed from: cheap insurance, since a missed cell is a
# missed participant while an extra cell only costs reads.
EDGE_MARGIN_REL = 0.001
EDGE_MARGIN_M = 2.0

# Edge cells are refined until their longer side is at most the area's `detail_m`: a circle's
# radius / 64. Finer cells hug the edge more closely; planning time grows with the number of edge
# cells (about 4 * 64 of them for a circle), and the ranges' merging decides what is worth reading.
_REFINE_DIVISOR = 64

Box = tuple[float, float, float, float]  # south, north, west, east in degrees


class Fit(Enum):
    """Where a cell lies with respect to an area."""

    OUTSIDE = "outside"
    INSIDE = "inside"
    EDGE = "edge"


class Fitter(Protocol):
    """Tells where a cell lies; `fit` also returns the fitter for the cell's own children."""

    def fit(self, box: Box) -> tuple[Fit, Fitter]: ...


class Coverable(Protocol):
    """An area the covering can plan Queries for and select recipients in."""

    def bounds(self) -> Box:
        """A lat/lon box holding every point of the area, margin included."""
        ...

    def area_m2(self) -> float:
        """The area's size in square metres (an estimate is enough: it sizes reads)."""
        ...

    def detail_m(self) -> float:
        """The size edge cells are refined to."""
        ...

    def fitter(self) -> Fitter:
        """The fitter for the partition cells."""
        ...

    def locate(self, lat: float, lon: float) -> float | None:
        """The distance recipients are ordered by, for a point in the area; None outside it."""
        ...


@dataclass(frozen=True)
class Circle:
    """A target area: centre in WGS84 degrees and radius in metres."""

    lat: float
    lon: float
    radius_m: float

    @property
    def centre(self) -> tuple[float, float]:
        """The centre, (lat, lon)."""
        return self.lat, self.lon

    def locate(self, lat: float, lon: float) -> float | None:
        """The distance from the centre, for a point within the radius."""
        distance = haversine_m(self.lat, self.lon, lat, lon)
        return distance if distance <= self.radius_m else None

    def area_m2(self) -> float:
        """The spherical cap's area."""
        return 2 * math.pi * EARTH_RADIUS_M**2 * (1 - math.cos(self.radius_m / EARTH_RADIUS_M))

    def detail_m(self) -> float:
        """Edge cells of radius / 64."""
        return self.radius_m / _REFINE_DIVISOR

    def fitter(self) -> Fitter:
        """The exact rectangle-to-centre distances."""
        return _Distances(self)

    def bounds(self) -> Box:
        """The latitude band the circle spans, and its longitudes (all of them if it holds a pole).

        West and east may pass ±180 for a circle across the antimeridian; cells wrap.
        """
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError("radius_m must be a positive number of metres")
        if not (-90.0 <= self.lat <= 90.0 and math.isfinite(self.lon)):
            raise ValueError("the centre must be a valid latitude and longitude")
        reach = (self.radius_m * (1 + EDGE_MARGIN_REL) + EDGE_MARGIN_M) / EARTH_RADIUS_M  # rad
        south = max(self.lat - math.degrees(reach), -90.0)
        north = min(self.lat + math.degrees(reach), 90.0)
        sin_reach, cos_lat = math.sin(min(reach, math.pi / 2)), math.cos(math.radians(self.lat))
        if reach >= math.pi / 2 or sin_reach >= cos_lat:
            return south, north, -180.0, 180.0
        half_width = math.degrees(math.asin(sin_reach / cos_lat))
        return south, north, self.lon - half_width, self.lon + half_width


@dataclass(frozen=True)
class KeyRange:
    """One DynamoDB Query: partition key and inclusive BETWEEN bounds on the sort key.

    `limit` stops it after that many items (a first-round Query); `after` starts it after the
    item with that sort key (DynamoDB's ExclusiveStartKey), where a first-round Query stopped.
    """

    partition: str
    lower: str
    upper: str
    limit: int | None = None
    after: str | None = None


@dataclass(frozen=True)
class Stop:
    """A first-round Query that reached its limit: which one, its last sort key, items read."""

    probe: int
    last_key: str
    items: int


class Located(Protocol):
    """Anything with a participant and a position: a geo-index item as read back."""

    @property
    def participant_id(self) -> str: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


T = TypeVar("T", bound=Located)
Interval = tuple[int, int]  # inclusive precision-9 positions


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


@dataclass(frozen=True)
class Plan:
    """The first round of Queries (`probes`), and what planning the second round needs.

    Each probe spans one or more of the covering's intervals of one partition, read with a limit
    of PROBE_ITEMS. A probe that ends within its limit has read everything of its span; one that
    stops has measured the density of its places, and `rest` plans what is left of it by cost.
    """

    probes: tuple[KeyRange, ...]
    spans: tuple[tuple[Interval, ...], ...]  # per probe, the covering's intervals it spans
    max_queries: int

    def rest(self, stops: Sequence[Stop]) -> list[KeyRange]:
        """The second round: what the stopped probes left unread, in ranges chosen by cost.

        A probe read `items` places from its start to its last key, so its span holds about
        items / positions per position. Neighbouring ranges are joined where reading the gap
        between them is expected to cost less than a Query of its own; then, while the two
        rounds together would exceed `max_queries`, the gaps expected to hold fewest places are
        bridged too (never below one Query per stopped probe with something left).
        """
        pieces: list[tuple[int, int, str | None]] = []  # start, end, resume-after key
        density: list[float] = []  # places per position, per piece
        probe_of: list[int] = []
        for stop in stops:
            span = self.spans[stop.probe]
            last = _position(stop.last_key)
            per_position = stop.items / (last - span[0][0] + 1)
            for start, end in span:
                if end < last:
                    continue
                # Items at the last key's own position may follow it: resume after that item.
                piece = (last, end, stop.last_key) if start <= last else (start, end, None)
                pieces.append(piece)
                density.append(per_position)
                probe_of.append(stop.probe)
        if not pieces:
            return []
        joined = _Joins([(start, end) for start, end, _ in pieces], density)
        gaps = [i for i in range(len(pieces) - 1) if probe_of[i] == probe_of[i + 1]]
        for i in sorted(gaps, key=joined.gap_places):
            joined.join_if_cheaper(i)
        budget = max(self.max_queries - len(self.probes), len(set(probe_of)))
        for i in sorted((i for i in gaps if not joined.joined(i)), key=joined.gap_places):
            if joined.count <= budget:
                break
            joined.join(i)
        return [
            _key_range(pieces[first][0], pieces[last][1], after=pieces[first][2])
            for first, last in joined.groups()
        ]


def plan_queries(area: Coverable, max_queries: int = DEFAULT_MAX_QUERIES) -> Plan:
    """The first round of Queries for an area: every place in it lies in one of their spans.

    Cells are refined like an S2 region coverer: a precision-5 cell wholly inside the area
    stays whole, one crossing the edge is split bit by bit until its cells are small next to the
    area (precision 9 at most), and cells wholly outside are dropped. Cells touching in Z-order
    are joined. Then the smallest gaps between ranges of one partition are bridged while the
    ranges cover at most PROBE_AMPLIFICATION times the area: the fewest Queries at that bound,
    which is what a sparse area costs least with. While there are more than half `max_queries`
    ranges, more gaps are bridged (so the second round has room). A Query reads one partition,
    so every partition the area touches keeps at least one: in the Netherlands, past about 14.5
    km radius a circle touches more than 64 partitions (a 20 km circle about 110), and then the
    probes read everything at once, as there is no room left for a second round.

    Both rounds together make at most `max_queries` Queries, or up to two per partition for an
    area touching more than half that many partitions.
    """
    if max_queries < 1:
        raise ValueError("max_queries must be at least 1")
    intervals = _touching_joined(_cover(area))
    partitions = len({start >> _TAIL_BITS for start, _ in intervals})
    south, north, _, _ = area.bounds()
    allowance = PROBE_AMPLIFICATION * area.area_m2() / _position_m2((south + north) / 2) - sum(
        end - start + 1 for start, end in intervals
    )
    spans = _probe_spans(intervals, allowance, max(max_queries // 2, partitions))
    # With no Queries left for a second round, stopping a probe early would only split it in two.
    limit = PROBE_ITEMS if len(spans) < max_queries else None
    return Plan(
        tuple(_key_range(span[0][0], span[-1][1], limit=limit) for span in spans),
        tuple(tuple(span) for span in spans),
        max_queries,
    )


def gather(
    area: Coverable,
    read: Callable[[Sequence[KeyRange]], Sequence[tuple[Sequence[T], str | None]]],
    max_queries: int = DEFAULT_MAX_QUERIES,
) -> list[T]:
    """Every row the two rounds of Queries return for the area.

    `read` runs a batch of Queries and answers, for each, its items and - for a Query that
    stopped at its limit - the sort key of its last item (None when it read everything).
    """
    plan = plan_queries(area, max_queries)
    rows: list[T] = []
    stops: list[Stop] = []
    for probe, (items, last_key) in enumerate(read(plan.probes)):
        rows.extend(items)
        if last_key is not None:
            stops.append(Stop(probe, last_key, len(items)))
    rest = plan.rest(stops)
    if rest:
        for items, _ in read(rest):
            rows.extend(items)
    return rows


def select_recipients(area: Coverable, rows: Iterable[T]) -> list[tuple[float, T]]:
    """The rows within the area, one per participant (their nearest place), nearest first.

    Nearest means by the area's own distance: to a circle's centre, a polygon's centroid, or a
    corridor's line.
    """
    nearest: dict[str, tuple[float, T]] = {}
    for row in rows:
        distance = area.locate(row.lat, row.lon)
        if distance is None:
            continue
        known = nearest.get(row.participant_id)
        if known is None or distance < known[0]:
            nearest[row.participant_id] = (distance, row)
    return sorted(nearest.values(), key=lambda pair: (pair[0], pair[1].participant_id))


def query_units(items: int, item_bytes: int = PLACE_ITEM_BYTES) -> float:
    """Read units one Query returning this many items costs (eventually consistent)."""
    return max(1, math.ceil(items * item_bytes / READ_UNIT_BYTES)) * QUERY_UNITS


class _Distances:
    """Haversine terms between a circle's centre and points or lat/lon rectangles."""

    def __init__(self, circle: Circle) -> None:
        self.lat = circle.lat
        self.lon = circle.lon
        self.phi = math.radians(circle.lat)
        self.cos_phi = math.cos(self.phi)
        self.tan_phi = math.tan(self.phi)
        outer = circle.radius_m * (1 + EDGE_MARGIN_REL) + EDGE_MARGIN_M
        inner = circle.radius_m * (1 - EDGE_MARGIN_REL) - EDGE_MARGIN_M
        # Compare haversine terms, not distances: monotonic in distance and no asin per corner.
        self.hav_outer = _hav_of_distance(outer)
        self.hav_inner = _hav_of_distance(inner) if inner > 0 else -1.0

    def fit(self, box: Box) -> tuple[Fit, Fitter]:
        """Outside if even the nearest point is beyond the radius, inside if the farthest is not."""
        if self.nearest_hav(*box) > self.hav_outer:
            return Fit.OUTSIDE, self
        if self.farthest_hav(*box) <= self.hav_inner:
            return Fit.INSIDE, self
        return Fit.EDGE, self

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


class _Joins:
    """Pieces of the second round joined into Queries: contiguous groups, by union of neighbours."""

    def __init__(self, pieces: list[Interval], density: list[float]) -> None:
        self.pieces = pieces
        self.density = density
        self.first = list(range(len(pieces)))  # per piece: the first piece of its group
        self.last = list(range(len(pieces)))  # per first piece: the last piece of its group
        self.count = len(pieces)

    def gap_places(self, i: int) -> float:
        """Places expected between piece i and the next."""
        return (self.pieces[i + 1][0] - self.pieces[i][1] - 1) * self.density[i]

    def joined(self, i: int) -> bool:
        """Whether piece i and the next are read by one Query."""
        return self._head(i) == self._head(i + 1)

    def join_if_cheaper(self, i: int) -> None:
        """Join the groups either side of gap i if one Query for both is expected to cost less."""
        left, right = self._head(i), self._head(i + 1)
        apart = self._units(left, self.last[left]) + self._units(right, self.last[right])
        if self._units(left, self.last[right]) <= apart:
            self.join(i)

    def join(self, i: int) -> None:
        """Read the groups either side of gap i with one Query."""
        left, right = self._head(i), self._head(i + 1)
        self.first[right] = left
        self.last[left] = self.last[right]
        self.count -= 1

    def groups(self) -> list[tuple[int, int]]:
        """(first piece, last piece) of every group, in key order."""
        heads = sorted({self._head(i) for i in range(len(self.pieces))})
        return [(head, self.last[head]) for head in heads]

    def _head(self, i: int) -> int:
        while self.first[i] != i:
            self.first[i] = self.first[self.first[i]]
            i = self.first[i]
        return i

    def _units(self, first: int, last: int) -> float:
        # Expected cost: each started 4 KB is a half unit, so rounding up costs half of one on
        # average; a Query costs at least one half unit.
        positions = self.pieces[last][1] - self.pieces[first][0] + 1
        size = positions * self.density[first] * PLACE_ITEM_BYTES
        return max(1.0, size / READ_UNIT_BYTES + 0.5)


def _hav_of_distance(distance_m: float) -> float:
    return math.sin(min(distance_m / EARTH_RADIUS_M, math.pi) / 2) ** 2


def _wrap(dlon: float) -> float:
    return (dlon + 180.0) % 360.0 - 180.0


def _cover(area: Coverable) -> list[Interval]:
    """Inclusive precision-9 intervals of the cells that may hold a point of the area."""
    south, north, west, east = area.bounds()
    max_bits = _finest_bits(area.detail_m(), (south + north) / 2)
    root = area.fitter()
    covering: list[Interval] = []
    # Depth-first over (code, bits, box, fitter); sorted into Z-order at the end.
    stack = [(code, _PARTITION_BITS, box, root) for code, box in _partition_cells(area.bounds())]
    while stack:
        code, bits, box, fitter = stack.pop()
        fit, fitter = fitter.fit(box)
        if fit is Fit.OUTSIDE:
            continue
        shift = _PLACE_BITS - bits
        if bits >= max_bits or fit is Fit.INSIDE:
            covering.append((code << shift, ((code + 1) << shift) - 1))
            continue
        # Bit n+1 halves longitude when n is even (geohash starts with longitude), else latitude;
        # a 1 bit is the upper half, as geohash() files a point on the midpoint in the lower one.
        south, north, west, east = box
        if bits % 2 == 0:
            mid = (west + east) / 2
            stack.append((code << 1, bits + 1, (south, north, west, mid), fitter))
            stack.append(((code << 1) | 1, bits + 1, (south, north, mid, east), fitter))
        else:
            mid = (south + north) / 2
            stack.append((code << 1, bits + 1, (south, mid, west, east), fitter))
            stack.append(((code << 1) | 1, bits + 1, (mid, north, west, east), fitter))
    covering.sort()
    return covering


def _finest_bits(detail_m: float, lat: float) -> int:
    """The bit length at which edge cells are at most `detail_m` on their longer side."""
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    for bits in range(_PARTITION_BITS, _PLACE_BITS):
        width = 360.0 / 2 ** ((bits + 1) // 2) * METRES_PER_DEGREE * cos_lat
        height = 180.0 / 2 ** (bits // 2) * METRES_PER_DEGREE
        if max(width, height) <= detail_m:
            return bits
    return _PLACE_BITS


def _position_m2(lat: float) -> float:
    """The area of one precision-9 cell at this latitude."""
    width = 360.0 / 2.0 ** ((_PLACE_BITS + 1) // 2) * METRES_PER_DEGREE
    height = 180.0 / 2.0 ** (_PLACE_BITS // 2) * METRES_PER_DEGREE
    return width * height * math.cos(math.radians(lat))


def _partition_cells(bounds: Box) -> list[tuple[int, Box]]:
    """Every precision-5 cell meeting the lat/lon box, with its own box."""
    south, north, west, east = bounds
    lon_bits, lat_bits = (_PARTITION_BITS + 1) // 2, _PARTITION_BITS // 2
    lon_step, lat_step = 360.0 / 2**lon_bits, 180.0 / 2**lat_bits
    first = math.floor((west + 180.0) / lon_step)
    last = math.floor((east + 180.0) / lon_step)
    columns = range(first, min(last, first + 2**lon_bits - 1) + 1)
    rows = range(
        max(math.floor((south + 90.0) / lat_step), 0),
        min(math.floor((north + 90.0) / lat_step), 2**lat_bits - 1) + 1,
    )
    cells = []
    for column in columns:
        x = column % 2**lon_bits
        for y in rows:
            box = (
                -90.0 + y * lat_step,
                -90.0 + (y + 1) * lat_step,
                -180.0 + x * lon_step,
                -180.0 + (x + 1) * lon_step,
            )
            cells.append((_interleave(x, y, _PARTITION_BITS), box))
    return cells


def _interleave(x: int, y: int, bits: int) -> int:
    """The geohash code of longitude index x and latitude index y: lon, lat, lon... from the top."""
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    code = 0
    for k in range(bits):
        bit = x >> (lon_bits - 1 - k // 2) if k % 2 == 0 else y >> (lat_bits - 1 - k // 2)
        code = (code << 1) | (bit & 1)
    return code


def _touching_joined(intervals: list[Interval]) -> list[Interval]:
    """Sorted intervals with neighbours in one partition that touch in Z-order made one."""
    joined: list[Interval] = []
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


def _probe_spans(intervals: list[Interval], allowance: float, cap: int) -> list[list[Interval]]:
    """The intervals grouped into probes: smallest gaps bridged within the allowance (positions).

    Bridging gaps never changes another gap, so bridging the smallest ones first makes the
    fewest ranges for the area read; past the allowance, gaps are still bridged while there are
    more than `cap` ranges. Ties go to the earlier gap, so plans are deterministic.
    """
    gaps = sorted(
        (intervals[i + 1][0] - intervals[i][1] - 1, i)
        for i in range(len(intervals) - 1)
        if intervals[i][0] >> _TAIL_BITS == intervals[i + 1][0] >> _TAIL_BITS
    )
    within = 0
    for size, _ in gaps:
        if size > allowance:
            break
        allowance -= size
        within += 1
    bridged = {i for _, i in heapq.nsmallest(max(within, len(intervals) - cap), gaps)}
    spans: list[list[Interval]] = []
    for i, interval in enumerate(intervals):
        if i - 1 in bridged:
            spans[-1].append(interval)
        else:
            spans.append([interval])
    return spans


def _key_range(
    start: int, end: int, limit: int | None = None, after: str | None = None
) -> KeyRange:
    """The Query for precision-9 positions start..end, one partition, with short bounds."""
    lower, upper = _geohash_of(start), _geohash_of(end)
    # "abc" sorts before every "abc0..." and "abc~" after every "abczz...": trailing 0s of the
    # lower bound and trailing zs of the upper bound add nothing, so they are left off.
    lower = lower[:PARTITION_PRECISION] + lower[PARTITION_PRECISION:].rstrip("0")
    upper = upper[:PARTITION_PRECISION] + upper[PARTITION_PRECISION:].rstrip("z")
    return KeyRange(lower[:PARTITION_PRECISION], lower, upper + _UPPER_SENTINEL, limit, after)


def _geohash_of(position: int) -> str:
    return "".join(
        _BASE32[(position >> (_PLACE_BITS - 5 * (i + 1))) & 31] for i in range(PLACE_PRECISION)
    )


def _position(sort_key: str) -> int:
    """The precision-9 position a sort key files its place at."""
    position = 0
    for char in sort_key[:PLACE_PRECISION]:
        position = (position << 5) | _BASE32.index(char)
    return position
