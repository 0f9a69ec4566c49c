"""Joining, changing and leaving, as a resident notices it: who gets which SMS, and the answers.

Everything runs through the emulated account (moto), the recorded-addresses PDOK stand-in and
chalice's test client, as in `conftest`. Alerts come from real actions run through the queues.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dal import municipalities as municipality_store
from chalicelib.domain.signup import AMSTERDAM
from chalicelib.handlers import participants as resident_routes
from tests.support.builders import add_participant
from tests.support.system import REGION, System

MUNICIPALITY = json.loads(
    (Path(__file__).parents[2] / "tools" / "fixtures" / "gm0344_utrecht.json").read_text()
)
PHONE = "+31612345678"  # what "06-12345678" is in E.164
OTHER_PHONE = "+31687654321"
MISSING = object()  # a field left out of a request body

# Recorded addresses (tools/fixtures/pdok_addresses.json) and where they lie.
DOMPLEIN = {"label": "home", "postcode": "3511 LX", "house_number": "1"}
DOM = (52.09074, 5.12143)  # Domplein 1
UITHOF = (52.086, 5.1742)  # Heidelberglaan 1-2, 3.6 km east of the Dom
RAADSTEDE = (52.0288, 5.0801)  # Raadstede 5, Nieuwegein

CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _forget_cached_areas() -> Iterator[None]:
    """The process caches municipal areas for minutes; keep them from leaking between tests."""
    municipality_store._areas = None
    yield
    municipality_store._areas = None


# --- How a resident and a dispatcher use the system ----------------------------------------------


@pytest.fixture
def utrecht(system: System) -> System:
    """The demo municipality, registered through the admin API."""
    response = system.post("/municipalities", MUNICIPALITY)
    assert response.status_code == 201, response.body
    return system


def signup_body(**changes: Any) -> dict[str, Any]:
    """A valid POST /signup body (home at Domplein 1), with fields changed or (MISSING) left out."""
    body = {
        "municipality": "GM0344",
        "phone": "06-12345678",
        "birth_date": "1990-04-01",
        "places": [DOMPLEIN],
        **changes,
    }
    return {key: value for key, value in body.items() if value is not MISSING}


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error with this code (and field)."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.body)
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    if field is not None:
        assert body.get("field") == field, body
    return body


def header(response: Any, name: str) -> str | None:
    return next((v for k, v in response.headers.items() if k.lower() == name.lower()), None)


def start_signup(system: System, headers: dict[str, str] | None = None, **changes: Any) -> str:
    """POST /signup; the signup id."""
    response = system.post("/signup", signup_body(**changes), headers)
    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"signup_id", "expires_in"}
    assert response.json_body["expires_in"] == 900
    return str(response.json_body["signup_id"])


def texts_to(system: System, phone: str = PHONE) -> list[str]:
    return system.emulator.sms_to(phone)


def code_sent_to(system: System, phone: str = PHONE) -> str:
    """The six-digit code in the latest SMS to `phone`."""
    texts = texts_to(system, phone)
    assert texts, f"no SMS to {phone}"
    codes = CODE.findall(texts[-1])
    assert len(codes) == 1, texts[-1]
    return str(codes[0])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def verify(system: System, signup_id: str, code: str) -> Any:
    return system.post("/signup/verify", {"signup_id": signup_id, "code": code})


def join(system: System, **changes: Any) -> str:
    """Sign up and type the code from the SMS; the participant id."""
    signup_id = start_signup(system, **changes)
    response = verify(system, signup_id, code_sent_to(system))
    assert response.status_code == 201, response.body
    assert set(response.json_body) == {"participant_id"}
    return str(response.json_body["participant_id"])


def login(system: System, phone: str = "06-12345678") -> str:
    """Log in with a code by SMS; the bearer token."""
    started = system.post("/participants/login", {"phone": phone})
    assert started.status_code == 202, started.body
    system.run_queues()  # the code goes out after the answer
    response = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": code_sent_to(system)},
    )
    assert response.status_code == 200, response.body
    return str(response.json_body["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(system: System, token: str) -> dict[str, Any]:
    response = system.client.http.get("/participants/me", headers=bearer(token))
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def put_me(system: System, token: str, change: dict[str, Any]) -> Any:
    return system.client.http.put(
        "/participants/me",
        body=json.dumps(change).encode(),
        headers={"Content-Type": "application/json", **bearer(token)},
    )


def export(system: System, token: str) -> dict[str, Any]:
    response = system.client.http.get("/participants/me/export", headers=bearer(token))
    assert response.status_code == 200, response.body
    return dict(response.json_body)


@dataclass(frozen=True)
class Action:
    action_id: str
    ref: str


def action_around(
    system: System, at: tuple[float, float] = DOM, radius_m: int = 500, incident: str = "burglary"
) -> Action:
    """A dispatcher starts an action around `at`, and the queues run."""
    response = system.post(
        "/actions",
        {
            "incident": incident,
            "description": "Man, ongeveer 30 jaar, donkere jas met capuchon",
            "area": {"lat": at[0], "lon": at[1], "radius_m": radius_m},
        },
    )
    assert response.status_code == 202, response.body
    system.run_queues()
    return Action(response.json_body["action_id"], response.json_body["ref"])


def alerts(system: System, action: Action, phone: str = PHONE) -> list[str]:
    """The alert texts of this action that `phone` received."""
    return [t for t in texts_to(system, phone) if f"ref. {action.ref}" in t]


def alerted_once(system: System, at: tuple[float, float] = DOM, phone: str = PHONE) -> bool:
    """Whether a new action around `at` alerts `phone` exactly once."""
    return len(alerts(system, action_around(system, at), phone)) == 1


def not_alerted(system: System, at: tuple[float, float] = DOM, phone: str = PHONE) -> bool:
    """Whether a new action around `at` leaves `phone` alone."""
    return alerts(system, action_around(system, at), phone) == []


def pin_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(resident_routes, "_now", lambda: moment)


# --- Joining ------------------------------------------------------------------------------------


def test_given_a_resident_when_they_sign_up_and_type_the_code_then_they_are_alerted_once(
    utrecht: System,
) -> None:
    system = utrecht

    # When a resident signs up
    response = system.post("/signup", signup_body())

    # Then the answer says a code is on its way, and exactly one SMS with a code went out
    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"signup_id", "expires_in"}
    assert response.json_body["expires_in"] == 900
    [(to, text)] = system.emulator.sms()
    assert to == PHONE
    assert "Burgernet-code" in text  # Dutch by default
    code = code_sent_to(system)

    # And until the code is typed, an action around their home alerts nobody
    before = action_around(system)
    assert alerts(system, before) == []

    # When they type the code
    verified = verify(system, response.json_body["signup_id"], code)

    # Then they take part, and the next action around their home alerts them exactly once
    assert verified.status_code == 201, verified.body
    assert set(verified.json_body) == {"participant_id"}
    assert alerted_once(system)
    assert {to for to, _ in system.emulator.sms()} == {PHONE}


def test_a_used_signup_code_cannot_be_used_again(utrecht: System) -> None:
    system = utrecht
    signup_id = start_signup(system)
    code = code_sent_to(system)
    assert verify(system, signup_id, code).status_code == 201

    again = verify(system, signup_id, code)

    assert 400 <= again.status_code < 500, again.body
    assert alerted_once(system)


def test_signing_up_for_an_unknown_municipality_is_refused(utrecht: System) -> None:
    response = utrecht.post("/signup", signup_body(municipality="GM0363"))

    assert_error(response, 400, "unknown_municipality", "municipality")
    assert utrecht.emulator.sms() == []


# --- Phone numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "notation", ["06-12345678", "+31 6 1234 5678", "0031612345678", "06 12 34 56 78"]
)
def test_every_usual_notation_reaches_the_same_phone(utrecht: System, notation: str) -> None:
    start_signup(utrecht, phone=notation)

    assert [to for to, _ in utrecht.emulator.sms()] == [PHONE]
    assert CODE.search(texts_to(utrecht)[0])


@pytest.mark.parametrize(
    ("phone", "channel", "code"),
    [
        pytest.param("030 123 4567", "sms", "not_mobile", id="landline-sms"),
        pytest.param("030 123 4567", MISSING, "not_mobile", id="landline-default-sms"),
        pytest.param("+32 470 12 34 56", "sms", "foreign_phone", id="belgian-mobile"),
        pytest.param("+49 1512 3456789", "voice", "foreign_phone", id="german-mobile-voice"),
        pytest.param("06-1234", "sms", "invalid_phone", id="too-short"),
        pytest.param("06-123456789", "sms", "invalid_phone", id="too-long"),
        pytest.param("bel me maar", "sms", "invalid_phone", id="words"),
        pytest.param("", "sms", "invalid_phone", id="empty"),
        pytest.param(612345678, "sms", "invalid_phone", id="number"),
    ],
)
def test_a_phone_that_cannot_take_part_is_refused(
    utrecht: System, phone: Any, channel: Any, code: str
) -> None:
    response = utrecht.post("/signup", signup_body(phone=phone, channel=channel))

    assert_error(response, 400, code, "phone")
    assert utrecht.emulator.sms() == []


def test_a_landline_for_voice_calls_waits_for_the_voice_channel(utrecht: System) -> None:
    # A landline cannot read an SMS code; until calls are deployed (CHANNELS has only sms in
    # every stage) the contract refuses it rather than sending a code it can never receive.
    response = utrecht.post("/signup", signup_body(phone="030 123 4567", channel="voice"))

    assert_error(response, 400, "voice_not_available", "phone")
    assert utrecht.emulator.sms() == []


def test_a_mobile_may_choose_voice_and_gets_its_code_by_sms(utrecht: System) -> None:
    response = utrecht.post("/signup", signup_body(channel="voice"))

    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"signup_id", "expires_in"}
    assert CODE.search(texts_to(utrecht)[0])


# --- Age ----------------------------------------------------------------------------------------


def test_exactly_16_today_may_join_and_the_birth_date_is_not_kept(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    moment = datetime.now(UTC)
    pin_clock(monkeypatch, moment)
    today = moment.astimezone(AMSTERDAM).date()
    born = today.replace(year=today.year - 16).isoformat()

    join(system, birth_date=born)

    token = login(system)
    data = export(system, token)
    assert data["age_checked"] is True
    everything = json.dumps(data)
    for spelling in (born, born.replace("-", ""), "-".join(reversed(born.split("-")))):
        assert spelling not in everything
    # Nor anywhere in the tables.
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for table in dynamodb.list_tables()["TableNames"]:
        assert born not in json.dumps(dynamodb.scan(TableName=table)["Items"], default=repr), table


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        pytest.param(MISSING, "16 jaar", "older", id="nl-default"),
        pytest.param("nl", "16 jaar", "older", id="nl"),
        pytest.param("en", "16 or older", "jaar", id="en"),
    ],
)
def test_16_tomorrow_is_too_young_and_told_why(
    utrecht: System,
    monkeypatch: pytest.MonkeyPatch,
    language: Any,
    expected: str,
    absent: str,
) -> None:
    moment = datetime.now(UTC)
    pin_clock(monkeypatch, moment)
    tomorrow = moment.astimezone(AMSTERDAM).date() + timedelta(days=1)
    born = tomorrow.replace(year=tomorrow.year - 16).isoformat()

    response = utrecht.post("/signup", signup_body(birth_date=born, language=language))

    body = assert_error(response, 400, "too_young", "birth_date")
    assert expected in body["message"]
    assert absent not in body["message"]
    assert utrecht.emulator.sms() == []


@pytest.mark.parametrize("born", ["01-04-1990", "1990-13-01", "1990-02-30", "2999-01-01", 1990])
def test_an_unreadable_birth_date_is_refused(utrecht: System, born: Any) -> None:
    response = utrecht.post("/signup", signup_body(birth_date=born))

    assert_error(response, 400, "invalid_birth_date", "birth_date")


# --- Addresses and places ------------------------------------------------------------------------


def test_an_address_that_does_not_exist_names_the_place(utrecht: System) -> None:
    work = {"label": "work", "postcode": "9999 ZZ", "house_number": "1"}

    first = utrecht.post("/signup", signup_body(places=[{**work, "label": "home"}]))
    second = utrecht.post("/signup", signup_body(places=[DOMPLEIN, work]))

    body = assert_error(first, 400, "address_not_found", "places[0].postcode")
    assert body["message"] == "Dit adres bestaat niet. Controleer postcode en huisnummer."
    assert_error(second, 400, "address_not_found", "places[1].postcode")
    assert utrecht.emulator.sms() == []


@pytest.mark.parametrize(
    ("place", "code", "field"),
    [
        pytest.param({"postcode": "3511"}, "invalid_postcode", "postcode", id="no-letters"),
        pytest.param({"postcode": "0511 LX"}, "invalid_postcode", "postcode", id="leading-zero"),
        pytest.param({"postcode": "3511 SA"}, "invalid_postcode", "postcode", id="SA-not-issued"),
        pytest.param({"postcode": "LX 3511"}, "invalid_postcode", "postcode", id="reversed"),
        pytest.param({"postcode": 3511}, "invalid_postcode", "postcode", id="number"),
        pytest.param({"house_number": "0"}, "invalid_house_number", "house_number", id="zero"),
        pytest.param({"house_number": "1A"}, "invalid_house_number", "house_number", id="1A"),
        pytest.param({"addition": "A-1234"}, "invalid_addition", "addition", id="addition"),
        pytest.param({"house_number": MISSING}, "missing_field", "house_number", id="no-number"),
    ],
)
def test_a_malformed_address_is_refused_before_it_is_looked_up(
    utrecht: System, place: dict[str, Any], code: str, field: str
) -> None:
    changed = {**DOMPLEIN, **place}
    changed = {k: v for k, v in changed.items() if v is not MISSING}

    response = utrecht.post("/signup", signup_body(places=[changed]))

    assert_error(response, 400, code, f"places[0].{field}")
    assert utrecht.emulator.sms() == []


def test_an_addition_resolves_to_its_own_recorded_position(utrecht: System) -> None:
    system = utrecht

    join(system, places=[{**DOMPLEIN, "addition": "a"}])

    [place] = me(system, login(system))["places"]
    assert place == {
        "label": "home",
        "lat": pytest.approx(52.0908),
        "lon": pytest.approx(5.1215),
        "postcode": "3511LX",
        "house_number": "1",
        "addition": "A",
        "municipality": "GM0344",
    }


def test_a_bag_addition_after_a_dash_is_found_and_a_missing_one_is_not(utrecht: System) -> None:
    heidelberglaan = {"label": "work", "postcode": "3584CS", "house_number": "1"}

    without = utrecht.post("/signup", signup_body(places=[heidelberglaan]))
    assert_error(without, 400, "address_not_found", "places[0].postcode")

    join(utrecht, places=[{**heidelberglaan, "addition": "2"}])
    assert alerted_once(utrecht, UITHOF)


def test_a_place_given_by_position_gets_its_municipality(utrecht: System) -> None:
    system = utrecht

    join(system, places=[{"label": "work", "lat": 52.0907, "lon": 5.1214}])

    [place] = me(system, login(system))["places"]
    assert place["label"] == "work"
    assert (place["lat"], place["lon"]) == (pytest.approx(52.0907), pytest.approx(5.1214))
    assert place["municipality"] == "GM0344"
    assert place["postcode"] is None
    assert alerted_once(system)


def test_a_place_in_another_municipality_is_kept_with_its_own(utrecht: System) -> None:
    system = utrecht
    raadstede = {"label": "work", "postcode": "3431AA", "house_number": 5}

    join(system, places=[DOMPLEIN, raadstede])

    view = me(system, login(system))
    assert view["municipality"] == "GM0344"  # where they signed up
    by_label = {p["label"]: p for p in view["places"]}
    assert by_label["home"]["municipality"] == "GM0344"
    assert by_label["work"]["municipality"] == "GM0356"
    assert by_label["work"]["postcode"] == "3431AA"
    assert by_label["work"]["house_number"] == "5"
    assert alerted_once(system, RAADSTEDE)


def six_places() -> list[dict[str, Any]]:
    return [{"label": f"p{i}", "lat": 52.09 + i / 1000, "lon": 5.12} for i in range(6)]


@pytest.mark.parametrize(
    ("places", "code", "field"),
    [
        pytest.param([], "no_places", "places", id="none"),
        pytest.param(MISSING, "no_places", "places", id="missing"),
        pytest.param(six_places(), "too_many_places", "places", id="six"),
        pytest.param(
            [DOMPLEIN, {"label": "home", "lat": 52.09, "lon": 5.12}],
            "duplicate_label",
            "places[1].label",
            id="duplicate-label",
        ),
        pytest.param(
            [DOMPLEIN, {"label": "Home", "lat": 52.09, "lon": 5.12}],
            "duplicate_label",
            "places[1].label",
            id="duplicate-label-case",
        ),
        pytest.param(
            [{"label": "holiday", "lat": 48.85, "lon": 2.35}],
            "outside_service_area",
            "places[0].lat",
            id="paris",
        ),
        pytest.param(
            [{"label": "home", "lat": 52.09}], "missing_field", "places[0].lon", id="no-lon"
        ),
        pytest.param("3511 LX 1", "wrong_type", "places", id="string"),
    ],
)
def test_wrong_places_are_refused_with_the_field_named(
    utrecht: System, places: Any, code: str, field: str
) -> None:
    response = utrecht.post("/signup", signup_body(places=places))

    assert_error(response, 400, code, field)
    assert utrecht.emulator.sms() == []


def test_five_places_are_accepted(utrecht: System) -> None:
    join(utrecht, places=six_places()[:5])

    assert alerted_once(utrecht, (52.092, 5.12))


# --- Codes ---------------------------------------------------------------------------------------


def test_wrong_codes_count_down_then_lock_the_signup(utrecht: System) -> None:
    system = utrecht
    signup_id = start_signup(system)
    code = code_sent_to(system)

    lefts = []
    for _ in range(5):
        body = assert_error(verify(system, signup_id, wrong(code)), 400, "wrong_code", "code")
        lefts.append(body["attempts_left"])
        assert str(body["attempts_left"]) in body["message"]
    assert lefts == [4, 3, 2, 1, 0]

    assert_error(verify(system, signup_id, wrong(code)), 403, "locked")
    assert_error(verify(system, signup_id, code), 403, "locked")
    assert not_alerted(system)


def test_an_expired_code_is_refused_with_410(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    signup_id = start_signup(system)
    code = code_sent_to(system)
    later = datetime.now(UTC) + timedelta(minutes=16)
    pin_clock(monkeypatch, later)

    response = verify(system, signup_id, code)

    assert_error(response, 410, "code_expired", "code")
    assert not_alerted(system)


def test_a_fourth_code_within_the_hour_is_refused_with_retry_after(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    pin_clock(monkeypatch, hour + timedelta(minutes=20))  # not near a window's edge
    for _ in range(3):
        start_signup(system)
    # A typo does not use up one of the three.
    assert system.post("/signup", signup_body(birth_date="1990")).status_code == 400

    response = system.post("/signup", signup_body())

    body = assert_error(response, 429, "too_many_codes")
    assert body["retry_after"] == 40 * 60
    assert header(response, "Retry-After") == str(body["retry_after"])
    assert len(texts_to(system)) == 3


def test_a_signup_of_someone_already_taking_part_looks_the_same_and_updates_them(
    utrecht: System,
) -> None:
    system = utrecht
    participant_id = join(system)

    # When the same phone signs up again, with a different place
    response = system.post(
        "/signup",
        signup_body(
            phone="+31 6 1234 5678",
            places=[{"label": "work", "postcode": "3584 CS", "house_number": 1, "addition": "2"}],
        ),
    )

    # Then the answer is the same as for a newcomer
    assert response.status_code == 202, response.body
    assert set(response.json_body) == {"signup_id", "expires_in"}
    assert response.json_body["expires_in"] == 900
    again = verify(system, response.json_body["signup_id"], code_sent_to(system))

    # And verifying updates that same participant: the new place alerts them, the old no more
    assert again.status_code == 201, again.body
    assert again.json_body == {"participant_id": participant_id}
    assert alerted_once(system, UITHOF)
    assert not_alerted(system, DOM)
    assert [p["label"] for p in me(system, login(system))["places"]] == ["work"]


# --- The participant's language -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "accept", "expected"),
    [
        pytest.param(MISSING, None, "Dit is geen geldig telefoonnummer.", id="default-dutch"),
        pytest.param("nl", "en", "Dit is geen geldig telefoonnummer.", id="body-wins"),
        pytest.param("en", None, "not a valid phone number", id="body-en"),
        pytest.param(MISSING, "en", "not a valid phone number", id="accept-en"),
        pytest.param(MISSING, "en-GB,en;q=0.9", "not a valid phone number", id="accept-en-GB"),
        pytest.param(MISSING, "nl-NL,nl;q=0.9,en;q=0.8", "Dit is geen", id="accept-nl"),
    ],
)
def test_errors_are_in_the_participants_language(
    utrecht: System, language: Any, accept: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept} if accept else None

    response = utrecht.post("/signup", signup_body(phone="06-1234", language=language), headers)

    body = assert_error(response, 400, "invalid_phone", "phone")
    assert expected in body["message"]


def test_an_english_signup_gets_its_code_and_alerts_in_english(utrecht: System) -> None:
    join(utrecht, language="en")

    assert "Your Burgernet code is" in texts_to(utrecht)[0]
    [alert] = alerts(utrecht, action_around(utrecht))
    assert "The police are looking for" in alert


# --- Login and preferences -----------------------------------------------------------------------


def test_a_participant_logs_in_with_a_code_and_sees_their_details(utrecht: System) -> None:
    system = utrecht
    participant_id = join(system)

    started = system.post("/participants/login", {"phone": "+31 6 1234 5678"})

    assert started.status_code == 202, started.body
    assert set(started.json_body) == {"login_id", "expires_in"}
    assert started.json_body["expires_in"] == 900
    system.run_queues()
    assert len(texts_to(system)) == 2
    verified = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": code_sent_to(system)},
    )
    assert verified.status_code == 200, verified.body
    assert verified.json_body["expires_in"] == 1800
    view = me(system, verified.json_body["token"])
    assert view["participant_id"] == participant_id
    assert view["phone"] == PHONE
    assert (view["language"], view["channel"], view["quiet_hours"]) == ("nl", "sms", None)
    assert [
        (p["label"], p["postcode"], p["house_number"], p["municipality"]) for p in view["places"]
    ] == [("home", "3511LX", "1", "GM0344")]


def test_a_login_for_an_unknown_phone_looks_the_same_and_sends_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    known = system.post("/participants/login", {"phone": "06-12345678"})

    unknown = system.post("/participants/login", {"phone": "06-87654321"})
    system.run_queues()

    assert unknown.status_code == known.status_code == 202
    assert set(unknown.json_body) == set(known.json_body)
    assert unknown.json_body["expires_in"] == known.json_body["expires_in"]
    assert texts_to(system, OTHER_PHONE) == []


def test_a_wrong_login_code_gives_no_token(utrecht: System) -> None:
    system = utrecht
    join(system)
    started = system.post("/participants/login", {"phone": "06-12345678"})
    system.run_queues()

    response = system.post(
        "/participants/login/verify",
        {"login_id": started.json_body["login_id"], "code": wrong(code_sent_to(system))},
    )

    body = assert_error(response, 400, "wrong_code", "code")
    assert "token" not in body


def test_switching_to_english_makes_the_next_alert_english(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)
    [dutch] = alerts(system, action_around(system))
    assert "De politie zoekt" in dutch

    response = put_me(system, token, {"language": "en"})

    assert response.status_code == 200, response.body
    assert response.json_body["language"] == "en"
    assert me(system, token)["language"] == "en"
    [english] = alerts(system, action_around(system))
    assert "The police are looking for" in english


def test_replacing_places_moves_where_they_are_alerted(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)

    response = put_me(
        system,
        token,
        {"places": [{"label": "work", "postcode": "3584CS", "house_number": "1", "addition": "2"}]},
    )

    assert response.status_code == 200, response.body
    [place] = response.json_body["places"]
    assert (place["label"], place["postcode"], place["addition"]) == ("work", "3584CS", "2")
    assert me(system, token)["places"] == response.json_body["places"]
    assert not_alerted(system, DOM)
    assert alerted_once(system, UITHOF)


def test_bad_new_places_change_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    token = login(system)

    response = put_me(system, token, {"places": [{"postcode": "9999ZZ", "house_number": "1"}]})

    assert_error(response, 400, "address_not_found", "places[0].postcode")
    assert [p["postcode"] for p in me(system, token)["places"]] == ["3511LX"]
    assert alerted_once(system)


def test_quiet_hours_can_be_set_and_cleared(utrecht: System) -> None:
    system = utrecht
    join(system, quiet_hours={"from": "23:00", "to": "07:00"})
    token = login(system)
    assert me(system, token)["quiet_hours"] == {"from": "23:00", "to": "07:00"}

    changed = put_me(system, token, {"quiet_hours": {"from": "22:30", "to": "06:45"}})
    assert changed.status_code == 200, changed.body
    assert me(system, token)["quiet_hours"] == {"from": "22:30", "to": "06:45"}

    cleared = put_me(system, token, {"quiet_hours": None})
    assert cleared.status_code == 200, cleared.body
    assert me(system, token)["quiet_hours"] is None

    bad = put_me(system, token, {"quiet_hours": {"from": "23:00", "to": "23:00"}})
    assert_error(bad, 400, "invalid_quiet_hours", "quiet_hours")
    assert me(system, token)["quiet_hours"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/participants/me"),
        ("PUT", "/participants/me"),
        ("GET", "/participants/me/export"),
        ("DELETE", "/participants/me"),
    ],
)
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer not-a-token", id="invalid-token"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
    ],
)
def test_without_a_valid_token_the_answer_is_401(
    utrecht: System, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = utrecht.client.http.request(
        method, path, headers=headers, body=json.dumps({"language": "en"}).encode()
    )

    assert_error(response, 401, "unauthorized")


def test_an_expired_token_is_401_and_changes_nothing(
    utrecht: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = utrecht
    join(system)
    token = login(system)
    real_now = resident_routes._now
    pin_clock(monkeypatch, datetime.now(UTC) + timedelta(minutes=31))

    got = system.client.http.get("/participants/me", headers=bearer(token))
    put = put_me(system, token, {"language": "en"})
    deleted = system.client.http.delete("/participants/me", headers=bearer(token))

    for response in (got, put, deleted):
        assert_error(response, 401, "unauthorized")
    monkeypatch.setattr(resident_routes, "_now", real_now)
    assert me(system, login(system))["language"] == "nl"
    assert alerted_once(system)


# --- Export ------------------------------------------------------------------------------------


def test_export_lists_the_alerts_they_received_and_nothing_of_others(utrecht: System) -> None:
    system = utrecht
    add_participant(OTHER_PHONE, DOM)  # a neighbour, alerted by the same action
    join(system)
    action = action_around(system)
    elsewhere = action_around(system, UITHOF)  # an action they were not alerted for
    assert len(alerts(system, action, OTHER_PHONE)) == 1

    data = export(system, login(system))

    assert data["participant"]["phone"] == PHONE
    [alert] = data["alerts"]
    assert alert["action_id"] == action.action_id
    assert alert["channel"] == "sms"
    assert alert["distance_m"] < 50
    everything = json.dumps(data)
    assert OTHER_PHONE not in everything and "687654321" not in everything
    assert elsewhere.action_id not in everything
    assert data["devices"] == []


# --- Leaving -----------------------------------------------------------------------------------


def unsubscribe(system: System, phone: str = "06-12345678") -> str:
    response = system.post("/unsubscribe", {"phone": phone})
    assert response.status_code == 202, response.body
    system.run_queues()  # the code goes out after the answer
    return str(response.json_body["unsubscribe_id"])


def confirm(system: System, unsubscribe_id: str, code: str) -> Any:
    return system.post("/unsubscribe/confirm", {"unsubscribe_id": unsubscribe_id, "code": code})


def test_unsubscribing_with_a_code_stops_the_alerts_and_says_goodbye(utrecht: System) -> None:
    system = utrecht
    join(system)
    unsubscribe_id = unsubscribe(system)
    assert "af te melden" in texts_to(system)[-1]

    response = confirm(system, unsubscribe_id, code_sent_to(system))

    assert response.status_code == 200, response.body
    assert response.json_body == {"status": "unsubscribed"}
    assert "afgemeld" in texts_to(system)[-1]
    assert not_alerted(system)
    # And they are unknown now: a login sends nothing.
    sent = len(texts_to(system))
    assert system.post("/participants/login", {"phone": PHONE}).status_code == 202
    system.run_queues()
    assert len(texts_to(system)) == sent


def test_unsubscribing_an_unknown_phone_looks_the_same_and_sends_nothing(
    utrecht: System,
) -> None:
    response = utrecht.post("/unsubscribe", {"phone": "06-87654321"})
    utrecht.run_queues()

    assert response.status_code == 202, response.body
    assert "unsubscribe_id" in response.json_body
    assert utrecht.emulator.sms() == []


def test_a_wrong_unsubscribe_code_changes_nothing(utrecht: System) -> None:
    system = utrecht
    join(system)
    unsubscribe_id = unsubscribe(system)

    response = confirm(system, unsubscribe_id, wrong(code_sent_to(system)))

    assert_error(response, 400, "wrong_code", "code")
    assert not any("afgemeld" in t for t in texts_to(system))
    assert alerted_once(system)
    assert me(system, login(system))["phone"] == PHONE


def test_deleting_yourself_erases_you_at_once(utrecht: System) -> None:
    system = utrecht
    join(system, places=[DOMPLEIN, {"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}])
    token = login(system)

    response = system.client.http.delete("/participants/me", headers=bearer(token))

    assert response.status_code == 204, response.body
    assert not_alerted(system, DOM)
    assert not_alerted(system, UITHOF)
    sent = len(texts_to(system))
    system.post("/participants/login", {"phone": PHONE})
    system.run_queues()
    assert len(texts_to(system)) == sent  # unknown now


def reply(system: System, text: str, phone: str = PHONE) -> Any:
    """A reply to one of our SMS, as SNS two-way messaging delivers it to the topic."""
    message = {
        "originationNumber": phone,
        "destinationNumber": "+3197010203040",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": text,
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": "wJ0S5vh7WPAXsRGHDgrXhqI",
    }
    event = system.client.events.generate_sns_event(message=json.dumps(message), subject="")
    return system.client.lambda_.invoke("inbound_sms", event)


@pytest.mark.parametrize("text", ["Stop", "STOP", " stop. ", "Afmelden"])
def test_replying_stop_removes_the_sender(utrecht: System, text: str) -> None:
    system = utrecht
    join(system)

    reply(system, text)

    assert not_alerted(system)


@pytest.mark.parametrize("text", ["Ik zag hem bij de Dom", "stop de dief", ""])
def test_any_other_reply_changes_nothing(utrecht: System, text: str) -> None:
    system = utrecht
    join(system)

    reply(system, text)
    reply(system, "STOP", phone=OTHER_PHONE)  # someone else's STOP is theirs alone

    assert alerted_once(system)


# --- All or nothing ----------------------------------------------------------------------------


class TransactionFault:
    """Makes the next DynamoDB transaction fail, once, as a cancelled transaction would."""

    def __init__(self) -> None:
        self.armed = False
        self.hits = 0

    def arm(self) -> None:
        self.armed = True


@pytest.fixture
def transaction_fault(monkeypatch: pytest.MonkeyPatch) -> TransactionFault:
    fault = TransactionFault()
    commit = TransactWrite._commit

    def failing_commit(self: TransactWrite) -> Any:
        if fault.armed:
            fault.armed = False
            fault.hits += 1
            raise TransactWriteError("TransactionCanceledException (injected)")
        return commit(self)

    monkeypatch.setattr(TransactWrite, "_commit", failing_commit)
    return fault


def test_a_failed_verify_leaves_no_half_participant_and_the_code_still_works(
    utrecht: System, transaction_fault: TransactionFault
) -> None:
    system = utrecht
    signup_id = start_signup(
        system, places=[DOMPLEIN, {"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}]
    )
    code = code_sent_to(system)
    transaction_fault.arm()

    failed = verify(system, signup_id, code)

    assert transaction_fault.hits == 1
    assert failed.status_code >= 500, failed.body
    assert not_alerted(system, DOM)
    assert not_alerted(system, UITHOF)

    retried = verify(system, signup_id, code)

    assert retried.status_code == 201, retried.body
    assert alerted_once(system, DOM)
    assert alerted_once(system, UITHOF)


def test_a_failed_unsubscribe_leaves_them_whole_and_the_code_still_works(
    utrecht: System, transaction_fault: TransactionFault
) -> None:
    system = utrecht
    join(system, places=[DOMPLEIN, {"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}])
    unsubscribe_id = unsubscribe(system)
    code = code_sent_to(system)
    transaction_fault.arm()

    failed = confirm(system, unsubscribe_id, code)

    assert transaction_fault.hits == 1
    assert failed.status_code >= 500, failed.body
    assert not any("afgemeld" in t for t in texts_to(system))
    assert alerted_once(system, DOM)
    assert alerted_once(system, UITHOF)

    retried = confirm(system, unsubscribe_id, code)

    assert retried.status_code == 200, retried.body
    assert not_alerted(system, DOM)
    assert not_alerted(system, UITHOF)


def test_a_failed_place_change_keeps_the_old_places(
    utrecht: System, transaction_fault: TransactionFault
) -> None:
    system = utrecht
    join(system)
    token = login(system)
    transaction_fault.arm()

    failed = put_me(
        system, token, {"places": [{"label": "work", "lat": UITHOF[0], "lon": UITHOF[1]}]}
    )

    assert transaction_fault.hits == 1
    assert failed.status_code >= 500, failed.body
    assert alerted_once(system, DOM)
    assert not_alerted(system, UITHOF)
    assert [p["label"] for p in me(system, token)["places"]] == ["home"]


# --- Privacy in the logs -----------------------------------------------------------------------


@pytest.fixture
def app_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the app logs under "burgernet", at DEBUG (chalice stops it reaching the root)."""
    app_logger = logging.getLogger("burgernet")
    caplog.set_level(logging.DEBUG, logger="burgernet")
    caplog.set_level(logging.DEBUG, logger="burgernet.events")
    app_logger.addHandler(caplog.handler)
    yield caplog
    app_logger.removeHandler(caplog.handler)


def test_no_phone_number_or_address_reaches_the_logs(
    utrecht: System, app_log: pytest.LogCaptureFixture
) -> None:
    system = utrecht

    join(system, places=[{**DOMPLEIN, "addition": "A"}])
    token = login(system)
    me(system, token)
    action_around(system)
    unsubscribe_id = unsubscribe(system)
    assert confirm(system, unsubscribe_id, code_sent_to(system)).status_code == 200

    logged = "\n".join(r.getMessage() for r in app_log.records) + app_log.text
    for event in ("signup_started", "signup_verified", "participant_left"):
        assert event in logged  # the capture saw the flow
    for secret in (PHONE, "612345678", "3511LX", "3511 LX"):
        assert secret not in logged, secret
