"""Municipalities as an administrator sees them: POST an outline, read it back, list them all.

Everything runs through the emulated account (moto) and chalice's test client, as in `conftest`.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from tests.support.system import System

FIXTURE = Path(__file__).parents[2] / "tools" / "fixtures" / "gm0344_utrecht.json"
UTRECHT = json.loads(FIXTURE.read_text())
UTRECHT_RING = UTRECHT["area"]["coordinates"][0]
UTRECHT_BBOX = [4.97, 52.045, 5.195, 52.14]
MISSING = object()  # a field left out of a request body


def square(lon: float, lat: float, size: float = 0.05) -> list[list[float]]:
    """A closed square ring with its south-west corner at (lon, lat)."""
    return [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]


def body(**changes: Any) -> dict[str, Any]:
    """A valid POST /municipalities body (the demo Utrecht), with fields changed or left out."""
    out = {**UTRECHT, **changes}
    return {key: value for key, value in out.items() if value is not MISSING}


def polygons(area: dict[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons of a GeoJSON Polygon or MultiPolygon, as [lon, lat] lists to 1e-7 degree
    (about 1 cm: the precision outlines are stored with)."""
    assert area["type"] in ("Polygon", "MultiPolygon"), area
    found = [area["coordinates"]] if area["type"] == "Polygon" else area["coordinates"]
    return [
        [[[round(float(x), 7) for x in pos[:2]] for pos in ring] for ring in poly] for poly in found
    ]


def assert_error(response: Any, status: int, code: str | None, field: str | None) -> None:
    """The response is the API's JSON error naming the field (and code, when given)."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    error = json.loads(response.body)
    if code is not None:
        assert error["error"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if field is not None:
        assert error.get("field") == field, error


def get(system: System, code: str) -> Any:
    return system.get(f"/municipalities/{code}")


def listed(system: System) -> dict[str, dict[str, Any]]:
    response = system.get("/municipalities")
    assert response.status_code == 200, response.body
    return {m["code"]: m for m in response.json_body["municipalities"]}


# --- Creating and reading ------------------------------------------------------------------------


def test_given_a_geojson_polygon_when_posted_then_it_is_stored_with_its_area(
    system: System,
) -> None:
    response = system.post("/municipalities", UTRECHT)

    assert response.status_code == 201, response.body
    created = response.json_body
    assert (created["code"], created["name"]) == ("GM0344", "Utrecht")
    assert created["bbox"] == pytest.approx(UTRECHT_BBOX)

    got = get(system, "GM0344")
    assert got.status_code == 200, got.body
    view = got.json_body
    assert (view["code"], view["name"]) == ("GM0344", "Utrecht")
    assert view["bbox"] == pytest.approx(UTRECHT_BBOX)
    assert polygons(view["area"]) == [[UTRECHT_RING]]


def test_given_a_multipolygon_when_posted_then_every_part_is_kept(system: System) -> None:
    # Given a municipality in two parts, the second with a hole (a lake) in it
    west, east = square(5.0, 52.0), square(5.2, 52.1, 0.1)
    hole = [[5.22, 52.12], [5.24, 52.12], [5.24, 52.14], [5.22, 52.14], [5.22, 52.12]]
    area = {"type": "MultiPolygon", "coordinates": [[west], [east, hole]]}

    response = system.post("/municipalities", body(code="GM0355", name="Zeist", area=area))

    assert response.status_code == 201, response.body
    view = get(system, "GM0355").json_body
    assert view["name"] == "Zeist"
    assert polygons(view["area"]) == [[west], [east, hole]]
    assert view["bbox"] == pytest.approx([5.0, 52.0, 5.3, 52.2])


def test_given_only_a_bbox_when_posted_then_the_area_is_that_rectangle(system: System) -> None:
    bbox = [5.03, 52.0, 5.12, 52.05]

    response = system.post(
        "/municipalities", {"code": "GM0356", "name": "Nieuwegein", "bbox": bbox}
    )

    assert response.status_code == 201, response.body
    view = get(system, "GM0356").json_body
    assert view["bbox"] == pytest.approx(bbox)
    [[ring]] = polygons(view["area"])
    assert ring[0] == ring[-1]
    assert {tuple(p) for p in ring} == {(5.03, 52.0), (5.12, 52.0), (5.12, 52.05), (5.03, 52.05)}


def test_listing_gives_every_code_name_and_bbox_without_outlines(system: System) -> None:
    assert listed(system) == {}
    system.post("/municipalities", UTRECHT)
    system.post(
        "/municipalities", {"code": "GM0356", "name": "Nieuwegein", "bbox": [5, 52, 5.1, 52.1]}
    )

    municipalities = listed(system)

    assert set(municipalities) == {"GM0344", "GM0356"}
    assert municipalities["GM0344"]["name"] == "Utrecht"
    assert municipalities["GM0344"]["bbox"] == pytest.approx(UTRECHT_BBOX)
    assert municipalities["GM0356"] == {
        "code": "GM0356",
        "name": "Nieuwegein",
        "bbox": pytest.approx([5, 52, 5.1, 52.1]),
    }
    for m in municipalities.values():
        assert set(m) == {"code", "name", "bbox"}


def test_posting_the_same_code_again_replaces_the_municipality(system: System) -> None:
    system.post("/municipalities", UTRECHT)
    smaller = square(5.1, 52.07)

    again = system.post(
        "/municipalities",
        body(name="Gemeente Utrecht", area={"type": "Polygon", "coordinates": [smaller]}),
    )

    assert again.status_code == 201, again.body
    view = get(system, "GM0344").json_body
    assert view["name"] == "Gemeente Utrecht"
    assert polygons(view["area"]) == polygons({"type": "Polygon", "coordinates": [smaller]})
    assert view["bbox"] == pytest.approx([5.1, 52.07, 5.15, 52.12])
    assert list(listed(system)) == ["GM0344"]


def test_a_detailed_outline_of_tens_of_thousands_of_vertices_is_accepted(system: System) -> None:
    # The largest Dutch municipal outlines have tens of thousands of vertices; such an outline
    # (about 1 MB of GeoJSON, well under the 4 MiB limit) must be stored and read back whole.
    n = 40_000
    ring = [
        [
            round(5.1 + 0.07 * math.cos(2 * math.pi * i / n), 6),
            round(52.09 + 0.045 * math.sin(2 * math.pi * i / n), 6),
        ]
        for i in range(n)
    ]
    ring.append(ring[0])
    area = {"type": "Polygon", "coordinates": [ring]}
    assert 500_000 < len(json.dumps(area)) < 4 * 1024 * 1024

    response = system.post("/municipalities", body(area=area))

    assert response.status_code == 201, response.body
    view = get(system, "GM0344").json_body
    assert polygons(view["area"]) == [[ring]]


# --- Bad input: a 4xx JSON error naming the field, and nothing stored ----------------------------


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        pytest.param({"code": "GM344"}, "invalid_municipality_code", "code", id="three-digits"),
        pytest.param({"code": "XX0344"}, "invalid_municipality_code", "code", id="not-GM"),
        pytest.param({"code": "gm0344"}, "invalid_municipality_code", "code", id="lower-case"),
        pytest.param({"code": 344}, "invalid_municipality_code", "code", id="number"),
        pytest.param({"code": MISSING}, "missing_field", "code", id="no-code"),
        pytest.param({"name": MISSING}, "missing_field", "name", id="no-name"),
        pytest.param({"name": "  "}, "wrong_type", "name", id="blank-name"),
        pytest.param({"name": ["Utrecht"]}, "wrong_type", "name", id="name-list"),
        pytest.param(
            {"area": {"type": "Point", "coordinates": [5.12, 52.09]}},
            "invalid_area",
            "area",
            id="point",
        ),
        pytest.param(
            {"area": {"type": "LineString", "coordinates": square(5.1, 52.0)}},
            "invalid_area",
            "area",
            id="linestring",
        ),
        pytest.param(
            {"area": {"type": "Feature", "geometry": UTRECHT["area"]}},
            "invalid_area",
            "area",
            id="feature",
        ),
        pytest.param({"area": "Utrecht"}, "invalid_area", "area", id="area-string"),
        pytest.param(
            {"area": {"type": "Polygon", "coordinates": [square(5.1, 52.0)[:-1]]}},
            "invalid_area",
            "area",
            id="unclosed-ring",
        ),
        pytest.param(
            {"area": {"type": "Polygon", "coordinates": [[[5.1, 52.0], [5.2, 52.0], [5.1, 52.0]]]}},
            "invalid_area",
            "area",
            id="three-positions",
        ),
        pytest.param(
            {"area": {"type": "Polygon", "coordinates": []}}, "invalid_area", "area", id="empty"
        ),
        pytest.param(
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[5.1, 52.0], [5.2, "52"], [5.2, 52.1], [5.1, 52.0]]],
                }
            },
            "invalid_area",
            "area",
            id="position-string",
        ),
        pytest.param(
            {"area": {"type": "Polygon", "coordinates": [square(185.0, 52.0)]}},
            "invalid_area",
            "area",
            id="lon-out-of-range",
        ),
        pytest.param({"area": MISSING}, None, "area", id="neither-area-nor-bbox"),
        pytest.param({"bbox": [5.0, 52.0, 5.1, 52.1]}, None, None, id="both-area-and-bbox"),
        pytest.param(
            {"area": MISSING, "bbox": [5.2, 52.0, 5.1, 52.1]},
            "invalid_area",
            "bbox",
            id="lon-min>max",
        ),
        pytest.param(
            {"area": MISSING, "bbox": [5.0, 52.1, 5.1, 52.0]},
            "invalid_area",
            "bbox",
            id="lat-min>max",
        ),
        pytest.param(
            {"area": MISSING, "bbox": [5.0, 52.0, 5.1]}, "invalid_area", "bbox", id="bbox-three"
        ),
        pytest.param({"population": 361_924}, "unknown_field", "population", id="unknown-field"),
        # The name is the public place of actions in it: a feed reader must be able to take it.
        pytest.param({"name": "Utrecht\x01"}, "invalid_character", "name", id="name-control"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(
    system: System, changes: dict[str, Any], code: str | None, field: str | None
) -> None:
    response = system.post("/municipalities", body(**changes))

    assert_error(response, 400, code, field)
    if field is None:  # both area and bbox: either one may be named
        assert json.loads(response.body).get("field") in ("area", "bbox")
    assert listed(system) == {}


def test_a_body_over_4_mib_is_refused_with_413(system: System) -> None:
    ring = [[5.0 + i * 1e-7, 52.0 + (i % 2) * 1e-7] for i in range(200_000)]
    ring.append(ring[0])
    raw = json.dumps(body(area={"type": "Polygon", "coordinates": [ring]}))
    assert len(raw.encode()) > 4 * 1024 * 1024

    response = system.post("/municipalities", raw)

    assert_error(response, 413, "body_too_large", None)
    assert get(system, "GM0344").status_code == 404
    assert listed(system) == {}


def test_an_unknown_code_is_404(system: System) -> None:
    system.post("/municipalities", UTRECHT)

    response = get(system, "GM0363")

    assert response.status_code == 404, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    error = json.loads(response.body)
    assert "GM0363" in error["message"]


def test_an_outline_too_detailed_to_store_is_refused_with_advice(system: System) -> None:
    # 120,000 jittery vertices compress poorly: more than a DynamoDB item can hold.
    rng = random.Random(7)
    n = 120_000
    ring = [
        [
            round(5.1 + 0.07 * math.cos(2 * math.pi * i / n) + rng.uniform(-1e-4, 1e-4), 7),
            round(52.09 + 0.045 * math.sin(2 * math.pi * i / n) + rng.uniform(-1e-4, 1e-4), 7),
        ]
        for i in range(n)
    ]
    ring.append(ring[0])

    response = system.post("/municipalities", body(area={"type": "Polygon", "coordinates": [ring]}))

    assert_error(response, 400, "area_too_detailed", "area")
    assert "simplify" in response.json_body["message"]
    assert get(system, "GM0344").status_code == 404
