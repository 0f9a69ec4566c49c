"""The dispatcher is told: POST /reach and POST /actions say, per channel, how many people, when
the last alert goes out and how many the duration cuts off; `if_incomplete: reject` starts
nothing that would cut anyone off."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.domain.expected import Rates
from chalicelib.handlers.openapi import document
from chalicelib.settings import Settings
from tests.support.actions import action_body, area, assert_error, assert_nothing_stored_or_sent
from tests.support.builders import UTRECHT, add_participant
from tests.support.system import System

METRES_PER_DEGREE_LAT = 111_195
BASE_RATES = Settings.rates.fget


def north(metres: float) -> tuple[float, float]:
    """A point the given distance due north of UTRECHT."""
    return UTRECHT[0] + metres / METRES_PER_DEGREE_LAT, UTRECHT[1]


@pytest.fixture
def slow_sms(system: System, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set the deployment's SMS rate. (Chalice's test client sets the stage's own variables for
    every request, so the settings' rates are replaced rather than SMS_PER_SECOND.)"""

    def set_rate(per_second: float) -> None:
        def rates(settings: Settings) -> Rates:
            return replace(BASE_RATES(settings), sms_per_second=per_second)

        monkeypatch.setattr(Settings, "rates", property(rates))

    return set_rate


@pytest.fixture
def four_inside(system: System) -> None:
    """Three SMS people and one voice person inside the default 1 km circle, one outside."""
    for n in range(3):
        add_participant(f"+3162000000{n}", north(100 + 100 * n))
    add_participant("+31301234567", north(400), channel="voice")  # a landline
    add_participant("+31620000009", north(5000))


def test_reach_tells_people_time_and_cancelled_per_channel(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 150)  # one SMS every 150 s: the third at 300 s, a fourth would be too late

    short = system.post("/reach", {"area": area(), "duration_minutes": 5})
    default = system.post("/reach", {"area": area()})

    assert short.status_code == 200, short.body
    assert short.json_body["participants"] == 4
    assert short.json_body["duration_minutes"] == 5
    expected = short.json_body["expected"]
    assert expected["sms"] == {"people": 3, "seconds_to_last": 300, "cancelled": 0}
    # The test stage has no voice channel: the landline cannot be reached.
    assert expected["voice"]["people"] == 0
    assert expected["push"]["people"] == 0
    assert default.json_body["duration_minutes"] == 60
    assert_nothing_stored_or_sent(system)


def test_reach_counts_who_a_shorter_duration_cuts_off(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)  # the third SMS would go at 400 s

    response = system.post("/reach", {"area": area(), "duration_minutes": 5})

    assert response.json_body["expected"]["sms"] == {
        "people": 3,
        "seconds_to_last": 400,
        "cancelled": 1,
    }


def test_starting_an_action_answers_what_to_expect(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)

    response = system.post("/actions", action_body(duration_minutes=5))

    assert response.status_code == 202, response.body
    assert response.json_body["expected"]["sms"]["cancelled"] == 1
    assert response.json_body["status"] == "active"  # "send", the default, starts it anyway


def _rejected(response: Any) -> dict[str, Any]:
    body = assert_error(response, 409, "reach_exceeds_duration", None, "7 minutes", "sms 1")
    assert body["duration_minutes"] == 5
    assert body["duration_minutes_needed"] == 7  # 400 s of SMS
    assert body["expected"]["sms"]["cancelled"] == 1
    return body


def test_reject_starts_nothing_when_someone_would_be_cut_off(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)

    response = system.post("/actions", action_body(duration_minutes=5, if_incomplete="reject"))

    body = _rejected(response)
    assert "1 person could not be alerted within 5 minutes" in body["message"]
    assert_nothing_stored_or_sent(system)


def test_reject_starts_an_action_that_reaches_everyone(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)

    response = system.post("/actions", action_body(duration_minutes=7, if_incomplete="reject"))

    assert response.status_code == 202, response.body
    assert response.json_body["expected"]["sms"]["cancelled"] == 0


def test_a_refused_key_is_not_used_up_and_a_used_key_replays_its_action(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    """The 409 stores no idempotency record: the same key may then start the action on purpose
    (send), and a late retry of the refused request gets that action, not a second one."""
    slow_sms(1 / 200)
    key = {"Idempotency-Key": "meldkamer-42"}
    reject = action_body(duration_minutes=5, if_incomplete="reject")

    refused = system.post("/actions", reject, key)
    sent = system.post("/actions", action_body(duration_minutes=5), key)
    retried = system.post("/actions", reject, key)

    _rejected(refused)
    assert sent.status_code == 202, sent.body
    assert retried.status_code == 202, retried.body
    assert retried.json_body["action_id"] == sent.json_body["action_id"]
    listed = system.get("/actions?status=active").json_body["actions"]
    assert [a["action_id"] for a in listed] == [sent.json_body["action_id"]]


def test_reject_with_a_key_used_for_another_action_is_still_a_key_conflict(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)
    key = {"Idempotency-Key": "meldkamer-43"}
    system.post("/actions", action_body(duration_minutes=5), key)

    response = system.post(
        "/actions",
        action_body(duration_minutes=5, if_incomplete="reject", description="vrouw, rode jas"),
        key,
    )

    assert_error(response, 409, "idempotency_key_reused")


def test_when_everyone_fits_reject_changes_nothing(system: System, four_inside: None) -> None:
    response = system.post("/actions", action_body(if_incomplete="reject"))

    assert response.status_code == 202, response.body
    assert response.json_body["expected"]["sms"] == {
        "people": 3,
        "seconds_to_last": 1,  # 1,000 SMS a second on the test stage: 0.002 s, rounded up
        "cancelled": 0,
    }


@pytest.mark.parametrize("value", ["maybe", "REJECT", True, None])
def test_if_incomplete_takes_only_send_or_reject(system: System, value: Any) -> None:
    response = system.post("/actions", action_body(if_incomplete=value))

    assert_error(response, 400, _code(value), "if_incomplete", "send", "reject")
    assert_nothing_stored_or_sent(system)


def _code(value: Any) -> str:
    return "unknown_if_incomplete" if isinstance(value, str) else "wrong_type"


def _documented(schema: dict[str, Any], body: Any) -> None:
    """The body fits the OpenAPI document's schema (its references resolved in the document)."""
    spec = document()
    Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


def test_the_answers_are_the_documented_ones(
    system: System, four_inside: None, slow_sms: Callable[[float], None]
) -> None:
    slow_sms(1 / 200)
    paths = document()["paths"]
    json_of = "content", "application/json", "schema"

    reach = system.post("/reach", {"area": area(), "duration_minutes": 5, "incident": "robbery"})
    started = system.post("/actions", action_body())
    refused = system.post("/actions", action_body(duration_minutes=5, if_incomplete="reject"))

    reach_schema = paths["/reach"]["post"]["responses"]["200"]
    _documented(reach_schema[json_of[0]][json_of[1]][json_of[2]], reach.json_body)
    started_schema = paths["/actions"]["post"]["responses"]["202"]
    _documented(started_schema[json_of[0]][json_of[1]][json_of[2]], started.json_body)
    _documented({"$ref": "#/components/schemas/Error"}, json.loads(refused.body))
