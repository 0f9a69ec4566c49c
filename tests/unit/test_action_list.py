"""The action list's circle: whole metres around any area, so an app that draws it or measures
distance to it never leaves out a part of the area."""

from __future__ import annotations

import math

import pytest

from chalicelib.domain.geo.geojson import parse_action_area
from chalicelib.domain.geo.shapes import Shape
from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.domain.public import public_circle

BENT_CORRIDOR = {
    "type": "LineString",
    "coordinates": [[5.10, 52.08], [5.13, 52.09], [5.12, 52.11], [5.15, 52.12]],
    "buffer_m": 400,
}
POLYGON_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[5.08, 52.07], [5.16, 52.07], [5.17, 52.12], [5.09, 52.13], [5.08, 52.07]],
        [[5.11, 52.09], [5.13, 52.09], [5.13, 52.10], [5.11, 52.10], [5.11, 52.09]],
    ],
}


def inside_points(shape: Shape, steps: int = 60) -> list[tuple[float, float]]:
    """A grid over the shape's box, kept where the shape holds the point."""
    south, north, west, east = shape.bounds()
    grid = (
        (south + (north - south) * i / steps, west + (east - west) * j / steps)
        for i in range(steps + 1)
        for j in range(steps + 1)
    )
    return [(lat, lon) for lat, lon in grid if shape.distance_inside(lat, lon) is not None]


@pytest.mark.parametrize("raw", [BENT_CORRIDOR, POLYGON_WITH_HOLE], ids=["corridor", "polygon"])
def test_the_circle_in_whole_metres_holds_every_point_of_the_area(raw: dict[str, object]) -> None:
    shape = parse_action_area(raw)
    lat, lon, radius_m = public_circle(shape)
    radius = math.ceil(radius_m)  # as the list gives it

    points = inside_points(shape)

    assert len(points) > 100
    farthest = max(haversine_m(lat, lon, p_lat, p_lon) for p_lat, p_lon in points)
    assert farthest <= radius
    assert radius < farthest * 1.05  # around the area, not far beyond it
