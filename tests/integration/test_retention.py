"""Personal data lives no longer than it must: redaction of old actions, erasure, the export.

As people notice it: what dispatch reads back, what a person's export lists, who gets which
SMS, and, after an erasure, what any table of the emulated account still holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime as runtime_module
from chalicelib.dal import actions as action_store
from chalicelib.dal.deliveries import ledger
from chalicelib.dal.models import Delivery, Device, Sighting
from chalicelib.handlers import participants as resident_routes
from chalicelib.logic import sweep as sweep_module
from chalicelib.queues import TARGETING_QUEUE
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT, add_participant
from tests.support.callbacks import inbound_call
from tests.support.devices import pushes, put_location, register, sighting
from tests.support.residents import (
    DOM,
    DOMPLEIN,
    PHONE,
    action_around,
    bearer,
    join,
    login,
    reply,
    texts_to,
)
from tests.support.system import REGION, System

DESCRIPTION = "Man, ongeveer 30 jaar, donkere jas met capuchon"
NEAR_DOM = (DOM[0] + 0.0018, DOM[1])  # 200 m north: inside a 500 m circle, farther than home
# Every notation of PHONE (+31 6 12345678) a table might hold, and the address of DOMPLEIN.
PHONE_NOTATIONS = ("+31612345678", "31612345678", "0612345678", "06-12345678", "612345678")
ADDRESS_PARTS = ("3511 LX", "3511LX", "Domplein")
# What a person might write in a sighting: it must go with them.
THEIR_WORDS = "Zag hem bij Domplein 1, bel me op 06-12345678"


@pytest.fixture
def world(app: System, utrecht: System) -> System:
    """Utrecht takes part, and the app can register for push (FCM and APNs)."""
    return app


def view(system: System, action_id: str) -> dict[str, Any]:
    response = system.get(f"/actions/{action_id}")
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def close(system: System, action_id: str, message: str | None = "Dank voor het uitkijken.") -> None:
    body = {"outcome": "arrested", **({"message": message} if message else {})}
    response = system.post(f"/actions/{action_id}/close", body)
    assert response.status_code == 200, response.body
    system.run_queues()


def sightings(system: System, action_id: str) -> list[dict[str, Any]]:
    response = system.get(f"/actions/{action_id}/sightings")
    assert response.status_code == 200, response.body
    return list(response.json_body["sightings"])


def every_item() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table in the emulated account, by table name."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    tables = dynamodb.get_paginator("list_tables").paginate().build_full_result()["TableNames"]
    assert len(tables) >= 11, tables
    scans = dynamodb.get_paginator("scan")
    return {
        table: [item for page in scans.paginate(TableName=table) for item in page["Items"]]
        for table in tables
    }


def tables_holding(*needles: str) -> dict[str, list[str]]:
    """Table name -> which of the needles its items hold (only tables holding any)."""
    found: dict[str, list[str]] = {}
    for table, items in every_item().items():
        text = json.dumps(items, default=repr)
        hits = [n for n in needles if n in text]
        if hits:
            found[table] = hits
    return found


# --- Old actions lose their free text ------------------------------------------------------------


def start_with_app_user(system: System) -> tuple[str, dict[str, Any]]:
    """An action around the Dom that alerted an app user there; (action id, their device)."""
    device = register(system)
    assert put_location(system, device, *UTRECHT).status_code == 200
    action = action_around(system, UTRECHT)
    return action.action_id, device


def test_thirty_days_after_the_close_dispatch_sees_the_action_without_its_free_text(
    world: System, clock: Callable[[timedelta], datetime]
) -> None:
    system = world
    add_participant("+31610000001", UTRECHT)
    action_id, device = start_with_app_user(system)
    seen = sighting(system, device, action_id, {"lat": DOM[0], "lon": DOM[1], "text": "rode jas"})
    assert seen.status_code == 201, seen.body
    close(system, action_id)
    before = view(system, action_id)
    assert before["description"] == DESCRIPTION
    assert before["result_message"] == "Dank voor het uitkijken."
    assert before["redacted_at"] is None

    clock(timedelta(days=30) - timedelta(minutes=1))
    assert system.sweep()["redacted"] == 0
    assert view(system, action_id) == before
    assert [s["text"] for s in sightings(system, action_id)] == ["rode jas"]

    moment = clock(timedelta(days=30, minutes=1))
    assert system.sweep()["redacted"] == 1

    after = view(system, action_id)
    assert after["description"] is None and after["result_message"] is None
    assert after["redacted_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = ("incident", "area", "ref", "created_at", "closed_at", "outcome", "counts", "status")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert after["counts"]["sent"] == 2 and after["counts"]["results_sent"] == 2
    [found] = sightings(system, action_id)
    assert found["text"] is None
    assert (found["lat"], found["lon"]) == pytest.approx(DOM)
    assert system.sweep()["redacted"] == 0  # once redacted, never read again


def test_the_thirty_days_count_from_the_close_not_from_the_start(
    world: System, clock: Callable[[timedelta], datetime]
) -> None:
    system = world
    add_participant("+31610000001", UTRECHT)
    running = action_around(system, UTRECHT)
    closed = action_around(system, UTRECHT)
    close(system, closed.action_id)

    clock(timedelta(days=31))
    result = system.sweep()

    assert result["redacted"] == 1
    assert view(system, closed.action_id)["description"] is None
    # The sweep closed the running one as expired just now: its 30 days start today.
    assert view(system, running.action_id)["status"] == "closed"
    assert view(system, running.action_id)["description"] == DESCRIPTION


def test_keep_descriptions_days_sets_how_long_the_free_text_stays(
    world: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    system = world
    monkeypatch.setenv("KEEP_DESCRIPTIONS_DAYS", "7")
    runtime_module.reset()
    runtime()
    add_participant("+31610000001", UTRECHT)
    action = action_around(system, UTRECHT)
    close(system, action.action_id)

    clock(timedelta(days=6, hours=23))
    assert system.sweep()["redacted"] == 0
    clock(timedelta(days=7, minutes=1))
    assert system.sweep()["redacted"] == 1
    assert view(system, action.action_id)["description"] is None


def test_an_overlapping_sweep_that_read_the_index_late_leaves_the_redaction_as_it_was(
    world: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    system = world
    add_participant("+31610000001", UTRECHT)
    action = action_around(system, UTRECHT)
    close(system, action.action_id)
    first = clock(timedelta(days=30, minutes=1))
    assert system.sweep()["redacted"] == 1

    # A second run read the index before the first one's write reached it.
    monkeypatch.setattr(action_store, "due_for_redaction", lambda *_: [action.action_id])
    clock(timedelta(days=30, minutes=2))

    assert system.sweep()["redacted"] == 0
    assert view(system, action.action_id)["redacted_at"] == first.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_backlog_is_redacted_a_batch_per_minute(
    world: System, clock: Callable[[timedelta], datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    system = world
    add_participant("+31610000001", UTRECHT)
    for _ in range(3):
        close(system, action_around(system, UTRECHT).action_id)
    monkeypatch.setattr(sweep_module, "REDACT_PER_RUN", 2)
    clock(timedelta(days=31))

    assert [system.sweep()["redacted"] for _ in range(3)] == [2, 1, 0]


# --- Erasure -------------------------------------------------------------------------------------


def erase(system: System, how: str, token: str) -> None:
    """The person leaves: DELETE /participants/me, or a STOP reply to an SMS."""
    if how == "delete":
        response = system.client.http.delete("/participants/me", headers=bearer(token))
        assert response.status_code == 204, response.body
    else:
        reply(system, "STOP")


def took_part(system: System) -> tuple[str, str, dict[str, Any]]:
    """A resident at Domplein 1 whose linked app, 200 m away, was alerted by push for an action
    they then reported a sighting for; logged in, with a login code outstanding.

    Returns (action id, session token, device).
    """
    join(system, places=[DOMPLEIN])
    token = login(system)
    device = register(system, bearer=token)
    assert put_location(system, device, *NEAR_DOM).status_code == 200
    action = action_around(system, NEAR_DOM)  # the app is nearer than home: alerted by push
    assert len([m for _, m in pushes() if action.ref in m]) == 1
    seen = sighting(system, device, action.action_id, {**_at(DOM), "text": THEIR_WORDS})
    assert seen.status_code == 201, seen.body
    started = system.post("/participants/login", {"phone": "06-12345678"})  # never typed in
    assert started.status_code == 202, started.body
    return action.action_id, token, device


def _at(point: tuple[float, float]) -> dict[str, float]:
    return {"lat": point[0], "lon": point[1]}


def route(system: System, caller: str) -> dict[str, str]:
    """How the callback line routes a call from this number."""
    return dict(system.client.lambda_.invoke("callback_router", inbound_call(caller)).payload)


@pytest.mark.parametrize("how", ["delete", "stop"])
def test_after_erasure_no_table_holds_their_number_their_address_or_their_app(
    world: System, how: str
) -> None:
    system = world
    action_id, token, device = took_part(system)
    assert set(tables_holding(*PHONE_NOTATIONS)) >= {
        "burgernet-participants",
        "burgernet-places",
        "burgernet-deliveries",
        "burgernet-verifications",
        "burgernet-sightings",
    }
    assert "burgernet-participants" in tables_holding(*ADDRESS_PARTS)

    assert route(system, PHONE)["queue"] == "dispatch"  # the callback line knows them

    erase(system, how, token)

    assert tables_holding(*PHONE_NOTATIONS, *ADDRESS_PARTS) == {}
    # Only the install itself (now anonymous) still knows its id and push endpoint.
    arn = Device.get(device["device_id"]).endpoint_arn
    assert set(tables_holding(device["device_id"], str(arn))) == {"burgernet-devices"}
    assert route(system, PHONE)["queue"] == "general"  # nor does any look-up of their number
    # Dispatch keeps what happened: the alert still counts, the sighting's place and time stay.
    assert view(system, action_id)["counts"]["sent"] == 1
    [kept] = sightings(system, action_id)
    assert kept["text"] is None and (kept["lat"], kept["lon"]) == pytest.approx(DOM)
    # Their session ended with them.
    got = system.client.http.get("/participants/me", headers=bearer(token))
    assert got.status_code == 401, got.body


def test_an_erased_person_gets_no_result_and_is_not_counted_as_one(world: System) -> None:
    system = world
    add_participant("+31610000001", DOM)  # a neighbour, alerted too
    action_id, token, _ = took_part(system)
    erase(system, "delete", token)

    close(system, action_id)

    assert not any("aangehouden" in m for _, m in pushes())
    assert not any("aangehouden" in t for t in texts_to(system))
    assert sum("aangehouden" in t for t in texts_to(system, "+31610000001")) == 1
    counts = view(system, action_id)["counts"]
    assert (counts["results_sent"], counts["results_failed"], counts["results_unknown"]) == (
        1,
        0,
        0,
    )


def test_an_alert_still_waiting_when_its_person_leaves_is_cancelled_never_sent(
    world: System,
) -> None:
    system = world
    join(system)
    token = login(system)
    response = system.post(
        "/actions",
        {"incident": "burglary", "description": DESCRIPTION, "area": {**_at(DOM), "radius_m": 500}},
    )
    action_id = response.json_body["action_id"]
    for message in system.emulator.drain(TARGETING_QUEUE):  # targeted; the SMS wait their turn
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])

    erase(system, "delete", token)
    system.run_queues()

    ref = response.json_body["ref"]
    assert not any(ref in t for t in texts_to(system))
    counts = view(system, action_id)["counts"]
    assert (counts["cancelled"], counts["sent"], counts["failed"], counts["queued"]) == (1, 0, 0, 0)


def test_an_alert_under_way_when_its_person_leaves_is_never_retried_to_no_number(
    world: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: their SMS is being sent as they leave, and the provider then asks to wait
    system = world
    join(system)
    token = login(system)
    client = runtime().sender.sms.client
    publish = client.publish

    def leave_while_sending(**params: Any) -> Any:
        if params["PhoneNumber"] == PHONE and "ref." in params["Message"]:
            monkeypatch.setattr(client, "publish", publish)
            erase(system, "delete", token)
            raise _throttled()
        return publish(**params)

    monkeypatch.setattr(client, "publish", leave_while_sending)

    # When: the alert comes round again after its wait
    action = action_around(system, DOM)

    # Then: it is settled as not sent, not stuck and never sent
    assert not any(action.ref in t for t in texts_to(system))
    counts = view(system, action.action_id)["counts"]
    assert (counts["failed"], counts["sent"], counts["queued"]) == (1, 0, 0)


def _throttled() -> Exception:
    return ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")


def test_an_erasure_never_brings_back_a_sighting_or_an_alert_that_ttl_removed(
    world: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: DynamoDB's TTL removed their sighting and delivery, but the indexes still list them
    system = world
    action_id, token, device = took_part(system)
    stale_sightings = list(Sighting.by_device.query(device["device_id"]))
    stale_deliveries = list(ledger(action_id))
    for item in [*Sighting.query(action_id), *stale_deliveries]:
        item.delete()
    monkeypatch.setattr(Sighting.by_device, "query", lambda *_, **__: iter(stale_sightings))
    monkeypatch.setattr(Delivery.by_participant, "query", lambda *_, **__: iter(stale_deliveries))

    # When
    erase(system, "delete", token)

    # Then: dispatch still reads the action, and nothing half-made came back
    assert sightings(system, action_id) == []
    close(system, action_id)
    assert view(system, action_id)["counts"]["targeted"] == 0
    assert list(ledger(action_id)) == []


# --- The export ----------------------------------------------------------------------------------


def test_the_export_of_a_person_alerted_once_lists_that_alert_its_channel_time_and_outcome(
    world: System,
) -> None:
    system = world
    add_participant("+31687654321", DOM)  # a neighbour alerted by the same action
    neighbour_app = register(system, token="token-2")  # and an app user at the scene
    assert put_location(system, neighbour_app, *DOM).status_code == 200
    join(system, places=[DOMPLEIN])
    token = login(system)
    device = register(system, bearer=token)
    assert put_location(system, device, *NEAR_DOM).status_code == 200
    before = datetime.now(UTC).replace(microsecond=0)
    action = action_around(system, DOM)
    seen = sighting(system, device, action.action_id, {**_at(DOM), "text": "rode jas"})
    assert seen.status_code == 201, seen.body
    other = sighting(system, neighbour_app, action.action_id, {**_at(DOM), "text": "fiets"})
    assert other.status_code == 201, other.body

    response = system.client.http.get("/participants/me/export", headers=bearer(token))

    assert response.status_code == 200, response.body
    data = response.json_body
    [alert] = data["alerts"]
    assert (alert["action_id"], alert["ref"]) == (action.action_id, action.ref)
    assert (alert["channel"], alert["alert"]) == ("sms", "sent")
    assert before <= datetime.fromisoformat(alert["alert_at"]) <= datetime.now(UTC)
    [mine] = data["sightings"]
    assert (mine["action_id"], mine["text"]) == (action.action_id, "rode jas")
    assert (mine["lat"], mine["lon"]) == pytest.approx(DOM)
    [app] = data["devices"]
    assert app["device_id"] == device["device_id"]
    assert (app["location"]["lat"], app["location"]["lon"]) == pytest.approx(NEAR_DOM)
    assert datetime.fromisoformat(app["location"]["until"]) > datetime.now(UTC)
    everything = json.dumps(data)
    assert "687654321" not in everything and "fiets" not in everything
    assert DESCRIPTION not in everything  # the action's text is about someone else


def test_the_export_leaves_out_a_location_that_no_longer_counts(
    world: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = world
    join(system)
    token = login(system)
    device = register(system, bearer=token)
    assert put_location(system, device, *NEAR_DOM).status_code == 200
    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)  # the location counts two hours
    monkeypatch.setattr(resident_routes, "_now", lambda: later)
    token = login(system)  # a session of that later moment

    response = system.client.http.get("/participants/me/export", headers=bearer(token))

    assert response.status_code == 200, response.body
    [app] = response.json_body["devices"]
    assert app["location"] is None and app["shares_location"] is False
