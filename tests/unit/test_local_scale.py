"""The local scale bench files its people where it says: inside the circle, or well outside."""

from __future__ import annotations

import random

from bench.local_scale import CENTRE, RADIUS_M, inside_people, outside_people
from chalicelib.domain.geo.sphere import haversine_m


def test_inside_people_are_inside_and_the_others_outside() -> None:
    rng = random.Random(1)
    inside = [haversine_m(*CENTRE, lat, lon) for lat, lon in inside_people(500, rng)]
    outside = [haversine_m(*CENTRE, lat, lon) for lat, lon in outside_people(2000, rng)]
    assert len(inside) == 500 and max(inside) < RADIUS_M
    assert len(outside) == 2000 and min(outside) > RADIUS_M
    assert max(inside) > 0.9 * RADIUS_M  # spread over the whole circle, not bunched
