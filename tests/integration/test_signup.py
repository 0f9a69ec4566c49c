"""Joining, as a resident notices it: who gets which SMS, and the answers.

Everything runs through the emulated account (moto), the recorded-addresses PDOK stand-in and
chalice's test client, as in `conftest`. Alerts come from real actions run through the queues.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.domain.signup import AMSTERDAM
from tests.support.residents import (
    CODE,
    DOM,
    DOMPLEIN,
    MISSING,
    PHONE,
    RAADSTEDE,
    UITHOF,
    TransactionFault,
    action_around,
    alerted_once,
    alerts,
    assert_error,
    code_sent_to,
    confirm,
    export,
    header,
    join,
    login,
    me,
    not_alerted,
    pin_clock,
    signup_body,
    start_signup,
    texts_to,
    unsubscribe,
    verify,
    wrong,
)
from tests.support.system import REGION, System

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


# --- All or nothing ----------------------------------------------------------------------------


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
