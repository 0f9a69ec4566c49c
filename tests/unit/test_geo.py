"""Geo keys, the query plan and recipient selection; the plan is checked against brute force."""

from __future__ import annotations

import math
from dataclasses import dataclass

import geohash2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.memory_index import PlaceRow
from chalicelib.domain.geo import keys
from chalicelib.domain.geo.keys import (
    TAIL_BITS,
    KeyRange,
    geohash_of,
    partition_cells,
    place_cell,
    place_sort_key,
    position_of,
)
from chalicelib.domain.geo.planning import (
    DEFAULT_MAX_QUERIES,
    PLACE_ITEM_BYTES,
    PROBE_ITEMS,
    plan_queries,
    select_recipients,
)
from chalicelib.domain.geo.shapes import Circle
from chalicelib.domain.geo.sphere import EARTH_RADIUS_M, haversine_m
from tests.support.geometry import assert_well_formed, destination, execute

# A precision-5 cell is 360/2**13 degrees wide and 180/2**12 degrees high.
CELL_LON, CELL_LAT = 360 / 2**13, 180 / 2**12


# --- distances and keys ------------------------------------------------------------------------


def test_haversine_utrecht_dom_to_amsterdam_dam() -> None:
    # 31.4 km north and 15.6 km west: 35.05 km on the sphere (not the 35.8 sometimes quoted).
    assert haversine_m(52.0907, 5.1214, 52.3731, 4.8926) == pytest.approx(35_055, abs=200)


def test_haversine_one_degree_of_latitude_and_symmetry() -> None:
    assert haversine_m(52.0, 5.0, 53.0, 5.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 180)
    assert haversine_m(52.0, 5.0, 52.0, 5.0) == 0.0
    assert haversine_m(52.1, 5.2, 51.9, 4.7) == pytest.approx(haversine_m(51.9, 4.7, 52.1, 5.2))


def test_destination_is_at_the_asked_distance() -> None:
    for bearing in (0, 45, 90, 180, 270, 333):
        lat, lon = destination(52.2, 5.626, bearing, 1234.5)
        assert haversine_m(52.2, 5.626, lat, lon) == pytest.approx(1234.5, abs=1e-6)


@given(
    lat=st.floats(min_value=-90.0, max_value=90.0),
    lon=st.floats(min_value=-180.0, max_value=180.0),
)
@example(lat=0.0, lon=0.0)  # on every midpoint of the first halvings
@example(lat=-90.0, lon=-180.0)
@example(lat=90.0, lon=180.0)
@example(lat=45.0, lon=90.0)
def test_our_decoding_of_geohash2s_keys_is_geohash2s(lat: float, lon: float) -> None:
    # geohash2 encodes the keys; positions, cells and key ranges are ours, on its bisection.
    sort_key = place_sort_key(lat, lon, "p", "home")
    geohash = geohash2.encode(lat, lon, 9)
    assert sort_key.startswith(geohash)
    position = position_of(sort_key)
    assert geohash_of(position) == geohash
    assert position >> TAIL_BITS == position_of(place_cell(lat, lon) + "0000") >> TAIL_BITS
    single = keys.key_range(position, position)
    assert single.partition == place_cell(lat, lon)
    assert single.lower <= sort_key <= single.upper
    # The covering splits a cell with its midpoint in the lower half, as the encoder files it.
    centre_lat, centre_lon, lat_err, lon_err = geohash2.decode_exactly(geohash)
    assert centre_lat - lat_err < lat <= centre_lat + lat_err or lat == -90.0
    assert centre_lon - lon_err < lon <= centre_lon + lon_err or lon == -180.0


@given(
    lat=st.floats(min_value=-89.9, max_value=89.9),
    lon=st.floats(min_value=-180.0, max_value=180.0),
)
@example(lat=52.2, lon=5.625)  # on the u17|u1k edge
@example(lat=0.0, lon=180.0)  # the antimeridian: the cells east of it wrap to the west
def test_partition_cells_are_geohash2s_cells(lat: float, lon: float) -> None:
    # The covering starts from the precision-5 cells around an area: each with geohash2's box.
    cells = partition_cells((lat - 0.01, lat + 0.01, lon - 0.01, lon + 0.01))
    names = set()
    for code, (south, north, west, east) in cells:
        name = geohash_of(code << TAIL_BITS)[:5]
        centre_lat, centre_lon, lat_err, lon_err = geohash2.decode_exactly(name)
        assert (south, north) == (centre_lat - lat_err, centre_lat + lat_err)
        assert (west, east) == (centre_lon - lon_err, centre_lon + lon_err)
        names.add(name)
    assert place_cell(lat, lon) in names
    assert len(names) == len(cells)


def test_place_keys_are_geohashes_in_key_order() -> None:
    assert place_cell(52.3731, 4.8926) == geohash2.encode(52.3731, 4.8926, 5)
    sort_key = place_sort_key(52.3731, 4.8926, "p-1", "home")
    assert sort_key == f"{geohash2.encode(52.3731, 4.8926, 9)}#p-1#home"
    assert sort_key.startswith(place_cell(52.3731, 4.8926))
    # Alphabet order is ASCII order, so sort keys sort west-to-east within a row of cells here.
    assert place_sort_key(52.2, 5.60, "a", "x") < place_sort_key(52.2, 5.62, "a", "x")


# --- the plan ---------------------------------------------------------------------------------


def test_covering_spans_a_boundary_where_the_prefix_changes_early() -> None:
    # u17 | u1k at lon 5.625: neighbouring cells whose geohashes differ from the third character.
    assert place_cell(52.2, 5.624)[:3] == "u17"
    assert place_cell(52.2, 5.626)[:3] == "u1k"
    plan = plan_queries(Circle(52.2, 5.626, 500)).probes
    partitions = {key_range.partition for key_range in plan}
    assert {p[:3] for p in partitions} == {"u17", "u1k"}
    assert_well_formed(plan)


@pytest.mark.parametrize("radius_m", [100, 500, 1_000, 2_000, 5_000, 10_000, 20_000])
def test_plan_is_well_formed_within_budget_and_deterministic(radius_m: float) -> None:
    circle = Circle(52.3731, 4.8926, radius_m)
    plan = plan_queries(circle).probes
    assert_well_formed(plan)
    partitions = {key_range.partition for key_range in plan}
    assert len(plan) <= max(DEFAULT_MAX_QUERIES // 2, len(partitions))
    assert plan == plan_queries(circle).probes


def test_a_wide_circle_needs_a_query_per_partition_beyond_the_budget() -> None:
    plan = plan_queries(Circle(52.3731, 4.8926, 20_000)).probes
    partitions = [key_range.partition for key_range in plan]
    assert len(partitions) > DEFAULT_MAX_QUERIES
    assert len(plan) == len(set(partitions))  # exactly one Query each
    # No room for a second round: each reads its whole range at once.
    assert {key_range.limit for key_range in plan} == {None}


def test_cells_wholly_inside_stay_whole() -> None:
    circle = Circle(52.3731, 4.8926, 10_000)
    plan = plan_queries(circle).probes
    centre_cell = place_cell(circle.lat, circle.lon)
    assert KeyRange(centre_cell, centre_cell, centre_cell + "~", PROBE_ITEMS) in plan


@pytest.mark.parametrize("max_queries", [1, 2, 5, 17, 64])
def test_budget_is_kept_but_never_below_one_query_per_partition(max_queries: int) -> None:
    plan = plan_queries(Circle(52.2, 5.626, 1_500), max_queries).probes
    partitions = {key_range.partition for key_range in plan}
    assert len(plan) <= max(max_queries // 2, len(partitions))
    assert_well_formed(plan)


@pytest.mark.parametrize(
    "circle, max_queries",
    [
        (Circle(52.0, 5.0, 0), 64),
        (Circle(52.0, 5.0, -5), 64),
        (Circle(52.0, 5.0, math.nan), 64),
        (Circle(91.0, 5.0, 100), 64),
        (Circle(52.0, 5.0, 100), 0),
    ],
)
def test_plan_refuses_nonsense(circle: Circle, max_queries: int) -> None:
    with pytest.raises(ValueError):
        plan_queries(circle, max_queries)


def covered(plan: list[KeyRange], lat: float, lon: float) -> bool:
    """Whether a Query of the plan returns a place at this position."""
    cell, sort_key = place_cell(lat, lon), place_sort_key(lat, lon, "p", "home")
    return any(k.partition == cell and k.lower <= sort_key <= k.upper for k in plan)


@pytest.mark.parametrize("radius_m", [100, 777, 3_000, 20_000])
@pytest.mark.parametrize("centre", [(52.2, 5.626), (52.3731, 4.8926), (50.8, 3.3)])
def test_every_point_just_inside_the_edge_is_covered(
    centre: tuple[float, float], radius_m: float
) -> None:
    plan = plan_queries(Circle(*centre, radius_m), max_queries=100_000).probes  # no bridging
    for tenth_degree in range(0, 3600, 7):
        lat, lon = destination(*centre, tenth_degree / 10, radius_m - 0.01)
        assert covered(plan, lat, lon), (tenth_degree / 10, lat, lon)


# --- recipients -------------------------------------------------------------------------------


def test_select_recipients_keeps_each_persons_nearest_place_nearest_first() -> None:
    circle = Circle(52.0, 5.0, 1_000)
    rows = [
        PlaceRow("anna", *destination(52.0, 5.0, 10, 800), "home"),
        PlaceRow("bram", *destination(52.0, 5.0, 200, 300), "home"),
        PlaceRow("anna", *destination(52.0, 5.0, 90, 100), "work"),
        PlaceRow("cees", *destination(52.0, 5.0, 0, 1_001), "home"),  # just outside
        PlaceRow("dirk", *destination(52.0, 5.0, 300, 1_200), "home"),
        PlaceRow("dirk", *destination(52.0, 5.0, 300, 999), "work"),
    ]
    selected = select_recipients(circle, rows)
    assert [(row.participant_id, row.label) for _, row in selected] == [
        ("anna", "work"),
        ("bram", "home"),
        ("dirk", "work"),
    ]
    assert [d for d, _ in selected] == pytest.approx([100, 300, 999], abs=1e-6)


def test_select_recipients_breaks_distance_ties_by_participant() -> None:
    circle = Circle(52.0, 5.0, 500)
    rows = [PlaceRow(pid, 52.0, 5.0, "home") for pid in ("c", "a", "b")]
    assert [row.participant_id for _, row in select_recipients(circle, rows)] == ["a", "b", "c"]


# --- the plan against brute force -------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A circle and the places of participants around it."""

    circle: Circle
    max_queries: int
    rows: list[PlaceRow]


def _snap(value: float, origin: float, step: float) -> float:
    return origin + round((value - origin) / step) * step


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    lat = draw(st.floats(50.75, 53.7))
    lon = draw(st.floats(3.2, 7.25))
    if draw(st.booleans()):
        # Near a cell edge: snap to an edge of a block of 2**k precision-5 cells (k = 6 is as
        # coarse as the u17|u1k edge), then nudge by up to a few hundred metres.
        k = draw(st.integers(0, 6))
        if draw(st.booleans()):
            lon = _snap(lon, -180.0, CELL_LON * 2**k) + draw(st.floats(-0.004, 0.004))
        if draw(st.booleans()):
            lat = _snap(lat, -90.0, CELL_LAT * 2**k) + draw(st.floats(-0.003, 0.003))
    radius = draw(st.floats(100, 20_000))
    circle = Circle(lat, lon, radius)

    rows: list[PlaceRow] = []
    reach = 1.5 * radius
    for n in range(draw(st.integers(0, 40))):
        # Uniform by area out to 1.5 radius, one in three with a second place.
        places = 2 if n % 3 == 0 else 1
        for label in ("home", "work")[:places]:
            bearing = draw(st.floats(0, 360))
            distance = reach * math.sqrt(draw(st.floats(0, 1)))
            rows.append(PlaceRow(f"p{n}", *destination(lat, lon, bearing, distance), label))
    if draw(st.booleans()):
        # A dense spot, so probes stop at their limit and the second round resumes after them;
        # a building's worth share one position (one precision-9 cell, many sort keys).
        bearing, distance = draw(st.floats(0, 360)), reach * math.sqrt(draw(st.floats(0, 1)))
        spot = destination(lat, lon, bearing, distance)
        spread = draw(st.sampled_from([0.0, 20.0, 0.05 * radius]))
        for n in range(draw(st.integers(PROBE_ITEMS, 4 * PROBE_ITEMS))):
            at = destination(*spot, draw(st.floats(0, 360)), spread * draw(st.floats(0, 1)))
            rows.append(PlaceRow(f"d{n}", *at, "home"))
    for n in range(draw(st.integers(0, 12))):
        # On the edge: 1 m inside and 1 m outside.
        bearing = draw(st.floats(0, 360))
        offset = 1.0 if n % 2 else -1.0
        rows.append(PlaceRow(f"e{n}", *destination(lat, lon, bearing, radius + offset), "home"))
    max_queries = draw(st.sampled_from([1, 4, 16, DEFAULT_MAX_QUERIES, 100_000]))
    return Scenario(circle, max_queries, rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
@example(
    Scenario(
        Circle(52.2, 5.626, 400),
        DEFAULT_MAX_QUERIES,
        [
            PlaceRow("west", 52.2, 5.6249, "home"),
            PlaceRow("east", 52.2, 5.6251, "home"),
            PlaceRow("edge", 52.2, 5.625, "home"),  # exactly on the u17|u1k edge
        ],
    )
)
def test_plan_finds_exactly_the_brute_force_recipients(scenario: Scenario) -> None:
    circle = scenario.circle
    plan = plan_queries(circle, scenario.max_queries).probes
    assert_well_formed(plan)
    partitions = len({k.partition for k in plan})

    read, index = execute(circle, scenario.rows, scenario.max_queries)
    selected = select_recipients(circle, read)

    assert index.queries <= max(scenario.max_queries, 2 * partitions)
    nearest: dict[str, float] = {}
    for row in scenario.rows:
        distance = haversine_m(circle.lat, circle.lon, row.lat, row.lon)
        if distance <= circle.radius_m:
            nearest[row.participant_id] = min(distance, nearest.get(row.participant_id, math.inf))
    assert {row.participant_id for _, row in selected} == set(nearest)
    assert {row.participant_id: d for d, row in selected} == nearest
    assert [d for d, _ in selected] == sorted(d for d, _ in selected)


# --- what a read unit holds -------------------------------------------------------------------


def dynamodb_item_bytes(item: dict[str, dict[str, str]]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (strings as UTF-8,
    numbers a byte per two significant digits plus one)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "N" in value:
            digits = value["N"].lstrip("-").replace(".", "").strip("0")
            size += math.ceil(len(digits) / 2) + 1
        else:
            size += len(value["S"].encode())
    return size


def test_planning_sizes_reads_by_a_geo_index_item_measured_from_the_model() -> None:
    from chalicelib.dal.models import Place

    pid, lat, lon = "0b5e4f2c-3d6a-4e8b-9c1f-7a2d5e8b4c3f", 52.0907123, 5.1213987
    place = Place(
        place_cell(lat, lon),
        place_sort_key(lat, lon, pid, "home"),
        participant_id=pid,
        label="home",
        lat=lat,
        lon=lon,
        phone="+31612345678",
        language="nl",
        channel="sms",
    )
    measured = dynamodb_item_bytes(place.serialize())
    assert measured == 175
    assert measured <= PLACE_ITEM_BYTES <= 1.1 * measured
    assert PROBE_ITEMS * PLACE_ITEM_BYTES <= 4096  # a probe's places fit in one read unit
