"""Distances, bearings and great-circle arcs on the mean-radius sphere every distance here uses."""

from __future__ import annotations

import math
from itertools import pairwise

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere every distance here is measured on
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0

Position = tuple[float, float]  # (lon, lat), GeoJSON's order
Ring = tuple[Position, ...]  # closed: the last position repeats the first
Box = tuple[float, float, float, float]  # south, north, west, east in degrees
Vector = tuple[float, float, float]


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


def signed_ring_area_m2(ring: Ring) -> float:
    """Signed area on the sphere of a ring whose edges are straight in Lambert equal-area."""
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in pairwise(ring):
        total += math.radians(lon2 - lon1) * (
            math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return total * EARTH_RADIUS_M**2 / 2


class Arc:
    """A great-circle arc between two positions, with what distances to it need."""

    def __init__(self, a: Position, b: Position, reach_m: float) -> None:
        self.a = unit(a[1], a[0])
        self.b = unit(b[1], b[0])
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


def unit(lat: float, lon: float) -> Vector:
    """The point as a unit vector from the sphere's centre."""
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
