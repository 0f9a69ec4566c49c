"""POST /actions/{id}/updates: everyone alerted hears an update exactly once, nobody else does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.messages import render_alert, render_result, render_update
from chalicelib.domain.model import Incident, Language, Outcome
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE, QueueError
from chalicelib.runtime import runtime
from tests.support.fanout import (
    CALLBACK_NUMBER,
    FAR_OUTSIDE,
    INSIDE_PHONES,
    JUST_OUTSIDE,
    alert_text,
    close,
    language_of,
    run,
    start,
    texts_per_phone,
    view,
)
from tests.support.system import System

pytestmark = pytest.mark.usefixtures("neighbourhood")

MESSAGE = "Nu te voet, richting station"
NEW_DESCRIPTION = "Man, ongeveer 30 jaar, rode jas, zwarte rugzak"


def update_text(ref: str, phone: str, message: str = MESSAGE) -> str:
    language = Language(language_of(phone))
    return render_update(Incident.BURGLARY, message, ref, language, CALLBACK_NUMBER)


def post_update(system: System, action_id: str, **body: Any) -> Any:
    return system.post(f"/actions/{action_id}/updates", {"message": MESSAGE, **body})


def test_everyone_alerted_gets_the_update_once_and_nobody_else(system: System) -> None:
    action = start(system)
    system.run_queues()

    response = post_update(system, action["action_id"])
    system.run_queues()

    assert response.status_code == 202
    update_id = response.json_body["update_id"]
    ref = action["ref"]
    assert texts_per_phone(system) == {
        p: [alert_text(ref, language_of(p)), update_text(ref, p)] for p in INSIDE_PHONES
    }
    assert JUST_OUTSIDE not in texts_per_phone(system)
    assert FAR_OUTSIDE not in texts_per_phone(system)
    [listed] = view(system, action["action_id"])["updates"]
    assert listed["update_id"] == update_id
    assert listed["message"] == MESSAGE
    assert listed["queued"] is True
    assert listed["counts"] == {"sent": len(INSIDE_PHONES), "failed": 0, "unknown": 0}


def test_fan_out_and_send_work_run_twice_still_send_each_update_once(system: System) -> None:
    action = start(system)
    system.run_queues()
    post_update(system, action["action_id"])

    # When: the update's fan-out is delivered again after its messages went out, and every
    # send message is delivered twice
    [fan_out] = system.emulator.drain(TARGETING_QUEUE)
    sends = []
    for _ in range(2):
        system.invoke("targeting_worker", TARGETING_QUEUE, [fan_out])
        sends += system.emulator.drain(SMS_QUEUE)
        for message in sends:
            system.invoke("sms_sender", SMS_QUEUE, [message])

    # Then
    for phone in INSIDE_PHONES:
        assert texts_per_phone(system)[phone].count(update_text(action["ref"], phone)) == 1


def test_someone_alerted_after_the_update_went_out_still_gets_it_once(system: System) -> None:
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)  # alerts claimed and queued, none sent

    # When: the update fans out before any alert is sent, then the alerts go
    post_update(system, action["action_id"])
    run(system, "targeting_worker", TARGETING_QUEUE)
    system.run_queues()

    # Then: the alerts' sender queued the update for the people it had just alerted
    ref = action["ref"]
    assert texts_per_phone(system) == {
        p: [alert_text(ref, language_of(p)), update_text(ref, p)] for p in INSIDE_PHONES
    }


def test_a_new_description_is_what_alerts_still_to_go_say(system: System) -> None:
    action = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)

    post_update(system, action["action_id"], description=NEW_DESCRIPTION)
    system.run_queues()

    phone = INSIDE_PHONES[0]
    language = Language(language_of(phone))
    new_alert = render_alert(
        Incident.BURGLARY, NEW_DESCRIPTION, action["ref"], language, CALLBACK_NUMBER
    )
    assert texts_per_phone(system)[phone] == [new_alert, update_text(action["ref"], phone)]
    assert view(system, action["action_id"])["description"] == NEW_DESCRIPTION


def test_an_update_still_queued_when_the_action_closes_is_not_sent_after_the_result(
    system: System,
) -> None:
    action = start(system)
    system.run_queues()
    post_update(system, action["action_id"])
    run(system, "targeting_worker", TARGETING_QUEUE)  # the update's sends are queued

    close(system, action["action_id"], "arrested")
    system.run_queues()

    for phone in INSIDE_PHONES:
        language = Language(language_of(phone))
        assert texts_per_phone(system)[phone] == [
            alert_text(action["ref"], language.value),
            render_result(Outcome.ARRESTED, action["ref"], language),
        ]


def test_a_lost_enqueue_is_redriven_by_the_sweep(
    system: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    action = start(system)
    system.run_queues()
    targeting = runtime().targeting
    real_send = targeting.send

    def refuse_updates(items: Any) -> int:
        if items[0]["kind"] == "update":
            raise QueueError("1 of 1 messages refused by burgernet-targeting: ServiceUnavailable")
        return int(real_send(items))

    monkeypatch.setattr(targeting, "send", refuse_updates)
    assert post_update(system, action["action_id"]).status_code == 202
    monkeypatch.setattr(targeting, "send", real_send)
    system.run_queues()
    assert all(len(texts) == 1 for texts in texts_per_phone(system).values())

    # When: the sweep runs a minute later (too soon), then three minutes later
    clock(timedelta(minutes=1))
    assert system.sweep()["redriven"] == 0
    clock(timedelta(minutes=3))
    assert system.sweep()["redriven"] == 1
    system.run_queues()

    # Then
    for phone in INSIDE_PHONES:
        assert texts_per_phone(system)[phone][1:] == [update_text(action["ref"], phone)]
    assert system.sweep()["redriven"] == 0  # queued now: never again


def test_a_closed_action_takes_no_update(system: System) -> None:
    action = start(system)
    close(system, action["action_id"], "found")

    response = post_update(system, action["action_id"])

    assert response.status_code == 409
    assert response.json_body["error"] == "action_closed"
    assert view(system, action["action_id"])["updates"] == []


def test_an_unknown_action_is_404(system: System) -> None:
    response = post_update(system, "00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json_body["error"] == "action_not_found"


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({}, "missing_field", "message"),
        ({"message": " "}, "empty_message", "message"),
        ({"message": "x" * 400}, "message_too_long", "message"),
        ({"message": MESSAGE, "description": "x" * 500}, "description_too_long", "description"),
        ({"message": MESSAGE, "description": ""}, "empty_description", "description"),
        ({"message": 12}, "wrong_type", "message"),
        ({"message": MESSAGE, "photo": "x"}, "unknown_field", "photo"),
    ],
)
def test_a_bad_update_gets_a_400_and_changes_nothing(
    system: System, body: dict[str, Any], error: str, field: str
) -> None:
    action = start(system)

    response = system.post(f"/actions/{action['action_id']}/updates", body)

    assert response.status_code == 400
    assert (response.json_body["error"], response.json_body["field"]) == (error, field)
    after = view(system, action["action_id"])
    assert after["updates"] == []
    assert after["description"] == action["description"]
    assert system.emulator.drain(TARGETING_QUEUE)[1:] == []  # only the targeting job


def test_the_timeline_shows_the_update_and_how_many_it_reached(system: System) -> None:
    action = start(system)
    system.run_queues()
    update_id = post_update(system, action["action_id"]).json_body["update_id"]
    system.run_queues()

    events = system.get(f"/actions/{action['action_id']}/timeline").json_body["events"]

    [sent] = [e for e in events if e["event"] == "update_sent"]
    assert sent["count"] == len(INSIDE_PHONES)
    assert sent["detail"] == {"update_id": update_id}
    assert [e["event"] for e in events].index("update_sent") > [e["event"] for e in events].index(
        "last_alert"
    )
