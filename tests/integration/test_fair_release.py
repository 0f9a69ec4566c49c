"""Concurrent actions are fair: targeting releases each action's chunks at the channel's rate, so
a small action started while a large one is sending is not queued behind the large one's list.

Driven at the logic level against moto's SQS, where a message sent with DelaySeconds stays
invisible until its delay is over, as in SQS.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import runtime as runtime_module
from chalicelib.dal import deliveries as ledger
from chalicelib.domain.expected import Rates
from chalicelib.domain.geo.shapes import Circle
from chalicelib.domain.model import Channel, Incident, Kind
from chalicelib.domain.requests import ActionRequest
from chalicelib.logic import actions, sending, targeting
from chalicelib.logic.work import SEND_CHUNK, TAPER_MIN, Release, SendWork, lead_s
from chalicelib.queues import MAX_DELAY_S, SMS_QUEUE, TARGETING_QUEUE, WorkQueue
from chalicelib.settings import Settings
from tests.support.actions import action_body
from tests.support.builders import UTRECHT, add_participant
from tests.support.system import REGION, System

METRES_PER_DEGREE_LAT = 111_195
LARGE = 200  # 8 chunks: 20 s of SMS at 10 a second
SMALL = 5
# The large list's last chunk (a few people) is due when the rest went: 19.5 s, less the lead.
LAST_DELAY_S = (LARGE - TAPER_MIN) / 10 - 5
# 10 SMS a second, production's default: a chunk is 2.5 s of the channel.
RATES = Rates(sms_per_second=10, voice_starts_per_second=2, voice_lines=10, push_per_second=500)


def north(metres: float, east: float = 0.0) -> tuple[float, float]:
    return UTRECHT[0] + metres / METRES_PER_DEGREE_LAT, UTRECHT[1] + east


class Unmeasured:
    """Metrics nobody reads."""

    def publish(self, *_: Any, **__: Any) -> None:
        pass


@pytest.fixture
def queues(system: System) -> Iterator[dict[Channel, WorkQueue]]:
    runtime_module.runtime()  # models bound to the test stage's tables
    sqs = boto3.client("sqs", region_name=REGION)
    yield {
        Channel.SMS: WorkQueue(sqs, SMS_QUEUE),
        Channel.VOICE: WorkQueue(sqs, "burgernet-voice"),
        Channel.PUSH: WorkQueue(sqs, "burgernet-push"),
    }


def _start(
    lat_lon: tuple[float, float], radius_m: float, channels: tuple[Channel, ...] = (Channel.SMS,)
) -> str:
    lat, lon = lat_lon
    request = ActionRequest(
        Incident.BURGLARY, "man in rode jas", Circle(lat, lon, radius_m), 60, channels
    )
    queue = WorkQueue(boto3.client("sqs", region_name=REGION), TARGETING_QUEUE)
    return str(actions.start_action(request, "test", None, queue, datetime.now(UTC)).action_id)


@pytest.fixture
def two_actions(system: System) -> tuple[str, str]:
    """A large action in the centre and a small one 10 km east, nobody in both."""
    for n in range(LARGE):
        add_participant(f"+316100{n:05d}", north(n))
    for n in range(SMALL):
        add_participant(f"+316200{n:05d}", north(n, east=0.15))
    return _start(UTRECHT, 1000), _start(north(0, east=0.15), 1000)


def _visible_in_order(system: System) -> list[dict[str, Any]]:
    """The SMS queue's visible messages, in the order a sender would receive them."""
    return [json.loads(m["Body"]) for m in system.emulator.drain(SMS_QUEUE)]


def test_a_small_action_is_not_queued_behind_a_large_ones_list(
    system: System, queues: dict[Channel, WorkQueue], two_actions: tuple[str, str]
) -> None:
    large, small = two_actions
    targeting.target(large, queues, datetime.now(UTC), Unmeasured(), Release(RATES))
    targeting.target(small, queues, datetime.now(UTC), Unmeasured(), Release(RATES))

    visible = _visible_in_order(system)

    ahead = []
    for work in visible:
        if work["action_id"] == small:
            break
        ahead.append(work)
    else:
        raise AssertionError("the small action's chunk is not visible to the senders")
    # Ahead of it only the large action's head start: its chunks within the lead of their turn.
    head_start = int(lead_s(Channel.SMS, RATES.sms_per_second) * RATES.sms_per_second / SEND_CHUNK)
    assert len(ahead) <= head_start + 1
    assert len(ahead) < LARGE // SEND_CHUNK


def test_the_rest_of_the_large_list_waits_its_turn_and_nobody_is_lost_or_doubled(
    system: System, queues: dict[Channel, WorkQueue], two_actions: tuple[str, str]
) -> None:
    large, _ = two_actions
    targeting.target(large, queues, datetime.now(UTC), Unmeasured(), Release(RATES))

    visible_now = _visible_in_order(system)
    delays = system.emulator.delayed(SMS_QUEUE)
    system.emulator.time_passes(SMS_QUEUE)
    later = _visible_in_order(system)

    # 20 s of SMS: the chunks due within the 5 s lead (25, 22 and 20 people) at once, the rest at
    # their turn, cut smaller towards the end, so the last is due when nearly all 200 went.
    assert len(visible_now) == 3
    assert delays == sorted(delays)
    assert delays[-1] == pytest.approx(LAST_DELAY_S, abs=1)
    sizes = [len(work["participant_ids"]) for work in visible_now + later]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-2] == TAPER_MIN
    people = Counter(p for work in visible_now + later for p in work["participant_ids"])
    assert len(people) == LARGE
    assert set(people.values()) == {1}


def test_the_targeting_worker_releases_at_the_deployments_rates(
    system: System, two_actions: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployed path: the worker hands targeting a release at the settings' rates."""
    monkeypatch.setattr(Settings, "rates", property(lambda _: RATES))
    large, _ = two_actions
    work = [m for m in system.emulator.drain(TARGETING_QUEUE) if large in m["Body"]]

    system.invoke("targeting_worker", TARGETING_QUEUE, work)

    assert max(system.emulator.delayed(SMS_QUEUE)) == pytest.approx(LAST_DELAY_S, abs=1)


def test_results_released_past_sqs_longest_delay_wait_for_their_turn(system: System) -> None:
    """A closed action's alerts still waiting are cancelled at once, but its results, paced
    past 900 s, are put back until their turn instead of going out ahead of other actions."""
    for n in range(SMALL):
        add_participant(f"+316200{n:05d}", north(n))
    action_id = system.post("/actions", action_body()).json_body["action_id"]
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    alerts = system.emulator.drain(SMS_QUEUE)
    for message in alerts:
        system.invoke("sms_sender", SMS_QUEUE, [message])
    assert len(system.emulator.sms()) == SMALL
    assert system.post(f"/actions/{action_id}/close", {"outcome": "found"}).status_code == 200
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])  # results queued
    system.emulator.drain(SMS_QUEUE)  # this test sends them itself, as released past 900 s
    ids = tuple(p for m in alerts for p in json.loads(m["Body"])["participant_ids"])
    now = datetime.now(UTC)
    due = now + timedelta(hours=1)
    results = SendWork(Kind.RESULT, Channel.SMS, action_id, ids, not_before=due)

    sent = sending.send(results, runtime_module.runtime().sender, now)

    assert sent == 0
    assert len(system.emulator.sms()) == SMALL  # no result went out yet
    assert system.emulator.delayed(SMS_QUEUE) == [MAX_DELAY_S]


def test_a_slower_channels_people_are_claimed_beside_a_faster_ones_not_after_them(
    system: System, queues: dict[Channel, WorkQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 SMS people live nearer than 10 who want a call. At 10 SMS and 0.25 calls a second
    the first calls are due at once: they are claimed (and queued) in the first batch, not
    after every SMS person."""
    for n in range(300):
        add_participant(f"+316100{n:05d}", north(n))
    for n in range(10):
        add_participant(f"+316300{n:05d}", north(400 + n), channel="voice")
    action = _start(UTRECHT, 1000, (Channel.SMS, Channel.VOICE))
    batches: list[Counter[str]] = []
    claim = ledger.claim

    def spied(action_id: str, recipients: Any, now: datetime) -> int:
        batches.append(Counter(str(r.channel) for r in recipients))
        return claim(action_id, recipients, now)

    monkeypatch.setattr(ledger, "claim", spied)

    targeting.target(action, queues, datetime.now(UTC), Unmeasured(), Release(RATES))

    assert len(batches) == 2  # 310 people, 250 a batch
    # 250 people are 25 s of SMS at 10 a second; calls are due every 4 s: 0, 4, ..., 24 s.
    assert batches[0]["voice"] == 7
    assert sum(b["voice"] for b in batches) == 10
