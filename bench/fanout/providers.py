"""The providers, simulated as fake boto clients: SNS (SMS, push) and Amazon Connect, with their
rates, faults and latencies."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError

from bench.fanout.world import REGION
from chalicelib.domain.model import CallOutcome, Channel, Kind
from chalicelib.logic import calls

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation


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
    ambiguous_delivered: int = 0  # of the ambiguous ends, those where the message went out
    # What actually went out, per (action id, kind, participant id): sent on, or call placed.
    delivered: Counter[tuple[str, Kind, str]] = field(default_factory=Counter)
    # What the person sees: a push with a collapse id already delivered to them replaces the
    # notification it shares the id with (APNs' collapse id, FCM's tag), so it adds none.
    shown: Counter[tuple[str, Kind, str]] = field(default_factory=Counter)
    collapse_ids: dict[tuple[str, Kind, str], set[str]] = field(default_factory=dict)
    first_at: dict[str, float] = field(default_factory=dict)  # action id -> first alert out
    last_at: dict[str, float] = field(default_factory=dict)  # action id -> last alert out

    def went_out(
        self, send: tuple[str, Kind, str] | None, now: float, collapse_id: str | None = None
    ) -> None:
        """Note who a message that went out reached, and whether it shows as a new one."""
        if send is not None:
            self.delivered[send] += 1
            seen = self.collapse_ids.setdefault(send, set())
            if collapse_id is None or collapse_id not in seen:
                self.shown[send] += 1
            if collapse_id is not None:
                seen.add(collapse_id)
            if send[1] is Kind.ALERT:
                self.first_at.setdefault(send[0], now)
                self.last_at[send[0]] = now


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
        collapse_id = None
        if "TargetArn" in request:
            address = str(request["TargetArn"])
            message = json.loads(request["Message"])
            text = str(message["default"])
            # The bench's endpoints are Android's (FCM): the notification tag is what makes a
            # second push replace the first in the drawer.
            fcm = json.loads(message["GCM"]).get("fcmV1Message", {}).get("message", {})
            collapse_id = fcm.get("android", {}).get("notification", {}).get("tag")
        else:
            address, text = str(request["PhoneNumber"]), str(request["Message"])
        draw = self.rng.random()
        faults = sim.params.faults
        if draw < faults.throttled:
            self.log.refused["random"] += 1
            sim.spend("provider", self.latency_s)
            raise _client_error("Throttling", "Publish")
        if not self.bucket.take(sim.sched.now):
            self.log.refused["over_rate"] += 1
            sim.spend("provider", self.latency_s)
            raise _client_error("Throttling", "Publish")
        ambiguous = draw < faults.throttled + faults.ambiguous
        if ambiguous:
            self.log.ambiguous += 1
            if not sim.faults.happens("ambiguous_delivered", faults.ambiguous_delivered):
                # The request never reached SNS (or died inside it): nothing went out.
                sim.spend("provider", self.latency_s)
                raise ReadTimeoutError(endpoint_url=f"https://sns.{REGION}.amazonaws.com/")
            self.log.ambiguous_delivered += 1
        message_id = f"{self.log.channel}-{len(self.log.accepted) + 1}"
        self.log.accepted[message_id] = (address, text, sim.sched.now)
        self.log.received[address, text] += 1
        self.log.went_out(sim.current_send(), sim.sched.now, collapse_id)
        if self.log.channel is Channel.SMS:
            sim.receipts.accepted(message_id, address, sim.current_send())
        sim.spend("provider", self.latency_s)
        if ambiguous:
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
        faults = params.faults
        if draw < faults.throttled:
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
        ambiguous = draw < faults.throttled + faults.ambiguous
        if ambiguous:
            self.log.ambiguous += 1
            if not sim.faults.happens("ambiguous_delivered", faults.ambiguous_delivered):
                sim.spend("provider", latency)  # no call was placed
                raise ReadTimeoutError(endpoint_url=f"https://connect.{REGION}.amazonaws.com/")
            self.log.ambiguous_delivered += 1
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
        self.log.went_out(sim.current_send(), sim.sched.now)
        sim.busy[Channel.VOICE].set("calls", True, sim.sched.now)
        sim.sched.call_at(call.started + call.seconds, lambda: self._ended(call))
        sim.spend("provider", latency)
        if ambiguous:
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
