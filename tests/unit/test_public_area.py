"""The area as the public sees it: never a point more exact than about 100 m (a circle's centre is
often the victim's home), yet still holding every point dispatch targeted."""

from __future__ import annotations

import itertools
import random

import pytest

from chalicelib.domain.geo.enclosing import enclosing_ring
from chalicelib.domain.geo.shapes import Circle, Corridor, Polygon, ring_contains
from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.domain.public import ROUNDING_MARGIN_M, public_area, public_circle
from tests.support.geometry import beside_line, destination

HOME = (52.090749, 5.121449)  # a made-up front door near the Dom
ROAD = ((5.121449, 52.090749), (5.13, 52.0953), (5.1508, 52.0999))
OUTER = (
    (5.1204, 52.0851),
    (5.1403, 52.0852),
    (5.1401, 52.0983),
    (5.1202, 52.0982),
    (5.1204, 52.0851),
)


def edge(lat: float, lon: float, radius_m: float) -> list[tuple[float, float]]:
    """Points just inside a circle's edge, all the way round."""
    return [destination(lat, lon, bearing, radius_m - 0.01) for bearing in range(0, 360, 5)]


def three_decimals(value: float) -> bool:
    return round(value, 3) == value


def test_a_circles_centre_is_published_to_about_100_m_and_its_circle_holds_the_whole_area() -> None:
    area = Circle(*HOME, 1500)

    lat, lon, radius_m = public_circle(area)

    assert (lat, lon) == (52.091, 5.121)
    assert 0 < haversine_m(*HOME, lat, lon) <= 100
    assert all(haversine_m(lat, lon, *p) <= radius_m for p in edge(*HOME, 1500))
    assert radius_m == 1500 + ROUNDING_MARGIN_M  # whole metres, and not much more


def test_the_circle_holds_the_area_wherever_the_centre_lies_in_its_cell() -> None:
    rng = random.Random(18)
    centres = [(rng.uniform(-60, 70), rng.uniform(-180, 180)) for _ in range(200)]
    # The worst places: a cell's corner, on the equator (the widest cells) and at 52°N.
    centres += [(0.0004999, 0.0004999), (52.0914999, 5.1214999), (-0.0005, 179.9995)]
    for true_lat, true_lon in centres:
        radius = rng.uniform(100, 20_000)

        lat, lon, radius_m = public_circle(Circle(true_lat, true_lon, radius))

        assert three_decimals(lat) and three_decimals(lon)
        assert haversine_m(true_lat, true_lon, lat, lon) <= ROUNDING_MARGIN_M <= 100
        assert all(haversine_m(lat, lon, *p) <= radius_m for p in edge(true_lat, true_lon, radius))


def test_the_radius_does_not_tell_where_in_the_cell_the_centre_was() -> None:
    # Two homes in one ~100 m cell publish the same circle: growing each radius by its own
    # distance to the rounded centre would have told them apart.
    near_corner = public_circle(Circle(52.09051, 5.12149, 1000))
    near_middle = public_circle(Circle(52.09099, 5.12101, 1000))

    assert near_corner == near_middle == (52.091, 5.121, 1000 + ROUNDING_MARGIN_M)


def test_a_polygon_is_published_as_drawn_in_a_circle_with_a_rounded_centre() -> None:
    polygon = Polygon((OUTER,))

    lat, lon, radius_m = public_circle(polygon)

    assert public_area(polygon) is polygon  # its corners are a search area, not a home
    assert three_decimals(lat) and three_decimals(lon)
    assert haversine_m(*polygon.centre, lat, lon) <= 100
    reach = max(haversine_m(lat, lon, p_lat, p_lon) for p_lon, p_lat in OUTER)
    assert reach <= radius_m < reach + 1


def test_a_corridors_line_is_rounded_and_its_outline_and_circle_still_hold_all_of_it() -> None:
    corridor = Corridor(ROAD, 300)

    shown = public_area(corridor)
    lat, lon, radius_m = public_circle(corridor)

    assert isinstance(shown, Corridor)
    # The line starts at the home: no published point of it is more exact than 3 decimals.
    assert all(three_decimals(p_lon) and three_decimals(p_lat) for p_lon, p_lat in shown.line)
    assert shown.line[0] == (5.121, 52.091) != ROAD[0]
    assert three_decimals(lat) and three_decimals(lon)
    outline = enclosing_ring(shown)  # CAP's polygon
    inside = [
        beside_line(a, b, t / 10, side, 299.9)
        for a, b in itertools.pairwise(ROAD)
        for t in range(11)
        for side in (-1, 1)
    ] + [
        (p_lon, p_lat)
        for end in ROAD
        for bearing in range(0, 360, 10)
        for p_lat, p_lon in [destination(end[1], end[0], bearing, 299.9)]
    ]
    assert all(corridor.distance_inside(p_lat, p_lon) is not None for p_lon, p_lat in inside)
    assert all(ring_contains(outline, p) for p in inside)
    assert all(haversine_m(lat, lon, p_lat, p_lon) <= radius_m for p_lon, p_lat in inside)


@pytest.mark.parametrize("shape", [Circle(*HOME, 733.4), Polygon((OUTER,)), Corridor(ROAD, 300)])
def test_the_circle_is_whole_metres(shape: Circle | Polygon | Corridor) -> None:
    _, _, radius_m = public_circle(shape)
    assert radius_m == int(radius_m)
