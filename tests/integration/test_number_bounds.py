"""Numbers at the edge of what JSON can say: each is refused with a 400 naming the field and what
is allowed, never a 500.

JSON has no limits of its own: an integer of 400 digits, 1e308 or 4.6e-184 is valid JSON, and
each must stop where it is parsed, before it reaches arithmetic that overflows (a stored integer,
float(), int(), a date). The action area's own numbers (centre, radius, corridor positions and
buffer, duration) have such cases in test_dispatch_api and test_areas.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.actions import action_body, area, assert_error
from tests.support.devices import alerted_device, put_location, register, sighting
from tests.support.residents import signup_body
from tests.support.system import System

HUGE = 10**400  # valid JSON; float() of it raises OverflowError


def municipality(**fields: Any) -> dict[str, Any]:
    return {"code": "GM0356", "name": "Nieuwegein", **fields}


def stored_municipalities(system: System) -> list[dict[str, Any]]:
    listed = system.get("/municipalities")
    assert listed.status_code == 200, listed.body
    return list(listed.json_body["municipalities"])


# --- a municipality's bbox and outline ---------------------------------------------------------


@pytest.mark.parametrize(
    ("bbox", "member"),
    [
        # The fuzzer's find, exactly: it overflowed the stored integers (a 500).
        pytest.param([-1.4e173, 0, 3.3e16, 4.6e-184], "bbox[0] (min_lon)", id="issue-18"),
        pytest.param([0, 0, HUGE, 1], "bbox[2] (max_lon)", id="huge-integer"),
        pytest.param([5.0, 52.0, 1e308, 52.1], "bbox[2] (max_lon)", id="1e308"),
        pytest.param([5.0, -90.5, 5.1, 52.1], "bbox[1] (min_lat)", id="below-south-pole"),
        pytest.param([5.0, 52.0, 180.0000001, 52.1], "bbox[2] (max_lon)", id="past-antimeridian"),
        pytest.param([5.0, 52.0, 5.1, 91], "bbox[3] (max_lat)", id="past-north-pole"),
    ],
)
def test_a_bbox_beyond_the_globe_is_400_naming_the_member_and_the_range(
    system: System, bbox: list[float], member: str
) -> None:
    response = system.post("/municipalities", municipality(bbox=bbox))

    body = assert_error(response, 400, "out_of_range", "bbox", member)
    allowed = "-180 to 180 degrees" if "lon" in member else "-90 to 90 degrees"
    assert allowed in body["message"], body
    assert stored_municipalities(system) == []


def test_a_huge_integer_is_shown_cut_short_in_the_message(system: System) -> None:
    response = system.post("/municipalities", municipality(bbox=[0, 0, HUGE, 1]))

    message = assert_error(response, 400, "out_of_range", "bbox")["message"]
    assert "(401 digits)" in message and len(message) < 200, message


def test_a_bbox_narrower_than_the_stored_precision_is_400_saying_so(system: System) -> None:
    # 4.6e-184 is no number DynamoDB can store, and 1e-9 degree rounds to nothing at 1e-7.
    response = system.post("/municipalities", municipality(bbox=[5.0, 0, 5.000000001, 4.6e-184]))

    assert_error(response, 400, "invalid_area", "bbox", "below its maximums", "1e-7 degree")
    assert stored_municipalities(system) == []


def test_the_whole_globe_as_a_bbox_is_stored_and_read_back(system: System) -> None:
    response = system.post("/municipalities", municipality(bbox=[-180, -90, 180, 90]))

    assert response.status_code == 201, response.body
    [stored] = stored_municipalities(system)
    assert stored["bbox"] == [-180, -90, 180, 90]


def test_a_bbox_is_kept_to_the_precision_its_outline_is_stored_with(system: System) -> None:
    response = system.post(
        "/municipalities", municipality(bbox=[5.030000004, 52.0, 5.12, 52.05000006])
    )

    assert response.status_code == 201, response.body
    view = system.get("/municipalities/GM0356").json_body
    assert view["bbox"] == [5.03, 52.0, 5.12, 52.0500001]
    assert {tuple(p) for p in view["area"]["coordinates"][0][0]} == {
        (5.03, 52.0),
        (5.12, 52.0),
        (5.12, 52.0500001),
        (5.03, 52.0500001),
    }


@pytest.mark.parametrize(
    "position",
    [
        pytest.param([HUGE, 52.0], id="huge-integer-lon"),
        pytest.param([5.0, HUGE], id="huge-integer-lat"),
        pytest.param([1e308, 52.0], id="1e308"),
        pytest.param([-1.4e173, 52.0], id="-1.4e173"),
    ],
)
def test_an_outline_position_beyond_the_globe_is_400_with_the_range(
    system: System, position: list[float]
) -> None:
    ring = [position, [5.1, 52.0], [5.1, 52.1], [5.0, 52.1], position]
    area_ = {"type": "Polygon", "coordinates": [ring]}

    response = system.post("/municipalities", municipality(area=area_))

    assert_error(response, 400, "invalid_area", "area", "lon -180 to 180", "lat -90 to 90")
    assert stored_municipalities(system) == []


# --- the action's numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param(
            action_body(area=area(lat=-1.4e173)), "outside_service_area", "area.lat", id="lat"
        ),
        pytest.param(
            action_body(area=area(lon=3.3e16)), "outside_service_area", "area.lon", id="lon"
        ),
        pytest.param(
            action_body(area=area(radius_m=1e308)), "out_of_range", "area.radius_m", id="radius"
        ),
        pytest.param(
            action_body(duration_minutes=1e308), "wrong_type", "duration_minutes", id="duration"
        ),
    ],
)
def test_an_action_with_a_number_near_the_float_limit_is_400(
    system: System, body: dict[str, Any], code: str, field: str
) -> None:
    assert_error(system.post("/actions", body), 400, code, field)


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param("1" * 5000, id="5000-digits"),  # int() refuses over 4,300 digits
        pytest.param("101", id="101"),
        pytest.param("0", id="0"),
    ],
)
def test_a_list_limit_outside_1_to_100_is_400_however_many_digits(
    system: System, limit: str
) -> None:
    response = system.get(f"/actions?limit={limit}")

    assert_error(response, 400, "out_of_range", "limit", "1–100")


@pytest.mark.parametrize("limit", ["007", "0" * 5000 + "1"], ids=["007", "5000-zeros-then-1"])
def test_a_list_limit_with_leading_zeros_is_still_its_number(system: System, limit: str) -> None:
    response = system.get(f"/actions?limit={limit}")

    assert response.status_code == 200, response.body


# --- the app's numbers and times ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        pytest.param(HUGE, 5.12, "lat", id="huge-integer"),
        pytest.param(52.09, -1.4e173, "lon", id="-1.4e173"),
        pytest.param(1e308, 5.12, "lat", id="1e308"),
    ],
)
def test_a_device_location_near_the_float_limit_is_400(
    app: System, lat: float, lon: float, field: str
) -> None:
    device = register(app)

    response = put_location(app, device, lat, lon)

    assert_error(response, 400, "outside_service_area", field)


@pytest.mark.parametrize(
    "seen_at",
    [
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
    ],
)
def test_a_sighting_time_that_utc_cannot_hold_is_400_invalid_time(
    app: System, seen_at: str
) -> None:
    device, action = alerted_device(app)
    body = {"lat": 52.0907, "lon": 5.1214, "seen_at": seen_at}

    response = sighting(app, device, action["action_id"], body)

    assert_error(response, 400, "invalid_time", "seen_at")


@pytest.mark.parametrize("value", [HUGE, 1e308, -1.4e173], ids=["huge-integer", "1e308", "neg"])
def test_a_signup_place_near_the_float_limit_is_400(system: System, value: float) -> None:
    place = {"label": "home", "lat": value, "lon": 5.12}

    response = system.post("/signup", signup_body(places=[place]))

    assert response.status_code == 400, response.body
    error = json.loads(response.body)
    assert (error["error"], error["field"]) == ("outside_service_area", "places[0].lat"), error
