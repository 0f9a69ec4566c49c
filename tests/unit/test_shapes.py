"""Polygons and corridors: their exact tests, and the plan for them against brute force."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.memory_index import PlaceRow
from chalicelib.domain.geo.enclosing import enclosing_ring
from chalicelib.domain.geo.geojson import from_geojson, to_geojson
from chalicelib.domain.geo.planning import (
    DEFAULT_MAX_QUERIES,
    PROBE_ITEMS,
    plan_queries,
    select_recipients,
)
from chalicelib.domain.geo.rings import first_crossing
from chalicelib.domain.geo.shapes import Corridor, Polygon, ring_contains
from chalicelib.domain.geo.sphere import METRES_PER_DEGREE, haversine_m
from tests.support.geometry import Position, assert_well_formed, beside_line, destination, execute


def square(lon: float, lat: float, half_deg: float) -> tuple[Position, ...]:
    """A closed square ring, counter-clockwise."""
    ring = [
        (lon - half_deg, lat - half_deg),
        (lon + half_deg, lat - half_deg),
        (lon + half_deg, lat + half_deg),
        (lon - half_deg, lat + half_deg),
    ]
    return (*ring, ring[0])


def off_edge(a: Position, b: Position, t: float, metres: float) -> Position:
    """The point `metres` to the left of the lon/lat-straight edge a -> b, at fraction t along it.

    Left is inside for a counter-clockwise ring (negative metres go right).
    """
    lon, lat = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
    scale = math.cos(math.radians(lat))
    dx, dy = (b[0] - a[0]) * scale, b[1] - a[1]
    norm = math.hypot(dx, dy)
    left_x, left_y = -dy / norm, dx / norm
    return (
        lon + left_x * metres / (METRES_PER_DEGREE * scale),
        lat + left_y * metres / METRES_PER_DEGREE,
    )


# --- polygons ---------------------------------------------------------------------------------


def test_a_point_is_inside_a_polygon_and_outside_its_hole_in_either_winding() -> None:
    outer = square(5.0, 52.0, 0.01)
    hole = square(5.0, 52.0, 0.003)
    for rings in [(outer, hole), (outer[::-1], hole), (outer, hole[::-1])]:
        polygon = Polygon(rings)
        assert polygon.contains(52.005, 5.005)  # between the rings
        assert not polygon.contains(52.0, 5.0)  # in the hole
        assert not polygon.contains(52.02, 5.0)  # north of it all


def test_people_a_metre_either_side_of_an_edge_are_told_apart() -> None:
    ring = square(5.0, 52.0, 0.01)
    polygon = Polygon((ring,))
    for a, b in pairwise(ring):
        inside = off_edge(a, b, 0.37, 1.0)
        outside = off_edge(a, b, 0.37, -1.0)
        assert polygon.distance_inside(inside[1], inside[0]) is not None
        assert polygon.distance_inside(outside[1], outside[0]) is None


def test_nearest_first_in_a_polygon_is_nearest_its_centroid() -> None:
    polygon = Polygon((square(5.0, 52.0, 0.01),))
    assert polygon.centre == pytest.approx((52.0, 5.0))
    rows = [
        PlaceRow("far", 52.009, 5.009, "home"),
        PlaceRow("near", 52.001, 5.0, "home"),
        PlaceRow("out", 52.02, 5.0, "home"),
    ]
    assert [r.participant_id for _, r in select_recipients(polygon, rows)] == ["near", "far"]


def test_polygon_area_is_the_area_on_the_sphere() -> None:
    # A 0.02 degree square at 52 N: 2,224 m high, 1,369 m wide.
    polygon = Polygon((square(5.0, 52.0, 0.01),))
    assert polygon.area_m2() == pytest.approx(2_224 * 1_369, rel=0.002)
    holed = Polygon((square(5.0, 52.0, 0.01), square(5.0, 52.0, 0.005)))
    assert holed.area_m2() == pytest.approx(0.75 * polygon.area_m2())


@pytest.mark.parametrize(
    ("rings", "expected"),
    [
        pytest.param(  # a bow tie: edge 0 crosses edge 2
            (((5.0, 52.0), (5.1, 52.1), (5.1, 52.0), (5.0, 52.1), (5.0, 52.0)),),
            ((0, 0), (0, 2)),
            id="bow-tie",
        ),
        pytest.param(  # a spike folding back along edge 0: edge 2 starts on it
            (((5.0, 52.0), (5.1, 52.0), (5.05, 52.0), (5.05, 52.1), (5.0, 52.0)),),
            ((0, 0), (0, 2)),
            id="spike",
        ),
        pytest.param(  # a hole poking out through the outer ring
            (square(5.0, 52.0, 0.01), square(5.01, 52.0, 0.003)),
            ((0, 1), (1, 0)),
            id="hole-crossing",
        ),
        pytest.param((square(5.0, 52.0, 0.01), square(5.0, 52.0, 0.003)), None, id="valid"),
    ],
)
def test_first_crossing_names_the_edges(
    rings: tuple[tuple[Position, ...], ...], expected: tuple[tuple[int, int], ...] | None
) -> None:
    assert first_crossing(rings) == expected


# --- corridors --------------------------------------------------------------------------------

ROAD = ((5.10, 52.08), (5.12, 52.09), (5.15, 52.095))


@pytest.mark.parametrize("t", [0.1, 0.5, 0.93])
@pytest.mark.parametrize("side", [1, -1])
def test_corridor_distance_is_measured_square_to_the_line(t: float, side: int) -> None:
    corridor = Corridor(ROAD, 300)
    for a, b in pairwise(ROAD):
        for metres in (12.0, 288.0, 299.0, 301.0, 312.0):
            lon, lat = beside_line(a, b, t, side, metres)
            assert corridor.distance_m(lat, lon) == pytest.approx(metres, abs=1e-6)
            assert (corridor.distance_inside(lat, lon) is not None) == (metres <= 300)


def test_corridor_distance_past_an_end_is_to_that_end() -> None:
    corridor = Corridor(ROAD, 300)
    lat, lon = destination(ROAD[0][1], ROAD[0][0], 200.0, 250.0)  # behind the start
    assert corridor.distance_m(lat, lon) == pytest.approx(250.0, abs=1e-6)
    lat, lon = destination(ROAD[-1][1], ROAD[-1][0], 80.0, 310.0)  # beyond the end
    assert corridor.distance_inside(lat, lon) is None


def test_corridor_centre_is_halfway_along_and_geojson_round_trips() -> None:
    corridor = Corridor(ROAD, 300)
    lat, lon = corridor.centre
    assert corridor.distance_m(lat, lon) == pytest.approx(0.0, abs=1e-6)
    start, end = (ROAD[0][1], ROAD[0][0]), (ROAD[-1][1], ROAD[-1][0])
    along_start = haversine_m(*start, lat, lon) if corridor.length_m() else 0.0
    assert along_start == pytest.approx(corridor.length_m() / 2, rel=0.01)
    assert haversine_m(*end, lat, lon) < corridor.length_m()
    assert from_geojson(to_geojson(corridor)) == corridor
    polygon = Polygon((square(5.0, 52.0, 0.01),))
    assert from_geojson(to_geojson(polygon)) == polygon


# --- the plan against brute force -------------------------------------------------------------


@dataclass(frozen=True)
class ShapeScenario:
    """A polygon or corridor, the places around it, and who is just inside or just outside."""

    area: Polygon | Corridor
    max_queries: int
    rows: list[PlaceRow]
    just_inside: set[str]
    just_outside: set[str]


def _star(
    draw: st.DrawFn, lon: float, lat: float, radius_m: float, points: int, clockwise: bool
) -> tuple[Position, ...]:
    """A simple closed ring around a point (vertices in order of angle), wound as asked."""
    steps = draw(st.lists(st.integers(0, 71), min_size=points, max_size=points, unique=True))
    ring = []
    for angle in sorted(5 * step for step in steps):
        at = destination(lat, lon, angle, radius_m * draw(st.floats(0.5, 1.0)))
        ring.append((at[1], at[0]))
    twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise([*ring, ring[0]]))
    if (twice_area < 0) != clockwise:
        ring.reverse()
    return (*ring, ring[0])


def _metres_to_other_edges(
    rings: list[tuple[Position, ...]], edge: tuple[Position, Position], at: Position
) -> float:
    """The distance from a point to the nearest edge other than `edge`, on a local flat map."""
    scale = math.cos(math.radians(at[1])) * METRES_PER_DEGREE

    def flat(p: Position) -> tuple[float, float]:
        return (p[0] - at[0]) * scale, (p[1] - at[1]) * METRES_PER_DEGREE

    nearest = math.inf
    for ring in rings:
        for a, b in pairwise(ring):
            if (a, b) == edge:
                continue
            (ax, ay), (bx, by) = flat(a), flat(b)
            dx, dy = bx - ax, by - ay
            t = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
            nearest = min(nearest, math.hypot(ax + t * dx, ay + t * dy))
    return nearest


@st.composite
def shape_scenarios(draw: st.DrawFn) -> ShapeScenario:
    lat = draw(st.floats(51.0, 53.4))
    lon = draw(st.floats(3.5, 7.0))
    size = draw(st.floats(300, 8_000))
    rows: list[PlaceRow] = []
    inside: set[str] = set()
    outside: set[str] = set()
    area: Polygon | Corridor
    if draw(st.booleans()):
        # Inside lies left of every edge: the outer ring counter-clockwise, holes clockwise.
        rings = [_star(draw, lon, lat, size, draw(st.integers(3, 12)), clockwise=False)]
        if draw(st.booleans()):
            rings.append(_star(draw, lon, lat, size * 0.3, draw(st.integers(3, 6)), True))
        if first_crossing(tuple(rings)) is not None or not ring_contains(rings[0], rings[-1][0]):
            rings = rings[:1]  # a hole reaching out of, or lying beside, a narrow outer ring
        assume(first_crossing(tuple(rings)) is None)
        area = Polygon(tuple(rings))
        for n in range(draw(st.integers(0, 12))):
            ring_edges = rings[draw(st.integers(0, len(rings) - 1))]
            i = draw(st.integers(0, len(ring_edges) - 2))
            a, b = ring_edges[i], ring_edges[i + 1]
            if haversine_m(a[1], a[0], b[1], b[0]) < 50:
                continue
            t = draw(st.floats(0.2, 0.8))
            side = 1.0 if n % 2 else -1.0
            at = off_edge(a, b, t, side)
            if _metres_to_other_edges(rings, (a, b), at) < 3.0:
                continue  # in a sharp corner: the other edge decides
            rows.append(PlaceRow(f"e{n}", at[1], at[0], "home"))
            (inside if side > 0 else outside).add(f"e{n}")
        reach = size * 1.3
    else:
        line = [(lon, lat)]
        for _ in range(draw(st.integers(1, 5))):
            at = destination(line[-1][1], line[-1][0], draw(st.floats(0, 360)), size / 2)
            line.append((at[1], at[0]))
        buffer = draw(st.floats(50, 2000))
        area = Corridor(tuple(line), buffer)
        for n in range(draw(st.integers(0, 12))):
            i = draw(st.integers(0, len(line) - 2))
            side = 1.0 if n % 2 else -1.0
            offset = buffer - 1 if n % 4 < 2 else buffer + 1
            at = beside_line(line[i], line[i + 1], draw(st.floats(0.05, 0.95)), side, offset)
            rows.append(PlaceRow(f"e{n}", at[1], at[0], "home"))
            (inside if offset < buffer else outside).add(f"e{n}")
        reach = size * 3 + buffer
    for n in range(draw(st.integers(0, 40))):
        bearing, distance = draw(st.floats(0, 360)), reach * math.sqrt(draw(st.floats(0, 1)))
        rows.append(PlaceRow(f"p{n}", *destination(lat, lon, bearing, distance), "home"))
    if draw(st.booleans()):  # a dense spot: probes stop, the second round resumes after them
        spot = destination(lat, lon, draw(st.floats(0, 360)), reach * draw(st.floats(0, 1)))
        spread = draw(st.sampled_from([0.0, 30.0, size / 10]))
        for n in range(draw(st.integers(PROBE_ITEMS, 4 * PROBE_ITEMS))):
            at = destination(*spot, draw(st.floats(0, 360)), spread * draw(st.floats(0, 1)))
            rows.append(PlaceRow(f"d{n}", *at, "home"))
    max_queries = draw(st.sampled_from([4, 16, DEFAULT_MAX_QUERIES, 100_000]))
    return ShapeScenario(area, max_queries, rows, inside, outside)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape_scenarios())
def test_plan_finds_exactly_the_brute_force_recipients_of_a_shape(scenario: ShapeScenario) -> None:
    area = scenario.area
    plan = plan_queries(area, scenario.max_queries).probes
    assert_well_formed(plan)
    partitions = len({k.partition for k in plan})

    read, index = execute(area, scenario.rows, scenario.max_queries)
    selected = select_recipients(area, read)

    assert index.queries <= max(scenario.max_queries, 2 * partitions)
    nearest: dict[str, float] = {}
    for row in scenario.rows:
        distance = area.distance_inside(row.lat, row.lon)
        if distance is not None:
            nearest[row.participant_id] = min(distance, nearest.get(row.participant_id, math.inf))
    assert {row.participant_id: d for d, row in selected} == nearest
    assert [d for d, _ in selected] == sorted(d for d, _ in selected)
    # A metre inside the edge is in, a metre outside is out (for a corridor: unless another
    # part of the line comes that close).
    assert scenario.just_inside <= set(nearest)
    if isinstance(area, Polygon):
        assert not scenario.just_outside & set(nearest)
    else:
        for row in scenario.rows:
            if row.participant_id in scenario.just_outside & set(nearest):
                assert area.distance_m(row.lat, row.lon) <= area.buffer_m


# --- outlines, for CAP and the public alert list ----------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        ((5.10, 52.08), (5.12, 52.09)),
        ((5.10, 52.08), (5.12, 52.09), (5.15, 52.095)),  # a gentle bend
        ((5.10, 52.08), (5.12, 52.09), (5.10, 52.10)),  # a bend of about 110 degrees
    ],
)
def test_a_corridors_outline_holds_everyone_within_its_buffer_and_not_much_more(
    line: tuple[Position, ...],
) -> None:
    corridor = Corridor(line, 300)
    ring = enclosing_ring(corridor)

    assert ring[0] == ring[-1]
    for a, b in pairwise(line):
        for t in (0.0, 0.1, 0.5, 0.9, 1.0):
            for side in (1, -1):
                assert ring_contains(ring, beside_line(a, b, t, side, 295))
    # Beyond the buffer by a fifth, square to the middle of a segment: outside
    a, b = line[0], line[1]
    assert not ring_contains(ring, beside_line(a, b, 0.5, 1, 360))
    assert not ring_contains(ring, beside_line(a, b, 0.5, -1, 360))


def test_a_polygons_outline_is_its_outer_ring() -> None:
    outer, hole = square(5.0, 52.0, 0.01), square(5.0, 52.0, 0.003)
    assert enclosing_ring(Polygon((outer, hole))) == outer
