"""Action areas: circles, polygons and corridors along a line, with their exact geometry.

Positions are (lon, lat) in WGS84 degrees, GeoJSON's order. A circle is every point within its
radius of the centre. A polygon's edges are straight in longitude and latitude, as RFC 7946 defines
them, and a point is inside by the even-odd rule over all its rings (holes are rings inside the
outer one). A corridor is every point within `buffer_m` of its line, measured on the same sphere as
circles, with the line's segments taken as great-circle arcs (for a 10 km segment the arc and the
straight lon/lat line differ by at most 2.5 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

from chalicelib.domain.geo.covering import EDGE_MARGIN_M, EDGE_MARGIN_REL, Fit, Fitter
from chalicelib.domain.geo.rings import planar_centroid, segment_meets_box
from chalicelib.domain.geo.sphere import (
    EARTH_RADIUS_M,
    METRES_PER_DEGREE,
    Arc,
    Box,
    Position,
    Ring,
    haversine_m,
    signed_ring_area_m2,
    unit,
)

# Edge cells are refined until their longer side is at most the area's `detail_m`: a circle's
# radius / 64. Finer cells hug the edge more closely; planning time grows with the number of edge
# cells (about 4 * 64 of them for a circle), and the ranges' merging decides what is worth reading.
_REFINE_DIVISOR = 64

# Edge cells are refined to the size of an equal circle's (radius / 64) or a corridor's buffer / 8,
# but never to more than about this many along the edge, so a long outline plans in milliseconds.
_MAX_EDGE_CELLS = 2048
# A polygon's cells are tested against edges widened by this much (about 2 m): the exact test
# decides points on the boundary either way, so every cell within reach of an edge is read.
_MARGIN_DEG = EDGE_MARGIN_M / METRES_PER_DEGREE
_BANDS = 64  # latitude bands the point-in-polygon test sorts edges into


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

    def distance_inside(self, lat: float, lon: float) -> float | None:
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

    def distance_inside(self, lat: float, lon: float) -> float | None:
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
        outer, *holes = (abs(signed_ring_area_m2(ring)) for ring in self.rings)
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
            area, x, y = planar_centroid(ring)
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
        point = unit(lat, lon)
        return min(segment.distance_m(point) for segment in self._segments)

    def distance_inside(self, lat: float, lon: float) -> float | None:
        """The distance to the line, for a point within the buffer."""
        near = [s for s in self._segments if s.may_reach(lat, lon)]
        if not near:
            return None
        point = unit(lat, lon)
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
    def _segments(self) -> tuple[Arc, ...]:
        reach = self.buffer_m * (1 + EDGE_MARGIN_REL) + EDGE_MARGIN_M
        return tuple(Arc(a, b, reach) for a, b in pairwise(self.line))


Shape = Circle | Polygon | Corridor


def ring_contains(ring: Ring, position: Position) -> bool:
    """Whether the position lies inside one ring (even-odd rule)."""
    return Polygon((ring,)).contains(position[1], position[0])


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
            if segment_meets_box(
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

    def __init__(self, corridor: Corridor, segments: tuple[Arc, ...]) -> None:
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
        centre = unit(lat, lon)
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


def _hav_of_distance(distance_m: float) -> float:
    return math.sin(min(distance_m / EARTH_RADIUS_M, math.pi) / 2) ** 2


def _wrap(dlon: float) -> float:
    return (dlon + 180.0) % 360.0 - 180.0
