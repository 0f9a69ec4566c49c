"""Voice alerts: Connect's limits kept on a fake clock, outcomes from contact events, one retry."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import runtime as runtime_module
from chalicelib.adapters.errors import SendFailed
from chalicelib.dal.deliveries import ledger
from chalicelib.dal.models import Place
from chalicelib.domain.model import Channel, Language
from chalicelib.domain.pacing import RateLimiter
from chalicelib.handlers import workers
from chalicelib.logic.sending import LINES_BUSY_DELAY_S
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE, VOICE_QUEUE
from tests.support.builders import UTRECHT, add_participant
from tests.support.system import System
from tools.emulator import ROOT

CALL_SECONDS = 25
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # daytime: no quiet hours in play
NIGHT = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # 00:30 in Amsterdam


class FakeClock:
    """Time that moves only when the test (or the pacer's sleep) moves it."""

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> datetime:
        return START + timedelta(seconds=self.t)


@dataclasses.dataclass
class FakeCallCenter:
    """Stands in for Connect: every call lasts CALL_SECONDS; it notes starts and overlaps."""

    clock: FakeClock
    starts: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    running: dict[str, float] = dataclasses.field(default_factory=dict)  # contact -> ends at
    max_running: int = 0
    texts: list[str] = dataclasses.field(default_factory=list)
    references: dict[str, str] = dataclasses.field(default_factory=dict)  # contact -> reference

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        contact = str(uuid.uuid4())
        self.references[contact] = reference
        self.starts.append((self.clock.t, phone))
        self.running[contact] = self.clock.t + CALL_SECONDS
        self.max_running = max(self.max_running, len(self.running))
        self.texts.append(text)
        return contact

    def reference_of(self, contact_id: str) -> str | None:
        return self.references.get(contact_id)

    def ended(self) -> list[str]:
        """Calls whose time is up (they leave `running`)."""
        done = [c for c, end in self.running.items() if end <= self.clock.t]
        for contact in done:
            del self.running[contact]
        return done


def contact_event(contact_id: str, answered: bool) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "eventType": "DISCONNECTED",
        "contactId": contact_id,
        "initiationMethod": "OUTBOUND",
        "channel": "VOICE",
    }
    if answered:
        detail["connectedToSystemTimestamp"] = "2026-11-28T12:00:05Z"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "account": "123456789012",
        "time": "2026-11-28T12:00:30Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def center(
    clock: FakeClock, system: System, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeCallCenter]:
    """A deployment that calls (2 starts/s, 10 lines) through the fake call center."""
    monkeypatch.setenv("CHANNELS", "sms,voice")
    monkeypatch.setenv("VOICE_BACKEND", "local")
    runtime_module.reset()
    rt = runtime_module.runtime()
    fake = FakeCallCenter(clock)
    sender = dataclasses.replace(
        rt.sender,
        voice=fake,
        pacers={
            Channel.VOICE: RateLimiter(2, clock=clock.monotonic, sleep=clock.sleep),
            Channel.SMS: RateLimiter(1000, clock=clock.monotonic, sleep=clock.sleep),
        },
        line_wait_s=0,  # this loop ends calls between invocations: put back, don't wait
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    wired = dataclasses.replace(rt, sender=sender)
    monkeypatch.setattr(workers, "runtime", lambda: wired)
    monkeypatch.setattr(workers, "now", clock.now)
    yield fake


def start_action(system: System, channels: list[str]) -> dict[str, Any]:
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": "man in rode jas op een zwarte fiets",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1000},
            "channels": channels,
        },
    )
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def run_until_quiet(
    system: System,
    clock: FakeClock,
    center: FakeCallCenter,
    answered: bool = True,
    limit_s: int = 600,
) -> None:
    """SQS and Connect on the fake clock: redeliver what failed, end calls when their time is up."""
    waiting: list[dict[str, Any]] = []
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    while clock.t < limit_s:
        system.emulator.time_passes(VOICE_QUEUE)  # work put back (lines busy) comes round
        waiting += system.emulator.drain(VOICE_QUEUE)
        retry = []
        for message in waiting:
            payload = system.invoke("voice_sender", VOICE_QUEUE, [message])
            if payload["batchItemFailures"]:
                retry.append(message)  # back after its visibility timeout
        waiting = retry
        for contact in center.ended():
            system.client.lambda_.invoke("contact_events", contact_event(contact, answered))
        if not waiting and not center.running:
            return
        clock.sleep(1)
    raise AssertionError("calls did not finish")


def test_voice_alerts_keep_to_two_starts_a_second_and_ten_lines_and_drop_nobody(
    system: System, clock: FakeClock, center: FakeCallCenter
) -> None:
    # Given 30 voice participants inside the circle
    phones = [f"+3161100{n:04d}" for n in range(30)]
    for n, phone in enumerate(phones):
        add_participant(phone, (UTRECHT[0] + n * 0.0001, UTRECHT[1]), channel="voice")

    # When an action calls them
    action = start_action(system, ["voice"])
    run_until_quiet(system, clock, center)

    # Then everyone got exactly one call, never more than 2 started in any second,
    # never more than 10 at once, and nobody got an SMS instead
    assert sorted(p for _, p in center.starts) == sorted(phones)
    for t, _ in center.starts:
        assert sum(1 for s, _ in center.starts if t <= s < t + 1) <= 2
    assert center.max_running == 10  # the lines were the limit, and were all used
    assert system.emulator.sms() == []
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert counts["targeted"] == counts["sent"] == 30
    outcomes = {d.alert_outcome for d in ledger(action["action_id"])}
    assert outcomes == {"answered"}
    # The reference is spelled out for the ear
    assert all("referentie " + ", ".join(action["ref"]) in text for text in center.texts)


def test_one_alert_per_person_on_the_channel_they_chose(
    system: System, clock: FakeClock, center: FakeCallCenter
) -> None:
    add_participant("+31611000001", UTRECHT, channel="voice")
    add_participant("+31611000002", UTRECHT, (UTRECHT[0] + 0.001, UTRECHT[1]), channel="sms")

    start_action(system, ["sms", "voice"])
    run_until_quiet(system, clock, center)
    for message in system.emulator.drain(SMS_QUEUE):
        system.invoke("sms_sender", SMS_QUEUE, [message])

    assert [p for _, p in center.starts] == ["+31611000001"]
    assert [to for to, _ in system.emulator.sms()] == ["+31611000002"]


def test_an_unanswered_alert_call_is_tried_once_more_later(
    system: System, clock: FakeClock, center: FakeCallCenter
) -> None:
    add_participant("+31611000003", UTRECHT, channel="voice")
    action = start_action(system, ["voice"])

    run_until_quiet(system, clock, center, answered=False)

    # The retry waits in the queue, delayed by five minutes; the ledger says queued again
    queue = system.emulator.sqs.get_queue_url(QueueName=VOICE_QUEUE)["QueueUrl"]
    attributes = system.emulator.sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    [delivery] = ledger(action["action_id"])
    assert (delivery.alert_status, delivery.alert_outcome) == ("queued", "no_answer")
    assert system.get(f"/actions/{action['action_id']}").json_body["counts"]["sent"] == 0

    # When the retry comes round and is not answered either, that was the last try
    retry = {
        "MessageId": "retry",
        "ReceiptHandle": "r",
        "MD5OfBody": "m",
        "Body": json.dumps(
            {
                "kind": "alert",
                "channel": "voice",
                "action_id": action["action_id"],
                "participant_ids": [delivery.participant_id],
            }
        ),
    }
    assert system.invoke("voice_sender", VOICE_QUEUE, [retry])["batchItemFailures"] == []
    clock.sleep(CALL_SECONDS)
    for contact in center.ended():
        system.client.lambda_.invoke("contact_events", contact_event(contact, answered=False))
    assert len(center.starts) == 2
    [delivery] = ledger(action["action_id"])
    assert (delivery.alert_status, delivery.alert_outcome) == ("sent", "no_answer")


def test_a_landline_signs_up_with_a_call_that_reads_the_code_out(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment that calls (the local voice stand-in) and the demo municipality
    monkeypatch.setenv("CHANNELS", "sms,voice")
    monkeypatch.setenv("VOICE_BACKEND", "local")
    runtime_module.reset()
    runtime_module.local_voice.cache_clear()
    runtime_module.runtime()  # built now: the test client overlays the stage's own CHANNELS
    system.post(
        "/municipalities", json.loads((ROOT / "tools/fixtures/gm0344_utrecht.json").read_text())
    )

    # When a resident signs up with a landline, to be called
    response = system.post(
        "/signup",
        {
            "municipality": "GM0344",
            "phone": "030 123 4567",
            "birth_date": "1950-05-05",
            "channel": "voice",
            "places": [{"label": "home", "postcode": "3511 LX", "house_number": "1"}],
        },
    )

    # Then the code is read out in a call (digit by digit), no SMS is sent, and it works
    assert response.status_code == 202, response.body
    [call] = runtime_module.local_voice().calls
    assert call.phone.startswith("+313") and system.emulator.sms() == []
    spoken = re.search(r"(\d, ){5}\d", call.text)
    assert spoken is not None
    code = spoken.group().replace(", ", "")
    verified = system.post(
        "/signup/verify", {"signup_id": response.json_body["signup_id"], "code": code}
    )
    assert verified.status_code == 201, verified.body


LANDLINE = "+31301234567"


def quiet_landline() -> None:
    """A landline participant (voice only) with quiet hours 23:00-07:00."""
    add_participant(LANDLINE, UTRECHT, channel="voice")
    for place in Place.scan():
        place.update(actions=[Place.quiet_from.set("23:00"), Place.quiet_to.set("07:00")])


def run_voice_queue(system: System) -> None:
    system.emulator.time_passes(VOICE_QUEUE)
    for message in system.emulator.drain(VOICE_QUEUE):
        assert system.invoke("voice_sender", VOICE_QUEUE, [message])["batchItemFailures"] == []


def targeted_at_night(system: System, clock: FakeClock) -> dict[str, Any]:
    """A burglary at 00:30 in Amsterdam, targeted, with a quiet-hours landline inside."""
    quiet_landline()
    clock.t = (NIGHT - START).total_seconds()
    action = start_action(system, ["voice"])
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    return action


def test_a_landline_in_its_quiet_hours_is_called_when_they_end(
    system: System, clock: FakeClock, center: FakeCallCenter
) -> None:
    # Given: 00:30 in Amsterdam (23:30 UTC), a burglary, a landline asleep until 07:00
    action = targeted_at_night(system, clock)

    # When the sender sees it during the night: held (as a new message, at most 15 min ahead)
    run_voice_queue(system)
    assert center.starts == []
    assert system.emulator.delayed(VOICE_QUEUE)[0] <= 900
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert (counts["targeted"], counts["queued"], counts["sent"]) == (1, 1, 0)

    # When it comes round at 06:59 and at 07:00 Amsterdam time
    clock.t = (NIGHT - START).total_seconds() + 6.5 * 3600 - 60
    run_voice_queue(system)
    assert center.starts == []
    clock.t += 60
    run_voice_queue(system)
    run_voice_queue(system)

    # Then: called once, when the quiet hours ended
    assert [phone for _, phone in center.starts] == [LANDLINE]


def test_a_landline_held_for_its_quiet_hours_is_not_called_once_the_action_has_closed(
    system: System, clock: FakeClock, center: FakeCallCenter
) -> None:
    action = targeted_at_night(system, clock)
    run_voice_queue(system)

    # When: the suspect is caught at 02:00, and the morning comes
    system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    clock.t += 7 * 3600
    run_voice_queue(system)

    # Then: never called, neither the alert nor the result; counted as cancelled
    assert center.starts == []
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert (counts["cancelled"], counts["sent"], counts["results_sent"]) == (1, 0, 0)


def test_a_sender_waits_for_a_line_to_come_free_instead_of_giving_the_chunk_back(
    system: System, clock: FakeClock, center: FakeCallCenter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: twelve voice participants, ten lines, and a sender that may wait up to 60 s; while
    # it waits, Connect's contact events for the calls that end arrive (as they would in AWS)
    phones = [f"+3161100{n:04d}" for n in range(12)]
    for n, phone in enumerate(phones):
        add_participant(phone, (UTRECHT[0] + n * 0.0001, UTRECHT[1]), channel="voice")
    tick = clock.sleep

    def sleep_while_calls_end(seconds: float) -> None:
        tick(seconds)
        for contact in center.ended():
            system.client.lambda_.invoke("contact_events", contact_event(contact, answered=True))

    wired = workers.runtime()
    sender = dataclasses.replace(wired.sender, line_wait_s=60, sleep=sleep_while_calls_end)
    monkeypatch.setattr(workers, "runtime", lambda: dataclasses.replace(wired, sender=sender))

    # When: one invocation takes the chunk
    start_action(system, ["voice"])
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    [chunk] = system.emulator.drain(VOICE_QUEUE)
    assert system.invoke("voice_sender", VOICE_QUEUE, [chunk])["batchItemFailures"] == []

    # Then: all twelve called in it, nothing put back; the 11th call took the first free line
    # within a poll of the first call's end, and never more than ten at once
    assert sorted(p for _, p in center.starts) == sorted(phones)
    assert system.emulator.delayed(VOICE_QUEUE) == []
    first_end = center.starts[0][0] + CALL_SECONDS
    assert first_end <= center.starts[10][0] <= first_end + 1
    assert center.max_running == 10


def test_a_call_whose_start_is_ambiguous_keeps_its_line_until_the_call_ends(
    system: System, clock: FakeClock, center: FakeCallCenter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: eleven voice participants and ten lines; Connect places the first call but its
    # answer is lost, so nobody knows the call runs (and it holds one of Connect's lines)
    phones = [f"+3161100{n:04d}" for n in range(11)]
    for n, phone in enumerate(phones):
        add_participant(phone, (UTRECHT[0] + n * 0.0001, UTRECHT[1]), channel="voice")
    first_answer_lost(center, monkeypatch)

    # When: one invocation takes the chunk, and may not wait for a line
    action = start_action(system, ["voice"])
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    [chunk] = system.emulator.drain(VOICE_QUEUE)
    assert system.invoke("voice_sender", VOICE_QUEUE, [chunk])["batchItemFailures"] == []

    # Then: the unknown call keeps its line, so Connect never has more than ten calls, and the
    # eleventh person waits for a line instead of being called over the limit
    assert len(center.starts) == 10
    assert center.max_running == 10
    assert system.emulator.delayed(VOICE_QUEUE) == [LINES_BUSY_DELAY_S]
    [unknown] = [d for d in ledger(action["action_id"]) if d.alert_status == "unknown"]
    assert unknown.phone == phones[0]

    # When: that unknown call ends (its contact id was never learnt; its reference names it)
    # while the nine others still run, and the chunk put back comes round
    first = next(iter(center.references))  # the first call placed: the unknown one
    del center.running[first]
    system.client.lambda_.invoke("contact_events", contact_event(first, answered=True))
    clock.sleep(LINES_BUSY_DELAY_S)
    system.emulator.time_passes(VOICE_QUEUE)
    [later] = system.emulator.drain(VOICE_QUEUE)
    assert system.invoke("voice_sender", VOICE_QUEUE, [later])["batchItemFailures"] == []

    # Then: its line was freed, and the eleventh person is called on it
    assert [p for _, p in center.starts][-1] == phones[10]
    assert center.max_running == 10


def test_a_call_placed_though_its_start_answer_was_lost_counts_as_sent_when_it_ends(
    system: System, clock: FakeClock, center: FakeCallCenter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: Connect places the call, but the start's answer is lost: the alert is unknown
    add_participant("+31611000001", UTRECHT, channel="voice")
    first_answer_lost(center, monkeypatch)
    action = start_action(system, ["voice"])
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    for message in system.emulator.drain(VOICE_QUEUE):
        system.invoke("voice_sender", VOICE_QUEUE, [message])
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert (counts["sent"], counts["unknown"]) == (0, 1)

    # When: the call ends, and Connect's contact event names it (by the call's reference)
    [contact] = list(center.references)
    system.client.lambda_.invoke("contact_events", contact_event(contact, answered=True))

    # Then: dispatch sees it sent and answered, and the sweep, long after, calls nobody again
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert (counts["sent"], counts["unknown"]) == (1, 0)
    [delivery] = ledger(action["action_id"])
    assert delivery.alert_outcome == "answered"
    clock.sleep(600)  # twice the receipt window, the action still running
    assert system.sweep()["retried"] == 0
    system.emulator.time_passes(VOICE_QUEUE)
    assert system.emulator.drain(VOICE_QUEUE) == []
    assert len(center.starts) == 1


def test_an_unknown_call_with_no_contact_event_is_tried_once_more_with_the_same_client_token(
    system: System, clock: FakeClock, center: FakeCallCenter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: a start whose answer is lost, and no contact event ever comes
    add_participant("+31611000001", UTRECHT, channel="voice")
    first_answer_lost(center, monkeypatch)
    action = start_action(system, ["voice"])
    for message in system.emulator.drain(TARGETING_QUEUE):
        system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    for message in system.emulator.drain(VOICE_QUEUE):
        system.invoke("voice_sender", VOICE_QUEUE, [message])

    # When: the sweep runs past the receipt window, and the call it queues is sent
    clock.sleep(360)
    assert system.sweep()["retried"] == 1
    for message in system.emulator.drain(VOICE_QUEUE):
        system.invoke("voice_sender", VOICE_QUEUE, [message])

    # Then: the retry carried the first start's reference, so Connect's ClientToken is the same
    # and a call already placed is returned, not placed twice; the ledger has it sent
    references = list(center.references.values())
    assert len(references) == 2 and references[0] == references[1]
    counts = system.get(f"/actions/{action['action_id']}").json_body["counts"]
    assert (counts["sent"], counts["unknown"]) == (1, 0)


def first_answer_lost(center: FakeCallCenter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connect places the first call, but the answer to its start is lost (an ambiguous end);
    every later start is answered."""
    place_call = center.call
    placed = 0

    def call(phone: str, text: str, language: Language, reference: str) -> str:
        nonlocal placed
        contact = place_call(phone, text, language, reference)
        placed += 1
        if placed == 1:
            raise SendFailed("RequestTimeout", retryable=False, ambiguous=True)
        return contact

    monkeypatch.setattr(center, "call", call)
