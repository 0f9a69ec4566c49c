"""Polygons and corridors through the dispatch API: who is alerted, what is shown, what is refused.

Everything runs through the emulated account (moto) and chalice's test client, as in `conftest`.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.geo.sphere import haversine_m
from chalicelib.handlers import workers
from tests.support.actions import (
    action_body,
    alerted_once,
    assert_error,
    assert_nothing_stored_or_sent,
)
from tests.support.builders import add_participant
from tests.support.cap import CAP_SCHEMA, NS
from tests.support.geometry import beside_line
from tests.support.system import System

# A neighbourhood east of Utrecht's centre, with a park left out of it (lon, lat).
OUTER = [[5.120, 52.085], [5.140, 52.085], [5.140, 52.098], [5.120, 52.098], [5.120, 52.085]]
PARK = [[5.126, 52.089], [5.126, 52.094], [5.134, 52.094], [5.134, 52.089], [5.126, 52.089]]
POLYGON = {"type": "Polygon", "coordinates": [OUTER, PARK]}
# A road through Utrecht, about 3.9 km, and everyone within 300 m of it.
ROAD = [[5.100, 52.080], [5.120, 52.090], [5.150, 52.095]]
CORRIDOR = {"type": "LineString", "coordinates": ROAD, "buffer_m": 300}

IN_NEIGHBOURHOOD = "+31630000001"
IN_PARK = "+31630000002"  # inside the hole: not in the area
EAST_OF_IT = "+31630000003"


def beside_road(segment: int, fraction: float, side: int, metres: float) -> tuple[float, float]:
    """(lat, lon) `metres` from the road, square to segment `segment` at `fraction` along it."""
    a, b = ROAD[segment], ROAD[segment + 1]
    lon, lat = beside_line((a[0], a[1]), (b[0], b[1]), fraction, side, metres)
    return lat, lon


def start(system: System, area: Any, **changes: Any) -> Any:
    return system.post("/actions", action_body(area=area, **changes))


# --- a polygon, end to end -------------------------------------------------------------------


def test_a_polygon_action_alerts_the_people_inside_and_sends_them_the_result(
    system: System,
) -> None:
    add_participant(IN_NEIGHBOURHOOD, (52.087, 5.122))
    add_participant(IN_PARK, (52.0915, 5.130))
    add_participant(EAST_OF_IT, (52.090, 5.145))

    started = start(system, POLYGON)
    assert started.status_code == 202, started.body
    view = started.json_body
    assert view["area"] == POLYGON  # as sent
    system.run_queues()

    assert alerted_once(system, IN_NEIGHBOURHOOD, view["ref"])
    assert system.emulator.sms_to(IN_PARK) == []
    assert system.emulator.sms_to(EAST_OF_IT) == []
    got = system.get(f"/actions/{view['action_id']}").json_body
    assert got["area"] == POLYGON
    assert got["counts"]["targeted"] == got["counts"]["sent"] == 1
    listed = system.get("/actions?status=active").json_body["actions"]
    assert [a["area"] for a in listed] == [POLYGON]

    closed = system.post(f"/actions/{view['action_id']}/close", {"outcome": "arrested"})
    assert closed.status_code == 200, closed.body
    system.run_queues()

    texts = system.emulator.sms_to(IN_NEIGHBOURHOOD)
    assert len(texts) == 2 and view["ref"] in texts[1]
    assert system.emulator.sms_to(IN_PARK) == system.emulator.sms_to(EAST_OF_IT) == []
    after = system.get(f"/actions/{view['action_id']}").json_body
    assert after["counts"]["results_sent"] == 1
    assert after["area"] == POLYGON


def test_the_sweep_expires_a_polygon_action_and_sends_its_result(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_participant(IN_NEIGHBOURHOOD, (52.087, 5.122))
    view = start(system, POLYGON, duration_minutes=5).json_body
    system.run_queues()

    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(workers, "now", lambda: later)
    assert system.sweep()["expired"] == 1
    system.run_queues()

    texts = system.emulator.sms_to(IN_NEIGHBOURHOOD)
    assert len(texts) == 2 and view["ref"] in texts[1]
    assert system.get(f"/actions/{view['action_id']}").json_body["outcome"] == "expired"


# --- a corridor -------------------------------------------------------------------------------


def test_a_corridor_alerts_exactly_the_people_within_the_buffer_and_reach_agrees(
    system: System,
) -> None:
    near = {}
    far = {}
    for n, (segment, fraction, side) in enumerate(
        [(0, 0.5, 1), (0, 0.3, -1), (1, 0.5, 1), (1, 0.8, -1)]
    ):
        near[f"+3163100000{n}"] = beside_road(segment, fraction, side, 288)  # 12 m inside
        far[f"+3163200000{n}"] = beside_road(segment, fraction, side, 312)  # 12 m outside
    for phone, at in {**near, **far}.items():
        add_participant(phone, at)

    reach = system.post("/reach", {"area": CORRIDOR})
    assert reach.status_code == 200, reach.body
    assert reach.json_body["participants"] == len(near)
    assert reach.json_body["expected"]["sms"]["people"] == len(near)
    view = start(system, CORRIDOR).json_body
    system.run_queues()

    for phone in near:
        assert alerted_once(system, phone, view["ref"]), phone
    for phone in far:
        assert system.emulator.sms_to(phone) == [], phone
    got = system.get(f"/actions/{view['action_id']}").json_body
    assert got["area"] == CORRIDOR
    assert got["counts"]["targeted"] == len(near)


def test_a_retry_with_the_same_shape_returns_the_same_action(system: System) -> None:
    headers = {"Idempotency-Key": "shape-1"}
    first = system.post("/actions", action_body(area=CORRIDOR), headers)
    again = system.post("/actions", action_body(area=CORRIDOR), headers)
    moved = {**CORRIDOR, "buffer_m": 301}
    other = system.post("/actions", action_body(area=moved), headers)

    assert first.status_code == again.status_code == 202
    assert again.json_body["action_id"] == first.json_body["action_id"]
    assert_error(other, 409, "idempotency_key_reused")


# --- bad shapes: 400 invalid_area, naming the rule and where; never a 500 --------------------


def ring_of(points: int, radius_deg: float = 0.01) -> list[list[float]]:
    """A closed regular ring around Utrecht with this many vertices."""
    ring = [
        [
            5.12 + radius_deg * math.cos(2 * math.pi * k / points),
            52.09 + radius_deg * math.sin(2 * math.pi * k / points),
        ]
        for k in range(points)
    ]
    return [*ring, ring[0]]


BOW_TIE = [[5.10, 52.08], [5.12, 52.10], [5.12, 52.08], [5.10, 52.10], [5.10, 52.08]]
LARGE = [[4.0, 51.5], [6.0, 51.5], [6.0, 52.5], [4.0, 52.5], [4.0, 51.5]]
OUTSIDE_HOLE = [[5.20, 52.20], [5.21, 52.20], [5.21, 52.21], [5.20, 52.21], [5.20, 52.20]]


@pytest.mark.parametrize(
    ("area", "field", "mentions"),
    [
        pytest.param(
            {"type": "Polygon", "coordinates": [ring_of(501)]},
            "area.coordinates",
            ["501 vertices", "500"],
            id="too-many-vertices",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": ring_of(600)[:501], "buffer_m": 100},
            "area.coordinates",
            ["501 vertices", "500"],
            id="line-too-many-vertices",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[*OUTER[:2], [2.35, 48.85], *OUTER[2:]]]},
            "area.coordinates[0][2]",
            ["outside the service area", "[2.35, 48.85]"],
            id="vertex-in-paris",
        ),
        pytest.param(
            {
                "type": "Polygon",
                "coordinates": [[[52.09, 5.12], [52.10, 5.12], [52.10, 5.13], [52.09, 5.12]]],
            },
            "area.coordinates[0][0]",
            ["outside the service area", "[lon, lat]"],
            id="lat-lon-swapped",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": [[10**400, 52.1], ROAD[1]], "buffer_m": 300},
            "area.coordinates[0]",
            ["outside the service area"],
            id="huge-integer",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [OUTER[:-1]]},
            "area.coordinates[0]",
            ["not closed"],
            id="not-closed",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [BOW_TIE]},
            "area.coordinates[0][0]",
            ["position 0 to 1", "position 2 to 3", "cross"],
            id="self-intersecting",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [OUTER, OUTSIDE_HOLE]},
            "area.coordinates[1]",
            ["hole outside the outer ring"],
            id="hole-outside",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [LARGE]},
            "area",
            ["km²", "1,257"],
            id="larger-than-a-20-km-circle",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": [[3.5, 51.5], [7.0, 53.5]], "buffer_m": 2000},
            "area",
            ["corridor", "1,257"],
            id="corridor-too-large",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": ROAD, "buffer_m": 2001},
            "area.buffer_m",
            ["50–2000"],
            id="buffer-too-wide",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": ROAD, "buffer_m": "300"},
            "area.buffer_m",
            ["50–2000"],
            id="buffer-a-string",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": [ROAD[0]], "buffer_m": 300},
            "area.coordinates",
            ["at least two"],
            id="line-of-one-point",
        ),
        pytest.param(
            {"type": "LineString", "coordinates": [ROAD[0], ROAD[0], ROAD[1]], "buffer_m": 300},
            "area.coordinates[1]",
            ["repeats"],
            id="repeated-position",
        ),
        pytest.param(
            {
                "type": "Polygon",
                "coordinates": [[[5.1, 52.1, 3.0], *OUTER[1:-1], [5.1, 52.1, 3.0]]],
            },
            "area.coordinates[0][0]",
            ["[lon, lat]"],
            id="three-numbers",
        ),
        pytest.param(
            {"type": "MultiPolygon", "coordinates": [[OUTER]]},
            "area.type",
            ["Polygon or LineString"],
            id="multipolygon",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": "Utrecht"},
            "area.coordinates",
            ["list of rings"],
            id="coordinates-a-string",
        ),
        pytest.param(
            {
                "type": "Polygon",
                "coordinates": [[[5.10, 52.08], [5.11, 52.08], [5.12, 52.08], [5.10, 52.08]]],
            },
            "area.coordinates[0]",
            ["encloses no area"],
            id="flat-ring",
        ),
    ],
)
def test_a_bad_shape_is_refused_saying_which_rule_and_where(
    system: System, area: dict[str, Any], field: str, mentions: list[str]
) -> None:
    assert_error(start(system, area), 400, "invalid_area", field, *mentions)
    assert_error(system.post("/reach", {"area": area}), 400, "invalid_area", field, *mentions)
    assert_nothing_stored_or_sent(system)


@pytest.mark.parametrize(
    ("area", "code", "field"),
    [
        pytest.param({"type": "Polygon"}, "missing_field", "area.coordinates", id="no-coordinates"),
        pytest.param(
            {"type": "LineString", "coordinates": ROAD},
            "missing_field",
            "area.buffer_m",
            id="no-buffer",
        ),
        pytest.param({**POLYGON, "bbox": [5, 52, 6, 53]}, "unknown_field", "area.bbox", id="bbox"),
        pytest.param({**CORRIDOR, "radius_m": 5}, "unknown_field", "area.radius_m", id="mixed"),
    ],
)
def test_a_shape_missing_or_with_extra_members_is_refused(
    system: System, area: dict[str, Any], code: str, field: str
) -> None:
    assert_error(start(system, area), 400, code, field)
    assert_nothing_stored_or_sent(system)


def test_the_largest_polygon_accepted_has_500_vertices(system: System) -> None:
    area = {"type": "Polygon", "coordinates": [ring_of(500)]}
    raw = json.dumps(action_body(area=area))
    assert len(raw) > 16 * 1024  # more than other routes take

    response = start(system, area)

    assert response.status_code == 202, response.body
    assert response.json_body["area"] == area


# --- the public face of a shape ------------------------------------------------------------


@pytest.mark.parametrize("area", [POLYGON, CORRIDOR], ids=["polygon", "corridor"])
def test_a_shape_is_a_cap_polygon_inside_the_alert_lists_circle(
    system: System, area: dict[str, Any]
) -> None:
    ref = start(system, area).json_body["ref"]

    response = system.get(f"/public/actions/{ref}.cap")
    CAP_SCHEMA.validate(response.body.decode())
    cap_area = ET.fromstring(response.body).find("cap:info/cap:area", NS)
    assert cap_area is not None
    assert cap_area.find("cap:circle", NS) is None
    [polygon] = cap_area.findall("cap:polygon", NS)
    [item] = [
        a
        for a in system.get("/public/alerts").json_body
        if a["Message"]["Readmore_URL"].endswith(f"/a/{ref}")
    ]
    pairs = [tuple(map(float, p.split(","))) for p in str(polygon.text).split()]
    assert pairs[0] == pairs[-1] and len(pairs) >= 4
    centre, radius_km = item["Area"]["Circle"].split()  # CAP's unit: km
    lat, lon = map(float, centre.split(","))
    assert all(haversine_m(lat, lon, *pair) <= float(radius_km) * 1000 for pair in pairs)
    if area is POLYGON:  # the outer ring as sent, as lat,lon
        assert pairs == [(p[1], p[0]) for p in OUTER]
