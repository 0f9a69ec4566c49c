"""Action areas besides the circle: polygons, and corridors along a line; their exact geometry.

Positions are (lon, lat) in WGS84 degrees, GeoJSON's order. A polygon's edges are straight in
longitude and latitude, as RFC 7946 defines them, and a point is inside by the even-odd rule over
all its rings (holes are rings inside the outer one). A corridor is every point within `buffer_m`
of its line, measured on the same sphere as circles, with the line's segments taken as great-circle
arcs (for a 10 km segment the arc and the straight lon/lat line differ by at most 2.5 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any

from chalicelib.domain.geo import (
    EARTH_RADIUS_M,
    EDGE_MARGIN_M,
    EDGE_MARGIN_REL,
    METRES_PER_DEGREE,
    Box,
    Circle,
    Fit,
    Fitter,
    haversine_m,
)

Position = tuple[float, float]  # (lon, lat)
Ring = tuple[Position, ...]  # closed: the last position repeats the first
Vector = tuple[float, float, float]

# Edge cells are refined to the size of an equal circle's (radius / 64) or a corridor's buffer / 8,
# but never to more than about this many along the edge, so a long outline plans in milliseconds.
_MAX_EDGE_CELLS = 2048
# A polygon's cells are tested against edges widened by this much (about 2 m): the exact test
# decides points on the boundary either way, so every cell within reach of an edge is read.
_MARGIN_DEG = EDGE_MARGIN_M / METRES_PER_DEGREE
_BANDS = 64  # latitude bands the point-in-polygon test sorts edges into


@dataclass(frozen=True)
class Polygon:
    """A GeoJSON Polygon: the outer ring, then holes; either winding order."""

    rings: tuple[Ring, ...]

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point is inside: an odd number of edges cross the ray east of it."""
        south, north, west, east = self._box
        if not (south <= lat <= north and west <= lon <= east):
            return False
        band = min(int((lat - south) / self._band_height), _BANDS - 1)
        inside = False
        for x1, y1, x2, y2 in self._bands[band]:
            if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
                inside = not inside
        return inside

    def locate(self, lat: float, lon: float) -> float | None:
        """The distance from the centroid, for a point inside."""
        if not self.contains(lat, lon):
            return None
        return haversine_m(*self.centre, lat, lon)

    def bounds(self) -> Box:
        """The outer ring's box, widened by the margin."""
        south, north, west, east = self._box
        return south - _MARGIN_DEG, north + _MARGIN_DEG, west - _MARGIN_DEG, east + _MARGIN_DEG

    def area_m2(self) -> float:
        """The area between the rings, on the sphere (edges straight in Lambert's equal-area)."""
        outer, *holes = (abs(_ring_area_m2(ring)) for ring in self.rings)
        return outer - sum(holes)

    def detail_m(self) -> float:
        """Edge cells of an equal circle's radius / 64, fewer for a long outline."""
        radius = math.sqrt(self.area_m2() / math.pi)
        perimeter = sum(
            haversine_m(a[1], a[0], b[1], b[0]) for ring in self.rings for a, b in pairwise(ring)
        )
        return max(radius / 64, perimeter / _MAX_EDGE_CELLS)

    def fitter(self) -> Fitter:
        """Cells tested against the edges that reach them."""
        return _PolygonFitter(self, self._edges)

    @cached_property
    def _edges(self) -> tuple[tuple[float, float, float, float], ...]:
        return tuple((a[0], a[1], b[0], b[1]) for ring in self.rings for a, b in pairwise(ring))

    @cached_property
    def _box(self) -> Box:
        lons = [p[0] for p in self.rings[0]]
        lats = [p[1] for p in self.rings[0]]
        return min(lats), max(lats), min(lons), max(lons)

    @cached_property
    def _band_height(self) -> float:
        south, north, _, _ = self._box
        return (north - south) / _BANDS or 1.0

    @cached_property
    def _bands(self) -> list[list[tuple[float, float, float, float]]]:
        # An edge can only be crossed by rays at latitudes within its own: each band keeps those.
        south = self._box[0]
        bands: list[list[tuple[float, float, float, float]]] = [[] for _ in range(_BANDS)]
        for edge in self._edges:
            low, high = sorted((edge[1], edge[3]))
            first = min(int((low - south) / self._band_height), _BANDS - 1)
            last = min(int((high - south) / self._band_height), _BANDS - 1)
            for band in range(max(first, 0), last + 1):
                bands[band].append(edge)
        return bands

    @cached_property
    def centre(self) -> tuple[float, float]:
        """The centroid (lat, lon) of the area between the rings, in lon/lat."""
        total = x_sum = y_sum = 0.0
        for index, ring in enumerate(self.rings):
            area, x, y = _planar_centroid(ring)
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            x_sum += weight * x
            y_sum += weight * y
        return y_sum / total, x_sum / total


@dataclass(frozen=True)
class Corridor:
    """Everything within `buffer_m` of a line (GeoJSON LineString positions)."""

    line: tuple[Position, ...]
    buffer_m: float

    @property
    def centre(self) -> tuple[float, float]:
        """The point halfway along the line, (lat, lon)."""
        half = self.length_m() / 2
        *before, last = self._segments
        for segment in before:
            if half <= segment.length_m:
                return segment.point_at(half)
            half -= segment.length_m
        return last.point_at(min(half, last.length_m))

    def distance_m(self, lat: float, lon: float) -> float:
        """The distance from the point to the line, on the sphere."""
        point = _unit(lat, lon)
        return min(segment.distance_m(point) for segment in self._segments)

    def locate(self, lat: float, lon: float) -> float | None:
        """The distance to the line, for a point within the buffer."""
        near = [s for s in self._segments if s.may_reach(lat, lon)]
        if not near:
            return None
        point = _unit(lat, lon)
        distance = min(segment.distance_m(point) for segment in near)
        return distance if distance <= self.buffer_m else None

    def length_m(self) -> float:
        """The line's length along its great-circle segments."""
        return sum(segment.length_m for segment in self._segments)

    def bounds(self) -> Box:
        """The union of the segments' boxes, each widened by the buffer and the margin."""
        boxes = [segment.reach for segment in self._segments]
        return (
            min(b[0] for b in boxes),
            max(b[1] for b in boxes),
            min(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    def area_m2(self) -> float:
        """At most 2 * buffer * length + a disc for the ends (less where the line bends back)."""
        return 2 * self.buffer_m * self.length_m() + math.pi * self.buffer_m**2

    def detail_m(self) -> float:
        """Edge cells of buffer / 8, fewer for a long line."""
        return max(self.buffer_m / 8, 2 * self.length_m() / _MAX_EDGE_CELLS)

    def fitter(self) -> Fitter:
        """Cells tested against the segments that reach them."""
        return _CorridorFitter(self, self._segments)

    @cached_property
    def _segments(self) -> tuple[_Segment, ...]:
        reach = self.buffer_m * (1 + EDGE_MARGIN_REL) + EDGE_MARGIN_M
        return tuple(_Segment(a, b, reach) for a, b in pairwise(self.line))


Shape = Circle | Polygon | Corridor


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


def first_crossing(rings: tuple[Ring, ...]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Two edges (ring, index of their first position) that touch or cross, if any.

    Neighbouring edges of a ring share a position, and that is allowed. One folding back over
    the other needs no test of its own: the edge after the fold starts on the edge before it
    (or, in a triangle, the ring encloses nothing). Edges are swept in order of their western
    end, so only edges whose longitudes overlap are compared.
    """
    edges = sorted(
        (min(a[0], b[0]), max(a[0], b[0]), r, i, a, b)
        for r, ring in enumerate(rings)
        for i, (a, b) in enumerate(pairwise(ring))
    )
    for j, (_, east, r1, i1, a1, b1) in enumerate(edges):
        for west, _, r2, i2, a2, b2 in edges[j + 1 :]:
            if west > east:
                break
            if r1 == r2 and _neighbours(i1, i2, len(rings[r1]) - 1):
                continue
            if _segments_meet(a1, b1, a2, b2):
                first, second = sorted([(r1, i1), (r2, i2)])
                return first, second
    return None


def ring_contains(ring: Ring, position: Position) -> bool:
    """Whether the position lies inside one ring (even-odd rule)."""
    return Polygon((ring,)).contains(position[1], position[0])


def ring_area_m2(ring: Ring) -> float:
    """The area one ring encloses, on the sphere."""
    return abs(_ring_area_m2(ring))


class _PolygonFitter:
    """A polygon's cell test, knowing which of its edges may reach the cells it is asked about."""

    def __init__(
        self, polygon: Polygon, edges: tuple[tuple[float, float, float, float], ...]
    ) -> None:
        self.polygon = polygon
        self.edges = edges

    def fit(self, box: Box) -> tuple[Fit, Fitter]:
        """On the edge if an edge comes within the margin, else wholly on its centre's side."""
        south, north, west, east = box
        near = tuple(
            edge
            for edge in self.edges
            if _segment_meets_box(
                edge,
                south - _MARGIN_DEG,
                north + _MARGIN_DEG,
                west - _MARGIN_DEG,
                east + _MARGIN_DEG,
            )
        )
        if near:
            return Fit.EDGE, _PolygonFitter(self.polygon, near)
        # No edge crosses the cell, so all of it lies on the side its centre does.
        inside = self.polygon.contains((south + north) / 2, (west + east) / 2)
        return (Fit.INSIDE if inside else Fit.OUTSIDE), self


class _CorridorFitter:
    """A corridor's cell test, knowing which of its segments may reach the cells it is asked about.

    From the cell's centre, every point of the cell lies within the distance to its farthest
    corner, so the distance from the line to any point of the cell is the centre's distance give
    or take that much (the triangle inequality, on the sphere).
    """

    def __init__(self, corridor: Corridor, segments: tuple[_Segment, ...]) -> None:
        self.corridor = corridor
        self.segments = segments
        buffer = corridor.buffer_m
        self.outer = buffer * (1 + EDGE_MARGIN_REL) + EDGE_MARGIN_M
        self.inner = buffer * (1 - EDGE_MARGIN_REL) - EDGE_MARGIN_M

    def fit(self, box: Box) -> tuple[Fit, Fitter]:
        """Outside if no segment reaches the cell, inside if the line is near all of it."""
        south, north, west, east = box
        lat, lon = (south + north) / 2, (west + east) / 2
        spread = max(haversine_m(lat, lon, north, west), haversine_m(lat, lon, south, west))
        centre = _unit(lat, lon)
        near = []
        nearest = math.inf
        for segment in self.segments:
            distance = segment.distance_m(centre)
            if distance - spread <= self.outer:
                near.append(segment)
                nearest = min(nearest, distance)
        if not near:
            return Fit.OUTSIDE, self
        if nearest + spread <= self.inner:
            return Fit.INSIDE, self
        return Fit.EDGE, _CorridorFitter(self.corridor, tuple(near))


class _Segment:
    """A great-circle arc between two positions, with what distances to it need."""

    def __init__(self, a: Position, b: Position, reach_m: float) -> None:
        self.a = _unit(a[1], a[0])
        self.b = _unit(b[1], b[0])
        self.cos_ab = _dot(self.a, self.b)
        normal = _cross(self.a, self.b)
        norm = math.sqrt(_dot(normal, normal))
        self.normal = (normal[0] / norm, normal[1] / norm, normal[2] / norm) if norm else None
        self.length_m = _angle(self.a, self.b) * EARTH_RADIUS_M
        # A box holding every point within reach of the arc: the ends' box widened by the reach,
        # and poleward by more than the arc bulges beyond its ends' latitudes.
        south, north = sorted((a[1], b[1]))
        west, east = sorted((a[0], b[0]))
        poleward = min(max(abs(south), abs(north)) + 1.0, 89.0)
        bulge = 2 * self.length_m**2 / (8 * EARTH_RADIUS_M) * math.tan(math.radians(poleward))
        dlat = (reach_m + bulge + 1.0) / METRES_PER_DEGREE
        cos_lat = math.cos(math.radians(min(poleward + dlat, 89.0)))
        dlon = dlat / cos_lat
        self.reach: Box = (south - dlat, north + dlat, west - dlon, east + dlon)

    def may_reach(self, lat: float, lon: float) -> bool:
        """False only for a point surely beyond the reach."""
        south, north, west, east = self.reach
        return south <= lat <= north and west <= lon <= east

    def distance_m(self, p: Vector) -> float:
        """The distance on the sphere from a point (unit vector) to the arc."""
        pa, pb = _dot(p, self.a), _dot(p, self.b)
        # The point's foot on the great circle lies between the ends exactly when both hold
        # ((A x P).n >= 0 and (P x B).n >= 0, written with dot products).
        if self.normal is not None and pb >= self.cos_ab * pa and pa >= self.cos_ab * pb:
            return math.asin(min(1.0, abs(_dot(p, self.normal)))) * EARTH_RADIUS_M
        return min(_angle(p, self.a), _angle(p, self.b)) * EARTH_RADIUS_M

    def point_at(self, distance_m: float) -> tuple[float, float]:
        """The (lat, lon) this far along the arc from its start."""
        total = self.length_m / EARTH_RADIUS_M
        if total == 0:
            return _lat_lon(self.a)
        t = distance_m / EARTH_RADIUS_M
        wa, wb = math.sin(total - t) / math.sin(total), math.sin(t) / math.sin(total)
        return _lat_lon(tuple(wa * x + wb * y for x, y in zip(self.a, self.b, strict=True)))


def _unit(lat: float, lon: float) -> Vector:
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def _lat_lon(v: tuple[float, ...]) -> tuple[float, float]:
    return math.degrees(math.atan2(v[2], math.hypot(v[0], v[1]))), math.degrees(
        math.atan2(v[1], v[0])
    )


def _dot(u: Vector, v: Vector) -> float:
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _cross(u: Vector, v: Vector) -> Vector:
    return (
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    )


def _angle(u: Vector, v: Vector) -> float:
    # From the chord: precise for the short distances that matter here, unlike acos of the dot.
    chord = math.sqrt(sum((x - y) ** 2 for x, y in zip(u, v, strict=True)))
    return 2 * math.asin(min(1.0, chord / 2))


def _ring_area_m2(ring: Ring) -> float:
    """Signed area on the sphere of a ring whose edges are straight in Lambert equal-area."""
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in pairwise(ring):
        total += math.radians(lon2 - lon1) * (
            math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return total * EARTH_RADIUS_M**2 / 2


def _planar_centroid(ring: Ring) -> tuple[float, float, float]:
    """Signed lon/lat area and centroid of one ring (shoelace)."""
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in pairwise(ring):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    area /= 2
    if area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return area, cx / (6 * area), cy / (6 * area)


def _segment_meets_box(
    edge: tuple[float, float, float, float], south: float, north: float, west: float, east: float
) -> bool:
    """Whether a straight lon/lat segment meets the box (Liang-Barsky clipping)."""
    x1, y1, x2, y2 = edge
    if max(x1, x2) < west or min(x1, x2) > east or max(y1, y2) < south or min(y1, y2) > north:
        return False
    dx, dy = x2 - x1, y2 - y1
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x1 - west), (dx, east - x1), (-dy, y1 - south), (dy, north - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _neighbours(i: int, j: int, edges: int) -> bool:
    return abs(i - j) == 1 or {i, j} == {0, edges - 1}


def _orientation(a: Position, b: Position, c: Position) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Position, b: Position, c: Position) -> bool:
    """Whether c, collinear with a and b, lies within their box."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def _segments_meet(a: Position, b: Position, c: Position, d: Position) -> bool:
    """Whether closed segments ab and cd share a point."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if ((o1 > 0 and o2 < 0) or (o1 < 0 and o2 > 0)) and (
        (o3 > 0 and o4 < 0) or (o3 < 0 and o4 > 0)
    ):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


# Points on each round end of a corridor's outline; the arcs are drawn just outside the buffer.
_OUTLINE_CAP_STEPS = 8


def outline(shape: Polygon | Corridor) -> Ring:
    """One closed ring (lon, lat) around the shape, for formats that know only polygons (CAP,
    the public alert list): a polygon's outer ring (holes cannot be said there, so a consumer
    includes them), or a corridor's buffer drawn around its line, never inside it except at a
    sharp bend's outer corner."""
    if isinstance(shape, Polygon):
        return shape.rings[0]
    return _corridor_outline(shape)


def _corridor_outline(corridor: Corridor) -> Ring:
    # Flat metres around the line's first point: a corridor is at most a few tens of km long.
    lon0, lat0 = corridor.line[0]
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    points: list[tuple[float, float]] = []
    for lon, lat in corridor.line:
        p = ((lon - lon0) * kx, (lat - lat0) * METRES_PER_DEGREE)
        if not points or p != points[-1]:
            points.append(p)
    reach = corridor.buffer_m / math.cos(math.pi / (2 * _OUTLINE_CAP_STEPS))

    def normal(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy)
        return -dy / length, dx / length  # to the left of a -> b

    def side(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The offset of `path` to its left, with mitred joins (bevelled when very sharp)."""
        normals = [normal(a, b) for a, b in pairwise(path)]
        out = [(path[0][0] + reach * normals[0][0], path[0][1] + reach * normals[0][1])]
        for vertex, n1, n2 in zip(path[1:-1], normals, normals[1:], strict=False):
            mx, my = n1[0] + n2[0], n1[1] + n2[1]
            cos_half = math.hypot(mx, my) / 2  # cos of half the turn
            if cos_half > 0.25:
                scale = reach / (2 * cos_half * cos_half)
                out.append((vertex[0] + mx * scale, vertex[1] + my * scale))
            else:
                out += [(vertex[0] + reach * n[0], vertex[1] + reach * n[1]) for n in (n1, n2)]
        n = normals[-1]
        out.append((path[-1][0] + reach * n[0], path[-1][1] + reach * n[1]))
        return out

    def cap(centre: tuple[float, float], start: tuple[float, float]) -> list[tuple[float, float]]:
        """The half circle around `centre` from the left normal `start`, turning clockwise."""
        angle = math.atan2(start[1], start[0])
        return [
            (
                centre[0] + reach * math.cos(angle - math.pi * k / _OUTLINE_CAP_STEPS),
                centre[1] + reach * math.sin(angle - math.pi * k / _OUTLINE_CAP_STEPS),
            )
            for k in range(1, _OUTLINE_CAP_STEPS)
        ]

    if len(points) == 1:  # a line of one point: a circle
        ring = cap(points[0], (1.0, 0.0)) + cap(points[0], (-1.0, 0.0))
    else:
        back = points[::-1]
        ring = (
            side(points)
            + cap(points[-1], normal(points[-2], points[-1]))
            + side(back)
            + cap(points[0], normal(points[1], points[0]))
        )
    ring.append(ring[0])
    return tuple((lon0 + x / kx, lat0 + y / METRES_PER_DEGREE) for x, y in ring)
