"""The dispatch API's contract, as a dispatch system sees it: status codes, error bodies, SMS.

Everything runs through the emulated account (moto) and chalice's test client, as in `conftest`.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.domain.messages import description_overflow, result_message_overflow
from chalicelib.domain.model import Incident, Outcome
from chalicelib.handlers import dispatch as dispatch_module
from tests.support.actions import (
    MISSING,
    action_body,
    alerted_once,
    area,
    assert_error,
    assert_nothing_stored_or_sent,
    start,
    started,
)
from tests.support.builders import UTRECHT, UTRECHT_AREA, add_participant
from tests.support.system import System
from tools.emulator import stage_environment

CALLBACK_NUMBER = stage_environment("test")["CALLBACK_NUMBER"]
METRES_PER_DEGREE_LAT = 111_195
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

INSIDE = ("+31610000001", "+31610000002")  # within 1 km of the Dom
OUTSIDE = "+31610000009"  # 5.5 km north


def north(metres: float) -> tuple[float, float]:
    """A point the given distance due north of UTRECHT."""
    return UTRECHT[0] + metres / METRES_PER_DEGREE_LAT, UTRECHT[1]


VALID = json.dumps(action_body())


def raw_with_radius(literal: str) -> str:
    """The valid body as JSON text with a literal json.dumps cannot write (NaN, 1e999) as radius."""
    raw = VALID.replace('"radius_m": 1000', f'"radius_m": {literal}')
    assert raw != VALID
    return raw


def parse_iso(text: str) -> datetime:
    assert ISO_UTC.match(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def residents(system: System) -> None:
    """Two people inside the default area and one outside it."""
    add_participant(INSIDE[0], north(200))
    add_participant(INSIDE[1], north(-600), language="en")
    add_participant(OUTSIDE, north(5500))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API's clock moves one second per request, so creation order is unambiguous."""
    start = datetime.now(UTC).replace(microsecond=0)
    moments = (start + timedelta(seconds=s) for s in itertools.count())

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return next(moments)

    monkeypatch.setattr(dispatch_module, "datetime", Clock)
    yield


# --- 1. Starting an action ----------------------------------------------------------------------


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize("duration", [None, 5, 30, 480])
def test_start_action_answers_202_and_alerts_the_people_inside(
    system: System, duration: int | None
) -> None:
    changes = {} if duration is None else {"duration_minutes": duration}
    body = action_body(**changes)

    response = start(system, body)

    assert response.status_code == 202, response.body
    view = response.json_body
    action_id = view["action_id"]
    assert response.headers["Location"].endswith(f"/actions/{action_id}")
    assert view["status"] == "active"
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{6}", view["ref"])
    assert view["incident"] == body["incident"]
    assert view["description"] == body["description"]
    assert view["area"] == {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1000}
    assert view["channels"] == ["sms"]
    created, expires = parse_iso(view["created_at"]), parse_iso(view["expires_at"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    assert expires - created == timedelta(minutes=duration or 60)
    assert set(view["counts"].values()) == {0}
    # Accepted, not done: nothing goes out until the queues run.
    assert system.emulator.sms() == []

    system.run_queues()

    after = system.get(f"/actions/{action_id}")
    assert after.status_code == 200
    counts = after.json_body["counts"]
    assert counts["targeted"] == counts["sent"] == len(INSIDE)
    assert counts["failed"] == counts["cancelled"] == counts["queued"] == 0
    assert after.json_body["status"] == "active"
    for phone in INSIDE:
        assert alerted_once(system, phone, view["ref"])
    assert system.emulator.sms_to(OUTSIDE) == []


def test_get_action_shows_what_post_returned(system: System) -> None:
    view = started(system)

    got = system.get(f"/actions/{view['action_id']}")

    assert got.status_code == 200
    # What to expect is told once, at the start; the action itself reads back the same.
    assert got.json_body == {key: value for key, value in view.items() if key != "expected"}


def test_content_type_with_charset_is_accepted(system: System) -> None:
    response = start(system, headers={"Content-Type": "application/json; charset=utf-8"})

    assert response.status_code == 202, response.body


# --- 2. Bad input: a 4xx JSON error, never a 500, and nothing stored or sent -------------------


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param('{"incident": "burglary",', "malformed_json", id="truncated"),
        pytest.param("{'incident': 'burglary'}", "malformed_json", id="single-quotes"),
        pytest.param(raw_with_radius("NaN"), "malformed_json", id="nan"),
        pytest.param(raw_with_radius("Infinity"), "malformed_json", id="infinity"),
        pytest.param(b"\xff\xfe{}", "malformed_json", id="not-utf8"),
        pytest.param(f"[{VALID}]", "invalid_body", id="array"),
        pytest.param('"burglary"', "invalid_body", id="string"),
        pytest.param("null", "invalid_body", id="null"),
        pytest.param("", "missing_body", id="empty"),
    ],
)
def test_body_that_is_not_one_json_object_is_refused(
    system: System, raw: str | bytes, code: str
) -> None:
    assert_error(start(system, raw), 400, code)
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(action_body(incident=MISSING), "incident", id="incident"),
        pytest.param(action_body(incident=None), "incident", id="incident-null"),
        pytest.param(action_body(description=MISSING), "description", id="description"),
        pytest.param(action_body(area=MISSING), "area", id="area"),
        pytest.param(action_body(area=area(lat=MISSING)), "area.lat", id="area.lat"),
        pytest.param(action_body(area=area(lon=MISSING)), "area.lon", id="area.lon"),
        pytest.param(action_body(area=area(radius_m=MISSING)), "area.radius_m", id="radius_m"),
    ],
)
def test_missing_required_field_is_named(system: System, body: dict[str, Any], field: str) -> None:
    assert_error(start(system, body), 400, "missing_field", field, field)
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(action_body(incident=7), "incident", id="incident-number"),
        pytest.param(action_body(description=["a"]), "description", id="description-list"),
        pytest.param(action_body(area=[UTRECHT[0], UTRECHT[1], 1000]), "area", id="area-list"),
        pytest.param(action_body(area=area(radius_m="1000")), "area.radius_m", id="radius-string"),
        pytest.param(action_body(area=area(lat=True)), "area.lat", id="lat-bool"),
        pytest.param(action_body(area=area(lon="5.12")), "area.lon", id="lon-string"),
        pytest.param(action_body(duration_minutes=60.5), "duration_minutes", id="duration-float"),
        pytest.param(action_body(duration_minutes="60"), "duration_minutes", id="duration-str"),
        pytest.param(action_body(duration_minutes=True), "duration_minutes", id="duration-bool"),
        pytest.param(action_body(channels="sms"), "channels", id="channels-string"),
        pytest.param(action_body(channels=[]), "channels", id="channels-empty"),
        pytest.param(action_body(channels=None), "channels", id="channels-null"),
        # Valid JSON that Python reads as infinity: a number, but not a finite one.
        pytest.param(raw_with_radius("1e999"), "area.radius_m", id="radius-1e999"),
    ],
)
def test_wrong_type_is_named(system: System, body: dict[str, Any] | str, field: str) -> None:
    assert_error(start(system, body), 400, "wrong_type", field, field)
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
def test_unknown_incident_lists_the_allowed_ones(system: System) -> None:
    response = start(system, action_body(incident="arson"))

    assert_error(
        response, 400, "unknown_incident", "incident", "arson", *(i.value for i in Incident)
    )
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    "channels",
    [
        pytest.param(["voice"], id="voice-not-in-this-stage"),
        pytest.param(["sms", "voice"], id="sms-and-voice"),
        pytest.param(["fax"], id="fax-unknown"),
    ],
)
def test_unavailable_channel_names_the_available_ones(system: System, channels: list[str]) -> None:
    response = start(system, action_body(channels=channels))

    body = assert_error(response, 400, "unknown_channel", "channels", channels[-1], "sms")
    assert "voice" not in body["message"].replace(repr(channels[-1]), "")
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        pytest.param(
            action_body(area=area(radius_m=99)), "area.radius_m", ("100", "20000"), id="r99"
        ),
        pytest.param(
            action_body(area=area(radius_m=20001)), "area.radius_m", ("100", "20000"), id="r20001"
        ),
        pytest.param(
            action_body(area=area(radius_m=-1000)), "area.radius_m", ("100", "20000"), id="r-neg"
        ),
        pytest.param(action_body(duration_minutes=4), "duration_minutes", ("5", "480"), id="d4"),
        pytest.param(
            action_body(duration_minutes=481), "duration_minutes", ("5", "480"), id="d481"
        ),
        pytest.param(action_body(duration_minutes=0), "duration_minutes", ("5", "480"), id="d0"),
        pytest.param(
            action_body(area=area(radius_m=10**400)), "area.radius_m", ("100", "20000"), id="r-huge"
        ),
        pytest.param(
            action_body(duration_minutes=10**400), "duration_minutes", ("5", "480"), id="d-huge"
        ),
    ],
)
def test_out_of_range_names_the_allowed_range(
    system: System, body: dict[str, Any], field: str, allowed: tuple[str, str]
) -> None:
    assert_error(start(system, body), 400, "out_of_range", field, field, *allowed)
    assert_nothing_stored_or_sent(system)


OUTSIDE_NETHERLANDS = [
    pytest.param(48.85, 2.35, "area.lat", id="paris"),
    pytest.param(53.71, 6.0, "area.lat", id="north-sea"),
    pytest.param(50.74, 5.7, "area.lat", id="liege"),
    pytest.param(52.0, 7.3, "area.lon", id="germany"),
    pytest.param(52.0, 3.1, "area.lon", id="west-of-coast"),
    pytest.param(-52.09, 5.12, "area.lat", id="southern-hemisphere"),
    pytest.param(10**400, 5.12, "area.lat", id="huge-integer"),
]


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(("lat", "lon", "field"), OUTSIDE_NETHERLANDS)
def test_area_outside_the_netherlands_is_refused(
    system: System, lat: float, lon: float, field: str
) -> None:
    response = start(system, action_body(area=area(lat=lat, lon=lon)))

    assert_error(response, 400, "outside_service_area", field, "Netherlands")
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        pytest.param(
            {**action_body(), "radius": 1000}, "radius", ("area", "duration_minutes"), id="top"
        ),
        pytest.param(
            action_body(area={**area(), "radius": 5}), "area.radius", ("radius_m",), id="in-area"
        ),
        pytest.param(action_body(ref="ABC123"), "ref", ("incident", "channels"), id="ref"),
    ],
)
def test_unknown_field_is_named_with_the_allowed_ones(
    system: System, body: dict[str, Any], field: str, allowed: tuple[str, ...]
) -> None:
    response = start(system, body)

    assert_error(response, 400, "unknown_field", field, field.rsplit(".", 1)[-1], *allowed)
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    "description",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param(" \n\t\u00a0 ", id="mixed-whitespace"),
        pytest.param("\u200b\u200b", id="zero-width-only"),
    ],
)
def test_empty_description_is_refused(system: System, description: str) -> None:
    response = start(system, action_body(description=description))

    assert_error(response, 400, "empty_description", "description")
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize("incident", [Incident.BURGLARY, Incident.MISSING_PERSON])
@pytest.mark.parametrize("length", [450, 2000])
def test_description_too_long_says_by_how_much(
    system: System, incident: Incident, length: int
) -> None:
    description = ("Lange man met rode pet " * 200)[:length].strip()
    overflow = description_overflow(incident, description, CALLBACK_NUMBER)
    assert overflow > 0  # the test's own premise

    response = start(system, action_body(incident=incident.value, description=description))

    body = assert_error(response, 400, "description_too_long", "description")
    assert f"{overflow} characters too long" in body["message"]
    assert_nothing_stored_or_sent(system)


def test_description_just_within_the_limit_is_accepted(system: System) -> None:
    description = "Lange man met rode pet " * 20
    while description_overflow(Incident.BURGLARY, description.strip(), CALLBACK_NUMBER):
        description = description[:-1]

    response = start(system, action_body(description=description.strip()))

    assert response.status_code == 202, response.body


@pytest.mark.usefixtures("residents")
def test_deeply_nested_body_is_a_400_not_a_500(system: System) -> None:
    depth = 2000  # 12 001 bytes: under the size limit, over the JSON parser's nesting limit
    raw = '{"a":' * depth + "1" + "}" * depth

    response = start(system, raw)

    assert response.status_code == 400, response.body
    assert {"error", "message"} <= set(json.loads(response.body))
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
def test_body_larger_than_64_kib_is_refused(system: System) -> None:
    raw = json.dumps(action_body(description="x" * (64 * 1024)))

    body = assert_error(start(system, raw), 413, "body_too_large")
    assert "65536" in body["message"]
    assert_nothing_stored_or_sent(system)


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 200, id="200-chars"),
        pytest.param("k" * 129, id="129-chars"),
        pytest.param("", id="empty"),
        pytest.param("sleutel-\u00e9", id="not-ascii"),
    ],
)
def test_invalid_idempotency_key_is_refused(system: System, key: str) -> None:
    response = start(system, headers={"Idempotency-Key": key})

    assert_error(response, 400, "invalid_idempotency_key", "Idempotency-Key", "128")
    assert_nothing_stored_or_sent(system)


# --- 3. Content type -----------------------------------------------------------------------------


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize("path", ["/actions", "/reach"])
def test_plain_text_gets_415_in_the_api_error_shape(system: System, path: str) -> None:
    response = system.client.http.post(path, body=VALID, headers={"Content-Type": "text/plain"})

    body = assert_error(response, 415, "unsupported_media_type", None, "text/plain")
    assert set(body) <= {"error", "message", "field"}
    assert_nothing_stored_or_sent(system)


# --- 4. Idempotency ------------------------------------------------------------------------------


@pytest.mark.usefixtures("residents")
def test_retry_with_the_same_key_returns_the_same_action_and_alerts_once(system: System) -> None:
    headers = {"Idempotency-Key": "meldkamer-midden-2024-000123"}

    first = start(system, headers=headers)
    second = start(system, headers=headers)

    assert first.status_code == second.status_code == 202
    assert second.json_body["action_id"] == first.json_body["action_id"]
    assert second.json_body["ref"] == first.json_body["ref"]
    listed = system.get("/actions?status=active").json_body["actions"]
    assert [a["action_id"] for a in listed] == [first.json_body["action_id"]]

    system.run_queues()
    third = start(system, headers=headers)  # a late retry, after the alerts went out
    system.run_queues()

    assert third.json_body["action_id"] == first.json_body["action_id"]
    for phone in INSIDE:
        assert alerted_once(system, phone, first.json_body["ref"])
    assert system.emulator.sms_to(OUTSIDE) == []
    counts = system.get(f"/actions/{first.json_body['action_id']}").json_body["counts"]
    assert counts["targeted"] == counts["sent"] == len(INSIDE)


@pytest.mark.usefixtures("residents")
def test_same_key_with_a_different_body_is_a_conflict(system: System) -> None:
    headers = {"Idempotency-Key": "meldkamer-midden-2024-000124"}
    first = start(system, headers=headers)

    other = start(system, action_body(area=area(radius_m=2000)), headers)

    assert first.status_code == 202
    assert_error(other, 409, "idempotency_key_reused")
    listed = system.get("/actions?status=active").json_body["actions"]
    assert [a["action_id"] for a in listed] == [first.json_body["action_id"]]


def test_key_of_a_refused_request_can_be_used_once_the_request_is_fixed(system: System) -> None:
    headers = {"Idempotency-Key": "meldkamer-midden-2024-000125"}
    refused = start(system, action_body(incident="arson"), headers)

    fixed = start(system, headers=headers)

    assert refused.status_code == 400
    assert fixed.status_code == 202, fixed.body


def test_different_keys_start_different_actions(system: System) -> None:
    one = start(system, headers={"Idempotency-Key": "a-1"})
    two = start(system, headers={"Idempotency-Key": "a-2"})

    assert one.status_code == two.status_code == 202
    assert one.json_body["action_id"] != two.json_body["action_id"]


# --- 5. Unknown actions --------------------------------------------------------------------------

UNKNOWN_IDS = [
    pytest.param("00000000-0000-4000-8000-000000000000", id="uuid"),
    pytest.param("not-an-id", id="word"),
    pytest.param("x" * 3000, id="very-long"),
]


@pytest.mark.parametrize("action_id", UNKNOWN_IDS)
def test_unknown_action_is_404(system: System, action_id: str) -> None:
    assert_error(system.get(f"/actions/{action_id}"), 404, "action_not_found")


@pytest.mark.parametrize("action_id", UNKNOWN_IDS)
def test_closing_an_unknown_action_is_404(system: System, action_id: str) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "found"})

    assert_error(response, 404, "action_not_found")
    assert_nothing_stored_or_sent(system)


# --- 6. Listing ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("clock")
def test_lists_are_newest_first_and_split_by_status(system: System) -> None:
    ids = [started(system)["action_id"] for _ in range(4)]
    for action_id in (ids[0], ids[2]):
        closed = system.post(f"/actions/{action_id}/close", {"outcome": "arrested"})
        assert closed.status_code == 200, closed.body

    active = system.get("/actions?status=active")
    closed_list = system.get("/actions?status=closed")
    default = system.get("/actions")

    assert [a["action_id"] for a in active.json_body["actions"]] == [ids[3], ids[1]]
    assert [a["action_id"] for a in closed_list.json_body["actions"]] == [ids[2], ids[0]]
    assert {a["status"] for a in closed_list.json_body["actions"]} == {"closed"}
    assert default.json_body == active.json_body


def _all_pages(system: System, status: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        query = f"status={status}&limit={limit}" + (f"&next={quote(token)}" if token else "")
        response = system.get(f"/actions?{query}")
        assert response.status_code == 200, response.body
        page = [a["action_id"] for a in response.json_body["actions"]]
        assert len(page) <= limit
        pages.append(page)
        token = response.json_body["next"]
        if token is None:
            return pages
        assert len(pages) < 10, "pagination does not end"


@pytest.mark.usefixtures("clock")
def test_pagination_returns_every_action_exactly_once_newest_first(system: System) -> None:
    ids = [started(system)["action_id"] for _ in range(3)]

    pages = _all_pages(system, "active", 2)

    assert pages[0] == [ids[2], ids[1]]
    assert [i for page in pages for i in page] == ids[::-1]


def test_pagination_handles_actions_started_in_the_same_second(system: System) -> None:
    ids = {started(system)["action_id"] for _ in range(3)}

    pages = _all_pages(system, "active", 2)

    flat = [i for page in pages for i in page]
    assert sorted(flat) == sorted(ids)


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        pytest.param("status=bogus", "unknown_status", "status", id="status-bogus"),
        pytest.param("status=ACTIVE", "unknown_status", "status", id="status-case"),
        pytest.param("limit=0", "out_of_range", "limit", id="limit-0"),
        pytest.param("limit=101", "out_of_range", "limit", id="limit-101"),
        pytest.param("limit=abc", "out_of_range", "limit", id="limit-abc"),
        pytest.param("limit=-1", "out_of_range", "limit", id="limit-negative"),
        pytest.param("limit=", "out_of_range", "limit", id="limit-empty"),
        pytest.param("limit=%C2%B2", "out_of_range", "limit", id="limit-superscript-two"),
        pytest.param("limit=1e9", "out_of_range", "limit", id="limit-exponent"),
        pytest.param("sort=asc", "unknown_field", "sort", id="unknown-parameter"),
    ],
)
def test_bad_list_query_is_refused(system: System, query: str, code: str, field: str) -> None:
    response = system.get(f"/actions?{query}")

    body = assert_error(response, 400, code, field)
    if code == "unknown_status":
        assert "active" in body["message"] and "closed" in body["message"]
    if code == "out_of_range":
        assert "1" in body["message"] and "100" in body["message"]


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="word"),
        pytest.param("!!!!", id="punctuation"),
        pytest.param(_b64("[1, 2]"), id="json-array"),
        pytest.param(_b64("not json"), id="b64-text"),
        pytest.param(_b64('{"action_id": {"S": "x"}}'), id="incomplete-key"),
        pytest.param(_b64('{"foo": "bar"}'), id="forged-object"),
    ],
)
def test_garbage_page_token_is_refused(system: System, token: str) -> None:
    started(system)

    response = system.get(f"/actions?status=active&next={quote(token)}")

    assert_error(response, 400, "invalid_page_token", "next")


# --- 7. Closing ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("residents")
@pytest.mark.parametrize("outcome", [o for o in Outcome if o is not Outcome.EXPIRED])
def test_close_answers_200_and_sends_everyone_alerted_the_result(
    system: System, outcome: Outcome
) -> None:
    view = started(system)
    system.run_queues()
    message = "Dank aan de melder uit de Choorstraat."

    response = system.post(
        f"/actions/{view['action_id']}/close", {"outcome": outcome.value, "message": message}
    )

    assert response.status_code == 200, response.body
    closed = response.json_body
    assert closed["action_id"] == view["action_id"]
    assert closed["status"] == "closed"
    assert closed["outcome"] == outcome.value
    assert parse_iso(closed["closed_at"]) >= parse_iso(view["created_at"])
    assert system.get(f"/actions/{view['action_id']}").json_body["status"] == "closed"

    system.run_queues()

    for phone in INSIDE:
        texts = system.emulator.sms_to(phone)
        assert len(texts) == 2, texts
        assert message in texts[1] and view["ref"] in texts[1]
    assert system.emulator.sms_to(OUTSIDE) == []
    counts = system.get(f"/actions/{view['action_id']}").json_body["counts"]
    assert counts["results_sent"] == len(INSIDE)


@pytest.mark.usefixtures("residents")
def test_close_without_message_sends_the_plain_result(system: System) -> None:
    view = started(system)
    system.run_queues()

    response = system.post(f"/actions/{view['action_id']}/close", {"outcome": "found"})
    system.run_queues()

    assert response.status_code == 200
    assert response.json_body["result_message"] is None
    for phone in INSIDE:
        texts = system.emulator.sms_to(phone)
        assert len(texts) == 2 and view["ref"] in texts[1]


def test_closing_twice_is_a_conflict(system: System) -> None:
    view = started(system)
    path = f"/actions/{view['action_id']}/close"
    first = system.post(path, {"outcome": "found"})

    again = system.post(path, {"outcome": "arrested"})

    assert first.status_code == 200
    assert_error(again, 409, "action_closed")
    assert system.get(f"/actions/{view['action_id']}").json_body["outcome"] == "found"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param({"outcome": "expired"}, "unknown_outcome", "outcome", id="expired-reserved"),
        pytest.param({"outcome": "bogus"}, "unknown_outcome", "outcome", id="bogus"),
        pytest.param({"outcome": 1}, "wrong_type", "outcome", id="outcome-number"),
        pytest.param({}, "missing_field", "outcome", id="no-outcome"),
        pytest.param({"outcome": "found", "reason": "x"}, "unknown_field", "reason", id="unknown"),
        pytest.param({"outcome": "found", "message": 5}, "wrong_type", "message", id="msg-number"),
    ],
)
def test_bad_close_request_is_refused_and_leaves_the_action_active(
    system: System, body: dict[str, Any], code: str, field: str
) -> None:
    view = started(system)

    response = system.post(f"/actions/{view['action_id']}/close", body)

    message = assert_error(response, 400, code, field)["message"]
    if code == "unknown_outcome":
        for allowed in ("found", "arrested", "not_found", "cancelled"):
            assert allowed in message
        assert "expired" not in message.replace(repr(body["outcome"]), "")
    assert system.get(f"/actions/{view['action_id']}").json_body["status"] == "active"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param("{", "malformed_json", id="malformed"),
        pytest.param('["found"]', "invalid_body", id="array"),
        pytest.param("", "missing_body", id="empty"),
    ],
)
def test_close_body_that_is_not_one_json_object_is_refused(
    system: System, raw: str, code: str
) -> None:
    view = started(system)

    assert_error(system.post(f"/actions/{view['action_id']}/close", raw), 400, code)
    assert system.get(f"/actions/{view['action_id']}").json_body["status"] == "active"


def test_close_message_too_long_says_by_how_much(system: System) -> None:
    view = started(system)
    message = "Bedankt voor alle tips uit de buurt. " * 15
    overflow = result_message_overflow(Outcome.ARRESTED, " ".join(message.split()))
    assert overflow > 0

    response = system.post(
        f"/actions/{view['action_id']}/close", {"outcome": "arrested", "message": message}
    )

    body = assert_error(response, 400, "message_too_long", "message")
    assert f"{overflow} characters too long" in body["message"]
    assert system.get(f"/actions/{view['action_id']}").json_body["status"] == "active"


# --- 8. Reach ------------------------------------------------------------------------------------


def test_reach_counts_people_inside_once_and_sends_nothing(system: System) -> None:
    add_participant("+31620000001", north(100), north(-300))  # two places inside: one person
    add_participant("+31620000002", north(700))
    add_participant("+31620000003", north(1300))  # outside a 1 km circle
    add_participant("+31620000004", north(900), north(5000))  # one place in, one out

    response = system.post("/reach", {"area": area()})

    assert response.status_code == 200, response.body
    assert response.json_body["participants"] == 3
    assert response.json_body["expected"]["sms"]["people"] == 3
    assert_nothing_stored_or_sent(system)


def test_reach_of_an_empty_area_is_zero(system: System) -> None:
    add_participant("+31620000001", north(5000))

    response = system.post("/reach", {"area": area(radius_m=100)})

    assert response.status_code == 200
    assert response.json_body["participants"] == 0
    assert all(c["people"] == 0 for c in response.json_body["expected"].values())


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param({}, "missing_field", "area", id="no-area"),
        pytest.param({"area": area(lat=MISSING)}, "missing_field", "area.lat", id="no-lat"),
        pytest.param({"area": area(radius_m=99)}, "out_of_range", "area.radius_m", id="r99"),
        pytest.param({"area": area(radius_m=20001)}, "out_of_range", "area.radius_m", id="r20001"),
        pytest.param({"area": area(lat=True)}, "wrong_type", "area.lat", id="lat-bool"),
        pytest.param({"area": area(radius_m="1000")}, "wrong_type", "area.radius_m", id="r-str"),
        pytest.param({"area": "Utrecht"}, "wrong_type", "area", id="area-string"),
        pytest.param(
            {"area": area(lat=48.85, lon=2.35)}, "outside_service_area", "area.lat", id="paris"
        ),
        pytest.param(
            {"area": area(), "description": "x"}, "unknown_field", "description", id="extra"
        ),
        pytest.param({"area": area(), "incident": "fire"}, "unknown_incident", "incident"),
        pytest.param({"area": area(), "duration_minutes": 481}, "out_of_range", "duration_minutes"),
        pytest.param({"area": area(), "channels": ["fax"]}, "unknown_channel", "channels"),
    ],
)
def test_bad_reach_area_is_refused_like_an_action(
    system: System, body: dict[str, Any], code: str, field: str
) -> None:
    add_participant("+31620000001", north(100))

    assert_error(system.post("/reach", body), 400, code, field)
    assert_nothing_stored_or_sent(system)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param("{", "malformed_json", id="malformed"),
        pytest.param(
            '{"area": {"lat": NaN, "lon": 5.1, "radius_m": 500}}', "malformed_json", id="nan"
        ),
        pytest.param("[]", "invalid_body", id="array"),
        pytest.param("", "missing_body", id="empty"),
    ],
)
def test_reach_body_that_is_not_one_json_object_is_refused(
    system: System, raw: str, code: str
) -> None:
    assert_error(system.post("/reach", raw), 400, code)


# --- Public or not, exercise, place name ------------------------------------------------------


def test_an_action_is_public_and_real_unless_dispatch_says_otherwise(system: System) -> None:
    default = system.post("/actions", action_body()).json_body
    quiet = system.post("/actions", action_body(public=False, exercise=True)).json_body

    assert (default["public"], default["exercise"]) == (True, False)
    assert (quiet["public"], quiet["exercise"]) == (False, True)
    again = system.get(f"/actions/{quiet['action_id']}").json_body
    assert (again["public"], again["exercise"]) == (False, True)


def test_the_place_is_the_dispatchers_name_or_else_the_municipalitys(system: System) -> None:
    system.post("/municipalities", UTRECHT_AREA)

    named = system.post("/actions", action_body(place="Utrecht, Binnenstad")).json_body
    unnamed = system.post("/actions", action_body()).json_body
    nowhere = system.post("/actions", action_body(area=area(lat=52.37, lon=4.89))).json_body

    assert named["place"] == "Utrecht, Binnenstad"
    assert unnamed["place"] == "Utrecht"
    assert nowhere["place"] is None  # no municipality known there


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"public": "yes"}, "wrong_type", "public"),
        ({"exercise": 1}, "wrong_type", "exercise"),
        ({"place": ""}, "invalid_place", "place"),
        ({"place": "x" * 81}, "invalid_place", "place"),
        ({"place": 7}, "wrong_type", "place"),
    ],
)
def test_a_bad_public_exercise_or_place_gets_a_400_and_stores_nothing(
    system: System, changes: dict[str, Any], error: str, field: str
) -> None:
    response = system.post("/actions", action_body(**changes))

    assert response.status_code == 400
    assert (response.json_body["error"], response.json_body["field"]) == (error, field)
    assert system.get("/actions?status=active").json_body["actions"] == []
