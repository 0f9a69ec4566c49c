"""POST /actions/{id}/updates with an Idempotency-Key: a dispatch retry sends nothing twice.

Who received which SMS is what is checked: each alerted person gets the update exactly once,
whether the retry comes before or after the messages went out.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.messages import render_update
from chalicelib.domain.model import Incident, Language
from chalicelib.queues import TARGETING_QUEUE
from tests.support.actions import assert_error
from tests.support.builders import UTRECHT
from tests.support.fanout import (
    CALLBACK_NUMBER,
    INSIDE_PHONES,
    alert_text,
    language_of,
    start,
    texts_per_phone,
    view,
)
from tests.support.system import System

pytestmark = pytest.mark.usefixtures("neighbourhood")

MESSAGE = "Nu te voet, richting station"
KEY = {"Idempotency-Key": "meldkamer-midden-2024-000123-u1"}


def post_update(system: System, action_id: str, headers: dict[str, str], **body: Any) -> Any:
    return system.post(f"/actions/{action_id}/updates", {"message": MESSAGE, **body}, headers)


def alert_and_update(ref: str, *messages: str) -> dict[str, list[str]]:
    """What each alerted phone should hold: its alert, then each update once."""
    return {
        p: [
            alert_text(ref, language_of(p)),
            *(
                render_update(Incident.BURGLARY, m, ref, Language(language_of(p)), CALLBACK_NUMBER)
                for m in messages
            ),
        ]
        for p in INSIDE_PHONES
    }


def test_a_retry_with_the_same_key_gets_the_first_answer_and_sends_nothing_twice(
    system: System,
) -> None:
    action = start(system)
    system.run_queues()

    first = post_update(system, action["action_id"], KEY)
    second = post_update(system, action["action_id"], KEY)  # a retry before anything went out
    system.run_queues()

    assert first.status_code == second.status_code == 202
    assert second.json_body == first.json_body
    assert texts_per_phone(system) == alert_and_update(action["ref"], MESSAGE)
    assert [u["update_id"] for u in view(system, action["action_id"])["updates"]] == [
        first.json_body["update_id"]
    ]


def test_a_retry_after_the_first_answer_was_lost_sends_nothing_twice(system: System) -> None:
    action = start(system)
    system.run_queues()

    post_update(system, action["action_id"], KEY)  # stored and sent; its answer never arrives
    system.run_queues()
    retry = post_update(system, action["action_id"], KEY)

    # Nothing is queued again: the per-person ledger would catch a second fan-out, but it is
    # a second pass over everyone alerted, for nothing.
    assert system.emulator.drain(TARGETING_QUEUE) == []
    assert retry.status_code == 202
    [listed] = view(system, action["action_id"])["updates"]
    assert retry.json_body == {"update_id": listed["update_id"]}
    assert texts_per_phone(system) == alert_and_update(action["ref"], MESSAGE)
    assert listed["counts"] == {"sent": len(INSIDE_PHONES), "failed": 0, "unknown": 0}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"message": "Nu op een scooter"}, id="another-message"),
        pytest.param({"description": "Man, rode jas, zwarte rugzak"}, id="a-description"),
    ],
)
def test_the_same_key_with_a_different_body_is_refused_and_sends_nothing(
    system: System, change: dict[str, str]
) -> None:
    action = start(system)
    system.run_queues()
    post_update(system, action["action_id"], KEY)
    system.run_queues()

    response = post_update(system, action["action_id"], KEY, **change)
    system.run_queues()

    assert_error(response, 409, "idempotency_key_reused", None, "Idempotency-Key")
    assert texts_per_phone(system) == alert_and_update(action["ref"], MESSAGE)


def test_the_same_key_on_another_action_is_refused(system: System) -> None:
    first, other = start(system), start(system)
    post_update(system, first["action_id"], KEY)

    response = post_update(system, other["action_id"], KEY)

    assert_error(response, 409, "idempotency_key_reused", None, "Idempotency-Key")
    assert view(system, other["action_id"])["updates"] == []


def test_an_update_key_and_an_action_key_are_apart(system: System) -> None:
    """A key used to start an action is no reuse when an update of it carries the same key."""
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": "Man, circa 30 jaar, rode jas",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1000},
        },
        KEY,
    )
    assert response.status_code == 202, response.body

    assert post_update(system, response.json_body["action_id"], KEY).status_code == 202


def test_without_a_key_each_request_is_a_new_update(system: System) -> None:
    action = start(system)
    system.run_queues()

    ids = {post_update(system, action["action_id"], {}).json_body["update_id"] for _ in range(2)}
    system.run_queues()

    assert len(ids) == 2  # as before: a client that retries must send a key
    assert texts_per_phone(system) == alert_and_update(action["ref"], MESSAGE, MESSAGE)


def test_a_retry_after_the_action_closed_still_gets_the_first_answer(system: System) -> None:
    action = start(system)
    system.run_queues()
    first = post_update(system, action["action_id"], KEY)
    system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})

    retry = post_update(system, action["action_id"], KEY)

    assert (retry.status_code, retry.json_body) == (202, first.json_body)


def test_a_new_key_on_a_closed_action_is_refused_as_closed(system: System) -> None:
    action = start(system)
    system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})

    response = post_update(system, action["action_id"], KEY)

    assert_error(response, 409, "action_closed")


def test_an_invalid_key_is_refused_before_anything_is_stored(system: System) -> None:
    action = start(system)

    response = post_update(system, action["action_id"], {"Idempotency-Key": "k" * 129})

    assert_error(response, 400, "invalid_idempotency_key", "Idempotency-Key", "128")
    assert view(system, action["action_id"])["updates"] == []
