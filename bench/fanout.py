"""Fan-out bench: one action reaching 20,000 people, at the providers' real limits, simulated.

    python -m bench.fanout [--rates 10 100] [--people 20000] [--seed 7] [--jobs N]
                           [--close-at S] [--exact-polls]

Each rate runs in its own process (one per core by default).

It drives the real code: `start_action`, `targeting.target`, `sending.send`, `call_ended`,
`close_action` and `fan_out_results`, with the real adapters (SnsSms, ConnectVoice, SnsPush) and
the real ledger. The ledger runs on moto, in-process (`mock_aws`), not on DynamoDB: its speed says
nothing about DynamoDB's, so every DynamoDB request is charged a fixed simulated latency instead.

What is simulated (bench/simclock.py runs it on a simulated clock, deterministically per seed):
- Providers, as fake boto clients behind the real adapters: SNS SMS at `rate` messages/s (a token
  bucket shared by every sender instance, holding one second of rate); Amazon Connect with 2 call
  starts/s (burst 5, its API's throttling quota) and 10 lines, calls of 20-60 s of which 30 % go
  unanswered, each ending with a contact event that invokes `call_ended`; SNS push at 500/s. On
  every channel 5 % of requests are throttled and 1 % time out after the provider accepted them
  (botocore's ReadTimeoutError: the adapter makes it an ambiguous SendFailed).
- SQS and Lambda: per queue the template's visibility timeout and maxReceiveCount (then the
  dead-letter queue), DelaySeconds, receive counts, batch size 1, and MaximumConcurrency =
  SENDERS[channel] instances, each with its own Sender (its own pacer share). A failed invocation
  leaves its message to come back after the visibility timeout.
- Latencies (simulated): DynamoDB 5 ms a request, SQS SendMessageBatch 10 ms, SNS Publish 20 ms,
  StartOutboundVoiceContact 100 ms, 10 ms from a visible message to its handler, 500 ms from a
  call's end to its contact event. Requests the code makes from its own thread pools (claims,
  place queries) are charged to the process that waits for them, in waves of 8.

Busy time, and so `quota_use`, counts the seconds in which a channel had work it could do or was
backing off from: a message visible or in flight, a put-back message (throttled, lines busy)
waiting out its delay, or (voice) a call in progress. Work delayed on purpose and never started
(an unanswered call's retry after 300 s, quiet hours) does not count.

Voice has two limits: 2 call starts/s and 10 lines. With calls of 20-60 s (40 s on average) the
lines allow only 10 / 40 = 0.25 starts/s, so they bind long before the start rate: `start_use`
is starts / (2 x busy seconds), `line_use` is line-seconds in calls / (10 x busy seconds), and
`quota_use` is the use of the binding limit (`binding`).

Voice senders wait for a free line by polling `lines.acquire` every 0.5 s (ten conditional
writes when every line is taken). A poll while every line is taken changes nothing, so the bench
skips those: a waiting sender resumes at its first poll time after a release at which a line is
still free (read from moto's table), or at its last poll before `line_wait_s` runs out.
`--exact-polls` runs every poll (several times slower); `line_poll_writes` counts the writes
the real polls make, skipped ones included. Skipping can only delay a sender, by at most one
poll, when a line comes free in the 50 ms in which a real poll would be running.

Per channel the output also says where the instances' time went (`instance_s`: DynamoDB, SQS,
provider calls, pacing, waiting for a line, invocation start), how many instance-seconds were
idle while the channel was busy, and the seconds in which only one kind of work kept it busy
(`busy_only_s`: "backoff" is put-back work waiting out its delay, "calls" is calls in progress).
Participant and action ids come from a seeded generator, so a seed gives the same run every time.

Output: one JSON object per channel per SMS rate on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import heapq
import itertools
import json
import logging
import math
import multiprocessing
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from bench import moto_gsi
from bench.simclock import Process, Scheduler
from bench.unmeasured import Unmeasured
from chalicelib import runtime as runtime_module
from chalicelib.adapters.connect import ConnectVoice
from chalicelib.adapters.push import SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import lines as call_lines
from chalicelib.dal.deliveries import CLAIM_THREADS
from chalicelib.dal.devices import HERE, LOCATION_TTL
from chalicelib.dal.models import Delivery, Device, Place
from chalicelib.dal.participants import (
    NewParticipant,
    NewPlace,
    phone_directory,
    upsert_participants,
)
from chalicelib.domain.calls import CallOutcome
from chalicelib.domain.geo import Circle, place_cell, place_sort_key
from chalicelib.domain.model import Channel, Incident, Outcome
from chalicelib.domain.requests import ActionRequest, CloseRequest
from chalicelib.logic import actions, calls, sending, targeting
from chalicelib.logic.work import SendWork
from chalicelib.queues import (
    PUSH_QUEUE,
    SENDERS,
    SMS_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
    WorkQueue,
)
from chalicelib.settings import Settings
from tools.emulator import CHALICE_CONFIG, TEMPLATE, create_resources, stage_environment

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # daytime: no quiet hours in play
LEDGER = "moto in-process (mock_aws), not DynamoDB"
PUSH_APP = f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/burgernet-fcm"
QUEUE_NAMES = {
    Channel.SMS: SMS_QUEUE,
    Channel.VOICE: VOICE_QUEUE,
    Channel.PUSH: PUSH_QUEUE,
}
FUNCTIONS = {
    TARGETING_QUEUE: "targeting_worker",
    SMS_QUEUE: "sms_sender",
    VOICE_QUEUE: "voice_sender",
    PUSH_QUEUE: "push_sender",
}
TARGETING_INSTANCES = 2  # the targeting queue has no MaximumConcurrency; two is plenty for 2 jobs


@dataclass(frozen=True)
class Params:
    """The workload, the providers and the latencies of one run."""

    sms_rate: float = 10.0
    people: int = 20_000
    sms_share: float = 0.70
    voice_share: float = 0.10  # the rest are app installs (push)
    radius_m: float = 3_000.0
    seed: int = 7
    sms_burst_s: float = 1.0  # the SMS provider's bucket holds this many seconds of its rate
    push_rate: float = 500.0
    push_burst_s: float = 1.0
    call_starts_per_s: float = 2.0
    call_start_burst: float = 5.0  # Connect API throttling: rate 2/s, burst 5
    lines: int = 10
    call_s: tuple[float, float] = (20.0, 60.0)
    unanswered: float = 0.30
    throttled: float = 0.05
    ambiguous: float = 0.01
    ledger_ms: float = 5.0
    sqs_ms: float = 10.0
    sms_ms: float = 20.0
    push_ms: float = 20.0
    connect_ms: float = 100.0
    invoke_ms: float = 10.0
    event_ms: float = 500.0
    close_at_s: float | None = None  # default: close once every alert has settled
    exact_polls: bool = False
    max_sim_s: float = 24 * 3600.0


# -- the world: moto with the template's tables, and the people ------------------------------


@contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (None: unset) environment variables for a block, and put the old ones back."""
    old = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def world(params: Params) -> Iterator[Settings]:
    """A fresh emulated account with production's tables, and the settings of this run."""
    env: dict[str, str | None] = {
        **stage_environment("test"),
        "GEOCODER_URL": "http://127.0.0.1:9/unused",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": None,  # in-process moto, whatever the shell says
        "AWS_PROFILE": None,
        "CHANNELS": "sms,voice",
        "VOICE_BACKEND": "local",
        "SMS_PER_SECOND": str(params.sms_rate),
        "PUSH_PER_SECOND": str(params.push_rate),
        "VOICE_STARTS_PER_SECOND": str(params.call_starts_per_s),
        "VOICE_MAX_CONCURRENT": str(params.lines),
    }
    with _environment(env), mock_aws(), ExitStack() as speedups:
        speedups.enter_context(_moto_index())
        speedups.enter_context(moto_gsi.indexed())
        create_resources(boto3.client("cloudformation", region_name=REGION))
        runtime_module.reset()
        try:
            yield runtime_module.runtime().settings
        finally:
            runtime_module.reset()


@contextmanager
def _moto_index() -> Iterator[None]:
    """tools/moto_index.py's partition index for moto's Query, where this checkout has it."""
    try:
        from tools import moto_index
    except ImportError:
        yield
        return
    with moto_index.indexed():
        yield


@dataclass(frozen=True)
class Workload:
    """Who is inside the circle, by channel: participant id -> their address."""

    circle: Circle
    phones: dict[str, str]  # SMS and voice participants
    endpoints: dict[str, str]  # app installs: "device:<id>" -> endpoint ARN
    channel_of: dict[str, Channel]


def populate(params: Params, now: datetime) -> Workload:
    """Store the people: SMS and voice participants as an import does, app installs as devices
    with a current location (the items `devices.set_location` writes)."""
    rng = random.Random(params.seed)
    circle = Circle(CENTRE[0], CENTRE[1], params.radius_m)
    n_sms = round(params.people * params.sms_share)
    n_voice = round(params.people * params.voice_share)
    n_push = params.people - n_sms - n_voice

    def somewhere() -> tuple[float, float]:
        # Uniform in a disc a little inside the circle, so rounding never leaves anyone out.
        r = 0.97 * params.radius_m * math.sqrt(rng.random())
        a = rng.uniform(0.0, 2 * math.pi)
        lat = CENTRE[0] + r * math.cos(a) / 111_195.0
        lon = CENTRE[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(CENTRE[0])))
        return lat, lon

    def language() -> str:
        return "en" if rng.random() < 0.1 else "nl"

    people: list[NewParticipant] = []
    for i in range(n_sms):
        people.append(
            NewParticipant(f"+316{10_000_000 + i}", language(), "sms", [_home(somewhere())])
        )
    for i in range(n_voice):
        # Half landlines (Utrecht, 030), half mobiles that chose to be called.
        phone = f"+3130{1_000_000 + i}" if i % 2 == 0 else f"+316{60_000_000 + i}"
        people.append(NewParticipant(phone, language(), "voice", [_home(somewhere())]))
    for start in range(0, len(people), 1_000):
        upsert_participants(people[start : start + 1_000], now, directory={})
    endpoints: dict[str, str] = {}
    with Device.batch_write() as device_batch, Place.batch_write() as place_batch:
        for _ in range(n_push):
            device_id = f"{rng.getrandbits(128):032x}"
            lat, lon = somewhere()
            owner = f"device:{device_id}"
            arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/GCM/burgernet-fcm/{device_id}"
            lang = language()
            place = Place(
                place_cell(lat, lon),
                place_sort_key(lat, lon, owner, f"{HERE}.{device_id}"),
                participant_id=owner,
                label=HERE,
                lat=lat,
                lon=lon,
                phone="",
                language=lang,
                channel=Channel.PUSH.value,
                device_id=device_id,
                expires=now + LOCATION_TTL,
            )
            device_batch.save(
                Device(
                    device_id,
                    secret_hash="0" * 64,
                    platform="fcm",
                    endpoint_arn=arn,
                    participant_id=None,
                    language=lang,
                    location_cell=place.cell,
                    location_sk=place.sk,
                    created_at=now,
                )
            )
            place_batch.save(place)
            endpoints[owner] = arn
    directory = phone_directory()  # phone -> participant id
    phones = {directory[p.phone]: p.phone for p in people}
    channel_of = {directory[p.phone]: Channel(p.channel) for p in people}
    channel_of.update({owner: Channel.PUSH for owner in endpoints})
    return Workload(circle, phones, endpoints, channel_of)


def _home(position: tuple[float, float]) -> NewPlace:
    return NewPlace("home", position[0], position[1])


# -- SQS and Lambda -----------------------------------------------------------------------------


@dataclass
class Busy:
    """Integrates the seconds in which any of a channel's sources of work is on, and the seconds
    in which only one source is ("backoff": put-back work waiting out its delay; "calls": calls
    ringing or talking with no work queued)."""

    on: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0
    only: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    changed: float = 0.0

    def set(self, source: str, value: bool, now: float) -> None:
        """Switch one source on or off at `now`."""
        lit = [name for name, on in self.on.items() if on]
        if lit:
            self.seconds += now - self.changed
            if len(lit) == 1:
                self.only[lit[0]] += now - self.changed
        self.changed = now
        self.on[source] = value


@dataclass
class Message:
    """One SQS message, as the queue holds it."""

    number: int
    body: str
    backoff: bool  # a put-back (SendWork.attempt > 0): the channel is busy while it waits
    visible_at: float
    receives: int = 0
    receipt: int = 0  # bumped on every receive: an older receipt can no longer delete it
    active: bool = False  # counted as work the channel has (visible, or received)
    gone: bool = False


class SimQueue(WorkQueue):
    """An SQS standard queue: delays, visibility timeout, receive counts and a dead-letter queue.

    The code under test enqueues through WorkQueue's `send`; Lambda instances `take`. It has no
    SQS client: anything else of WorkQueue's would fail loudly.
    """

    def __init__(
        self,
        sim: Simulation,
        name: str,
        busy: Busy | None,
        visibility_s: float,
        max_receives: int,
    ) -> None:
        super().__init__(client=None, name=name)
        self.sim = sim
        self.busy = busy
        self.visibility_s = visibility_s
        self.max_receives = max_receives
        self.messages: dict[int, Message] = {}
        self.dead: list[Message] = []
        self.sent = 0
        self.redelivered = 0
        self._ready: list[tuple[float, int, int]] = []  # (visible_at, number, receipt)
        self._waiting: deque[Process] = deque()
        self._active = 0
        self._backoff = 0
        self._numbers = iter(range(1, 1 << 62))

    def send(self, items: Iterable[dict[str, Any]], delay_s: int = 0) -> int:
        """Enqueue items (SendMessageBatch, ten a request), visible after `delay_s` (<= 900)."""
        sched = self.sim.sched
        delay = max(0, min(900, delay_s))
        batch = [json.dumps(item) for item in items]
        for start in range(0, len(batch), 10):
            self.sim.charge("sqs", self.sim.params.sqs_ms / 1000)
            for body in batch[start : start + 10]:
                attempt = int(json.loads(body).get("attempt", 0))
                message = Message(next(self._numbers), body, attempt > 0, sched.now + delay)
                self.messages[message.number] = message
                self.sent += 1
                if message.backoff:
                    self._backoff += 1
                self._enqueue(message)
        self._update_busy()
        return len(batch)

    def take(self) -> Message:
        """Receive the next visible message for a Lambda instance, waiting for one if needed."""
        sched = self.sim.sched
        process = sched.current()
        assert process is not None
        while True:
            while self._ready and self._ready[0][0] <= sched.now:
                _, number, receipt = heapq.heappop(self._ready)
                message = self.messages.get(number)
                if message is None or message.gone or message.receipt != receipt:
                    continue
                message.receives += 1
                if message.receives > self.max_receives:
                    self._remove(message)
                    self.dead.append(message)  # SQS moves it to the dead-letter queue
                    continue
                if message.receives > 1:
                    self.redelivered += 1
                message.receipt += 1
                message.visible_at = sched.now + self.visibility_s
                self._enqueue(message)  # back after the visibility timeout unless deleted
                self._mark_active(message)
                return message
            self._waiting.append(process)
            self.sim.spend("idle", None)

    def delete(self, message: Message, receipt: int) -> None:
        """DeleteMessage with the receipt of a receive (a stale receipt deletes nothing)."""
        if message.receipt == receipt and not message.gone:
            self._remove(message)

    def _enqueue(self, message: Message) -> None:
        receipt = message.receipt
        heapq.heappush(self._ready, (message.visible_at, message.number, receipt))
        self.sim.sched.call_at(message.visible_at, lambda: self._became_visible(message, receipt))

    def _became_visible(self, message: Message, receipt: int) -> None:
        if message.gone or message.receipt != receipt:
            return
        self._mark_active(message)
        if self._waiting:
            self.sim.sched.wake(self._waiting.popleft())

    def _mark_active(self, message: Message) -> None:
        if not message.active:
            message.active = True
            self._active += 1
            if message.backoff:
                self._backoff -= 1  # its delay is over
            self._update_busy()

    def _remove(self, message: Message) -> None:
        message.gone = True
        self.messages.pop(message.number, None)
        if message.active:
            self._active -= 1
        elif message.backoff:
            self._backoff -= 1
        self._update_busy()

    def _update_busy(self) -> None:
        if self.busy is not None:
            now = self.sim.sched.now
            self.busy.set("queue", self._active > 0, now)
            self.busy.set("backoff", self._backoff > 0, now)


@dataclass
class FunctionStats:
    """How one Lambda function's invocations went."""

    timeout_s: float
    invocations: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    longest_s: float = 0.0
    over_timeout: int = 0

    def record(self, seconds: float) -> None:
        """Note one invocation's duration."""
        self.invocations += 1
        self.longest_s = max(self.longest_s, seconds)
        if seconds > self.timeout_s:
            self.over_timeout += 1


class Instance:
    """One concurrent execution of a sender function, with its own Sender (own pacer share)."""

    def __init__(self, sim: Simulation, channel: Channel) -> None:
        self.sim = sim
        self.channel = channel
        self.first_clock: float | None = None  # send()'s `started`: the invocation's first read
        self.sender = dataclasses.replace(
            sim.sender_template,
            pacers={
                ch: dataclasses.replace(limiter, clock=sim.sched.clock, sleep=self.pace)
                for ch, limiter in runtime_module.pacers(sim.settings).items()
            },
            clock=self.clock,
            sleep=self.line_sleep,
        )

    def clock(self) -> float:
        """The Sender's monotonic clock (simulated)."""
        if self.first_clock is None:
            self.first_clock = self.sim.sched.now
        return self.sim.sched.now

    def pace(self, seconds: float) -> None:
        """The pacers' sleep."""
        self.sim.spend("pacing", seconds)

    def handle(self, item: dict[str, Any]) -> None:
        """The sender function's body for one SQS record (workers._send)."""
        self.first_clock = None
        sending.send(SendWork.from_item(item, self.channel), self.sender, self.sim.moment())

    def line_sleep(self, seconds: float) -> None:
        """The Sender's sleep: only `call_line` sleeps through it, between polls for a line.

        Polls that cannot find a line are skipped (see the module docstring).
        """
        sim = self.sim
        sched = sim.sched
        process = sched.current()
        assert process is not None
        cost = sim.params.lines * sim.params.ledger_ms / 1000  # a poll that finds every line taken
        if (
            sim.params.exact_polls
            or self.first_clock is None
            or sim.last_release >= sched.now - cost - 1e-9  # a line came free during the poll
            or sim._a_line_is_free()
        ):
            sim.spend("line_wait", seconds)
            return
        deadline = self.first_clock + self.sender.line_wait_s
        first = sched.now + seconds
        last = first
        while last + cost + seconds <= deadline:  # call_line's check after each failed poll
            last += cost + seconds
        period = cost + seconds
        sim.line_waiters[process] = (first, period, next(sim.waits))
        try:
            sim.spend("line_wait", None, until=last)
        finally:
            del sim.line_waiters[process]
        sim.skipped_polls += round((sched.now - first) / period)


# -- the providers --------------------------------------------------------------------------------


class Bucket:
    """A provider's token bucket: `rate` a second, holding at most `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.last = 0.0

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _client_error(code: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class Provider:
    """What a provider saw: accepted messages by id, refusals, and deliveries per address."""

    channel: Channel
    accepted: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # id -> address..
    refused: Counter[str] = field(default_factory=Counter)
    received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (address, text) -> n
    ambiguous: int = 0


class MessagingModel:
    """SNS Publish for SMS or push: a rate shared by every caller, faults, and latency."""

    def __init__(
        self, sim: Simulation, channel: Channel, rate: float, burst_s: float, latency_ms: float
    ) -> None:
        self.sim = sim
        self.log = Provider(channel)
        self.bucket = Bucket(rate, rate * burst_s)
        self.latency_s = latency_ms / 1000
        self.rng = random.Random(f"{sim.params.seed}:{channel}")

    def publish(self, **request: Any) -> dict[str, Any]:
        """SNS Publish: PhoneNumber + Message (SMS), or TargetArn + json Message (push)."""
        sim = self.sim
        if "TargetArn" in request:
            address = str(request["TargetArn"])
            text = str(json.loads(request["Message"])["default"])
        else:
            address, text = str(request["PhoneNumber"]), str(request["Message"])
        draw = self.rng.random()
        params = sim.params
        if draw < params.throttled:
            self.log.refused["random"] += 1
            sim.spend("provider", self.latency_s)
            raise _client_error("Throttling", "Publish")
        if not self.bucket.take(sim.sched.now):
            self.log.refused["over_rate"] += 1
            sim.spend("provider", self.latency_s)
            raise _client_error("Throttling", "Publish")
        message_id = f"{self.log.channel}-{len(self.log.accepted) + 1}"
        self.log.accepted[message_id] = (address, text, sim.sched.now)
        self.log.received[address, text] += 1
        sim.spend("provider", self.latency_s)
        if draw < params.throttled + params.ambiguous:
            self.log.ambiguous += 1
            raise ReadTimeoutError(endpoint_url=f"https://sns.{REGION}.amazonaws.com/")
        return {"MessageId": message_id}

    def delete_endpoint(self, **request: Any) -> dict[str, Any]:
        """Never needed: no endpoint is gone in this bench."""
        return {}


@dataclass
class Call:
    """One call Connect placed."""

    contact_id: str
    phone: str
    text: str
    started: float
    seconds: float
    answered: bool
    token: str
    reference: str  # the contact attribute that names the delivery


class ConnectModel:
    """Amazon Connect StartOutboundVoiceContact: 2 starts/s (burst 5), 10 lines, calls that end."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        params = sim.params
        self.log = Provider(Channel.VOICE)
        self.bucket = Bucket(params.call_starts_per_s, params.call_start_burst)
        self.rng = random.Random(f"{params.seed}:voice")
        self.calls_rng = random.Random(f"{params.seed}:calls")
        self.calls: dict[str, Call] = {}
        self.active: dict[str, Call] = {}
        self.by_token: dict[str, str] = {}
        self.line_seconds = 0.0
        self.most_active = 0
        self.answered: Counter[tuple[str, str]] = Counter()
        self.event_failures: Counter[str] = Counter()

    def start_outbound_voice_contact(self, **request: Any) -> dict[str, Any]:
        """Start a call (or return the running one of the same ClientToken)."""
        sim = self.sim
        params = sim.params
        latency = params.connect_ms / 1000
        draw = self.rng.random()
        if draw < params.throttled:
            self.log.refused["random"] += 1
            sim.spend("provider", latency)
            raise _client_error("TooManyRequestsException", "StartOutboundVoiceContact", 429)
        if not self.bucket.take(sim.sched.now):
            self.log.refused["over_rate"] += 1
            sim.spend("provider", latency)
            raise _client_error("TooManyRequestsException", "StartOutboundVoiceContact", 429)
        token = str(request["ClientToken"])
        running = self.by_token.get(token)
        if running is not None and running in self.active:
            sim.spend("provider", latency)
            return {"ContactId": running}
        if len(self.active) >= params.lines:
            self.log.refused["lines_full"] += 1
            sim.spend("provider", latency)
            raise _client_error("LimitExceededException", "StartOutboundVoiceContact", 429)
        call = Call(
            contact_id=f"contact-{len(self.calls) + 1}",
            phone=str(request["DestinationPhoneNumber"]),
            text=str(request["Attributes"]["message"]),
            started=sim.sched.now,
            seconds=self.calls_rng.uniform(*params.call_s),
            answered=self.calls_rng.random() >= params.unanswered,
            token=token,
            reference=str(request["Attributes"]["reference"]),
        )
        self.calls[call.contact_id] = call
        self.active[call.contact_id] = call
        self.by_token[token] = call.contact_id
        self.most_active = max(self.most_active, len(self.active))
        self.log.accepted[call.contact_id] = (call.phone, call.text, call.started)
        self.log.received[call.phone, call.text] += 1
        sim.busy[Channel.VOICE].set("calls", True, sim.sched.now)
        sim.sched.call_at(call.started + call.seconds, lambda: self._ended(call))
        sim.spend("provider", latency)
        if draw < params.throttled + params.ambiguous:
            self.log.ambiguous += 1
            raise ReadTimeoutError(endpoint_url=f"https://connect.{REGION}.amazonaws.com/")
        return {"ContactId": call.contact_id}

    def get_contact_attributes(self, **request: Any) -> dict[str, Any]:
        """GetContactAttributes: what a call was started with."""
        self.sim.spend("provider", self.sim.params.connect_ms / 1000)
        call = self.calls.get(str(request["InitialContactId"]))
        if call is None:
            raise _client_error("ResourceNotFoundException", "GetContactAttributes", 404)
        return {"Attributes": {"reference": call.reference}}

    def _ended(self, call: Call) -> None:
        sim = self.sim
        del self.active[call.contact_id]
        self.line_seconds += call.seconds
        if call.answered:
            self.answered[call.phone, call.text] += 1
        sim.busy[Channel.VOICE].set("calls", bool(self.active), sim.sched.now)
        outcome = CallOutcome.ANSWERED if call.answered else CallOutcome.NO_ANSWER

        def contact_event() -> None:
            sim.spend("invoke", sim.params.invoke_ms / 1000)
            try:
                calls.call_ended(call.contact_id, outcome, sim.queues, sim.sender_template.voice)
            except Exception as exc:  # EventBridge would retry; here it is counted
                self.event_failures[type(exc).__name__] += 1

        sim.spawn(
            "contact_events",
            f"contact_events:{call.contact_id}",
            contact_event,
            at=sim.sched.now + sim.params.event_ms / 1000,
        )


# -- the run --------------------------------------------------------------------------------------


class EventCounter(logging.Handler):
    """Counts the code's structured log events by name, put-backs by reason, and the most times
    one chunk was put back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = json.loads(record.getMessage())
        except ValueError:
            return
        name = str(event.get("event"))
        self.events[name] += 1
        if name == "send_put_back":
            channel = event.get("channel")
            self.events[f"put_back:{channel}:{event.get('reason')}"] += 1
            most = f"most_put_backs:{channel}"
            self.events[most] = max(self.events[most], int(event.get("attempt") or 0))


class Simulation:
    """One run: the queues, the instances, the providers, and the action from start to results."""

    def __init__(self, params: Params, settings: Settings, workload: Workload) -> None:
        self.params = params
        self.settings = settings
        self.workload = workload
        self.sched = Scheduler()
        self.busy = {channel: Busy() for channel in Channel}
        template = json.loads(TEMPLATE.read_text())["Resources"]
        config = json.loads(CHALICE_CONFIG.read_text())["stages"]["prod"]["lambda_functions"]
        queue_specs = {
            spec["Properties"]["QueueName"]: spec["Properties"]
            for spec in template.values()
            if spec.get("Type") == "AWS::SQS::Queue"
        }

        def queue(name: str, busy: Busy | None) -> SimQueue:
            spec = queue_specs[name]
            return SimQueue(
                self,
                name,
                busy,
                float(spec.get("VisibilityTimeout", 30)),
                int(spec["RedrivePolicy"]["maxReceiveCount"]),
            )

        self.targeting = queue(TARGETING_QUEUE, None)
        self.queues: dict[Channel, SimQueue] = {
            channel: queue(name, self.busy[channel]) for channel, name in QUEUE_NAMES.items()
        }
        self.functions = {
            name: FunctionStats(float(config.get(function, {}).get("lambda_timeout", 60)))
            for name, function in FUNCTIONS.items()
        }
        self.sms = MessagingModel(
            self, Channel.SMS, params.sms_rate, params.sms_burst_s, params.sms_ms
        )
        self.push = MessagingModel(
            self, Channel.PUSH, params.push_rate, params.push_burst_s, params.push_ms
        )
        self.connect = ConnectModel(self)
        self.sender_template = sending.Sender(
            sms=SnsSms(self.sms, settings.sms_sender_id),
            callback_number=settings.callback_number,
            queues=self.queues,
            pacers={},
            metrics=Unmeasured(),
            voice=ConnectVoice(self.connect, "bench-instance", "bench-flow", "+31302000000"),
            voice_lines=settings.voice_max_concurrent,
            push=SnsPush(self.push, {"fcm": PUSH_APP}, publisher=self.push),
        )
        self.line_waiters: dict[Process, tuple[float, float, int]] = {}
        self.waits = itertools.count()
        self.last_release = -math.inf
        self.skipped_polls = 0
        self.roles: dict[Process, str] = {}
        self.phases: dict[str, float] = {}
        self.activity: defaultdict[str, defaultdict[str, float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self.requests: Counter[str] = Counter()
        self._helpers = threading.Lock()  # helper threads count their requests concurrently
        self.action_id = ""
        self.closed_at: float | None = None

    # -- time and latency ----------------------------------------------------------------------

    def moment(self) -> datetime:
        """The simulated wall-clock time."""
        return START + timedelta(seconds=self.sched.now)

    def spend(self, activity: str, seconds: float | None, until: float | None = None) -> None:
        """The running process sleeps `seconds` (None: waits to be woken, or until `until`),
        and the time goes to `activity` in its role's account."""
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        started = self.sched.now
        if seconds is None:
            self.sched.wait(until=until)
        else:
            self.sched.sleep(seconds)
        self.activity[self.roles.get(process, "other")][activity] += self.sched.now - started

    def charge(self, activity: str, seconds: float) -> None:
        """A request of the running process takes `seconds`, after what its helpers' requests
        (made while it waited for them) took, in waves of CLAIM_THREADS."""
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        waves = math.ceil(process.debt_calls / CLAIM_THREADS)
        process.debt_calls = 0
        self.spend(activity, seconds + waves * self.params.ledger_ms / 1000)

    def spawn(
        self, role: str, name: str, body: Callable[[], None], at: float | None = None
    ) -> Process:
        """A process whose time is accounted to `role`."""
        process = self.sched.spawn(name, body, at)
        self.roles[process] = role
        return process

    def _before_dynamodb(self, sender: Any, operation_name: str, table_name: str, **_: Any) -> None:
        with self._helpers:
            self.requests[f"{operation_name}:{table_name}"] += 1
            if self.sched.current() is None:
                running = self.sched.running
                if running is not None:
                    running.debt_calls += 1  # a helper thread of the running process
                return
        self.charge("dynamodb", self.params.ledger_ms / 1000)

    def _after_dynamodb(self, sender: Any, operation_name: str, table_name: str, **_: Any) -> None:
        if operation_name == "DeleteItem" and table_name == self.settings.ratelimits_table:
            self._line_released()

    def _line_released(self) -> None:
        """A call line came free: each waiting voice sender polls at its next poll time if a
        line is still free then."""
        now = self.sched.now
        self.last_release = now
        for process, (first, period, wait) in self.line_waiters.items():
            polls = max(0, math.ceil((now - first) / period - 1e-9))
            at = first + polls * period
            self.sched.call_at(at, functools.partial(self._poll_due, process, at, wait))

    def _poll_due(self, process: Process, at: float, wait: int) -> None:
        waiting = self.line_waiters.get(process)
        if waiting is not None and waiting[2] == wait and self._a_line_is_free():
            self.sched.wake(process, at)

    def _a_line_is_free(self) -> bool:
        """Whether `lines.acquire` would find a line now (read from moto's table directly)."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = dynamodb_backends[ACCOUNT][REGION].get_table(self.settings.ratelimits_table)
        now = int(self.moment().timestamp())
        for n in range(self.settings.voice_max_concurrent):
            lease: Any = table.items.get(DynamoType({"S": call_lines._line(n)}))
            expires = lease.attrs.get("expires") if lease is not None else None
            if expires is None or int(expires.value) < now:
                return True
        return False

    # -- processes -----------------------------------------------------------------------------

    def _lambda(
        self, queue: SimQueue, handle: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        stats = self.functions[queue.name]

        def run() -> None:
            while True:
                message = queue.take()
                receipt = message.receipt
                self.spend("invoke", self.params.invoke_ms / 1000)
                started = self.sched.now
                try:
                    handle(json.loads(message.body))
                except Exception as exc:  # workers._each reports it; SQS redelivers later
                    stats.failed[type(exc).__name__] += 1
                    stats.record(self.sched.now - started)
                    continue
                stats.record(self.sched.now - started)
                queue.delete(message, receipt)

        return run

    def _targeting(self, item: dict[str, Any]) -> None:
        """The targeting worker's body (workers.targeting_worker)."""
        started = self.sched.now
        if item["kind"] == "target":
            targeting.target(item["action_id"], self.queues, self.moment(), Unmeasured())
        else:
            targeting.fan_out_results(item["action_id"], self.queues, self.moment(), Unmeasured())
        self.phases[f"{item['kind']}_s"] = round(self.sched.now - started, 1)

    def _start(self) -> None:
        request = ActionRequest(
            Incident.BURGLARY,
            "man in rode jas op een zwarte fiets",
            self.workload.circle,
            480,
            (Channel.SMS, Channel.VOICE),
        )
        action = actions.start_action(request, "bench", None, self.targeting, self.moment())
        self.action_id = str(action.action_id)

    def _close(self) -> None:
        self.closed_at = self.sched.now
        self.phases["closed_at_s"] = round(self.sched.now, 1)
        actions.close_action(
            self.action_id,
            CloseRequest(Outcome.FOUND, None),
            "bench",
            self.targeting,
            self.moment(),
        )

    def run(self) -> list[dict[str, Any]]:
        """Start the action, send its alerts, close it, send its results; then measure."""
        from pynamodb.signals import post_dynamodb_send, pre_dynamodb_send

        counter = EventCounter()
        events = logging.getLogger("burgernet.events")
        events.addHandler(counter)
        events.propagate = False
        pre_dynamodb_send.connect(self._before_dynamodb)
        post_dynamodb_send.connect(self._after_dynamodb)
        try:
            sched = self.sched
            for _ in range(TARGETING_INSTANCES):
                self.spawn(
                    "targeting", "targeting_worker", self._lambda(self.targeting, self._targeting)
                )
            for channel, queue in self.queues.items():
                for n in range(SENDERS[channel]):
                    instance = Instance(self, channel)
                    self.spawn(
                        channel.value, f"{queue.name}#{n}", self._lambda(queue, instance.handle)
                    )
            self.spawn("api", "api:start_action", self._start)
            if self.params.close_at_s is not None:
                self.spawn("api", "api:close_action", self._close, at=self.params.close_at_s)
            sched.run(until=self.params.max_sim_s)
            if self.closed_at is None and sched.idle():
                self.spawn("api", "api:close_action", self._close, at=sched.now + 1)
                sched.run(until=self.params.max_sim_s)
            finished = sched.idle()
            sim_s = sched.now
            sched.shutdown()
        finally:
            pre_dynamodb_send.disconnect(self._before_dynamodb)
            post_dynamodb_send.disconnect(self._after_dynamodb)
            events.removeHandler(counter)
            events.propagate = True
        return self.report(finished, sim_s, counter.events)

    # -- measuring -----------------------------------------------------------------------------

    def report(self, finished: bool, sim_s: float, events: Counter[str]) -> list[dict[str, Any]]:
        """One JSON object per channel, from the ledger and what the providers saw."""
        deliveries = list(ledger.ledger(self.action_id))
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for d in deliveries:
            by_channel[str(d.channel)].append(d)
        models: dict[Channel, Provider] = {
            Channel.SMS: self.sms.log,
            Channel.VOICE: self.connect.log,
            Channel.PUSH: self.push.log,
        }
        rates = {
            Channel.SMS: self.params.sms_rate,
            Channel.VOICE: self.params.call_starts_per_s,
            Channel.PUSH: self.params.push_rate,
        }
        lines: list[dict[str, Any]] = []
        for channel in (Channel.SMS, Channel.VOICE, Channel.PUSH):
            mine = by_channel.get(channel.value, [])
            provider = models[channel]
            queue = self.queues[channel]
            busy = self.busy[channel]
            alert_done = [
                d.alert_at for d in mine if d.alert_status in ("sent", "unknown") and d.alert_at
            ]
            alerts = Counter(str(d.alert_status) for d in mine)
            results = Counter(str(d.result_status) for d in mine)
            lost_alerts = alerts["queued"] + alerts["sending"]
            lost_results = sum(
                1
                for d in mine
                if d.alert_status == "sent" and d.result_status in (None, "queued", "sending")
            )
            # A delivery the ledger calls sent must be one the provider accepted.
            unseen = sum(
                1
                for d in mine
                for status, message_id in (
                    (d.alert_status, d.alert_message_id),
                    (d.result_status, d.result_message_id),
                )
                if status == "sent" and str(message_id) not in provider.accepted
            )
            if channel is Channel.VOICE:
                twice = {address for (address, _), n in self.connect.answered.items() if n > 1}
            else:
                twice = {address for (address, _), n in provider.received.items() if n > 1}
            made = len(provider.accepted)
            work = {k: v for k, v in self.activity[channel.value].items() if k != "idle"}
            line: dict[str, Any] = {
                "bench": "fanout",
                "channel": channel.value,
                "rate": rates[channel],
                "sms_rate": self.params.sms_rate,
                "recipients": len(mine),
                "quota_use": _ratio(made, rates[channel] * busy.seconds),
                "time_to_last_alert_s": round((max(alert_done) - START).total_seconds(), 1)
                if alert_done
                else None,
                "lost": lost_alerts + lost_results + unseen,
                "duplicated": len(twice),
                "dead_lettered": len(queue.dead),
                "unknown": alerts["unknown"] + results["unknown"],
                "throttled": sum(provider.refused.values()),
                "results_sent": results["sent"],
                "sent": alerts["sent"],
                "failed": alerts["failed"] + results["failed"],
                "cancelled": alerts["cancelled"],
                "busy_s": round(busy.seconds, 1),
                "made": made,
                "refused": dict(provider.refused),
                "put_backs": {
                    key.split(":", 2)[2]: n
                    for key, n in sorted(events.items())
                    if key.startswith(f"put_back:{channel.value}:")
                },
                "most_put_backs": events[f"most_put_backs:{channel.value}"],
                "redelivered": queue.redelivered,
                "invocations": self.functions[queue.name].invocations,
                "failed_invocations": dict(self.functions[queue.name].failed),
                "longest_invocation_s": round(self.functions[queue.name].longest_s, 1),
                "over_lambda_timeout": self.functions[queue.name].over_timeout,
                "lost_detail": {
                    "alerts": lost_alerts,
                    "results": lost_results,
                    "sent_not_received": unseen,
                },
                "instances": SENDERS[channel],
                "instance_s": {k: round(v, 1) for k, v in sorted(work.items())},
                "idle_while_busy_s": round(SENDERS[channel] * busy.seconds - sum(work.values()), 1),
                "busy_only_s": {k: round(v, 1) for k, v in sorted(busy.only.items())},
                **self.phases,
                "ledger": LEDGER,
                "targeting_activity_s": {
                    k: round(v, 1)
                    for k, v in sorted(self.activity["targeting"].items())
                    if k != "idle"
                },
                "sim_s": round(sim_s, 1),
                "finished": finished,
            }
            if channel is Channel.VOICE:
                start_use = _ratio(made, self.params.call_starts_per_s * busy.seconds)
                line_use = _ratio(self.connect.line_seconds, self.params.lines * busy.seconds)
                mean_call = sum(self.params.call_s) / 2
                lines_bind = self.params.lines / mean_call < self.params.call_starts_per_s
                line.update(
                    quota_use=line_use if lines_bind else start_use,
                    binding="lines" if lines_bind else "starts",
                    start_use=start_use,
                    line_use=line_use,
                    most_concurrent_calls=self.connect.most_active,
                    answered=sum(1 for d in mine if d.alert_outcome == CallOutcome.ANSWERED),
                    line_poll_writes=(
                        self.requests[f"PutItem:{self.settings.ratelimits_table}"]
                        + self.skipped_polls * self.params.lines
                    ),
                    contact_event_failures=dict(self.connect.event_failures),
                )
            lines.append(line)
        return lines


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


@contextmanager
def _seeded_ids(seed: int) -> Iterator[None]:
    """uuid4() from a seeded generator, so participant and action ids (and with them the ledger's
    order) are the same in every run of a seed."""
    rng = random.Random(f"{seed}:ids")

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    with mock.patch.object(uuid, "uuid4", uuid4):
        yield


def run(params: Params) -> list[dict[str, Any]]:
    """Build a fresh world, run the action through it, return one JSON object per channel."""
    with _seeded_ids(params.seed), world(params) as settings:
        started = time.perf_counter()
        workload = populate(params, START)
        print(
            f"[sms {params.sms_rate:g}/s] stored {params.people:,} people in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()  # the stored world is long-lived: keep the collector from walking it
        try:
            started = time.perf_counter()
            lines = Simulation(params, settings, workload).run()
        finally:
            gc.unfreeze()
        print(
            f"[sms {params.sms_rate:g}/s] simulated {lines[0]['sim_s']:,.0f} s in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        return lines


def main(argv: list[str] | None = None) -> None:
    """Run the bench for each SMS rate (in parallel processes) and print its JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[10.0, 100.0])
    parser.add_argument("--people", type=int, default=Params.people)
    parser.add_argument("--seed", type=int, default=Params.seed)
    parser.add_argument("--close-at", type=float, default=None, help="close after S seconds")
    parser.add_argument("--exact-polls", action="store_true", help="run every line poll")
    parser.add_argument(
        "--jobs", type=int, default=None, help="rates run at once (default: one per core)"
    )
    args = parser.parse_args(argv)
    runs = [
        Params(
            sms_rate=rate,
            people=args.people,
            seed=args.seed,
            close_at_s=args.close_at,
            exact_polls=args.exact_polls,
        )
        for rate in args.rates
    ]
    jobs = args.jobs or min(len(runs), os.cpu_count() or 1)
    started = time.perf_counter()
    if jobs > 1:
        # Each run is one process's work (the simulation takes turns on one thread at a time).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(run, runs))
    else:
        results = [run(params) for params in runs]
    for lines in results:
        for line in lines:
            print(json.dumps(line), flush=True)
    print(f"wall time {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
