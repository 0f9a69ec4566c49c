"""Sending one chunk of alerts or results, one delivery at a time, within each provider's limits.

At most once: a send that is not idempotent is tried once (no client retries). Only a refusal that
says nothing went out (throttling, an unreachable endpoint) is tried again, and only through the
ledger, which puts that delivery back to queued. An ambiguous send is recorded as `unknown`.
Work that must wait (throttled, every call line busy, a result waiting for its alert, quiet hours)
goes back on its queue as a new, delayed message, so waiting never uses up SQS receives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone
from chalicelib.dal import actions as store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import devices, lines
from chalicelib.dal.deliveries import Kind, Settled
from chalicelib.dal.models import Action, Delivery
from chalicelib.domain import calls, messages
from chalicelib.domain.messages import speakable
from chalicelib.domain.model import Channel, Incident, Language, Outcome
from chalicelib.domain.pacing import RateLimiter
from chalicelib.logic.work import SendWork, enqueue_by_channel
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue
from chalicelib.tracing import count, traced

# An alert `sending` for longer than the sender Lambda's timeout was cut off mid-publish: whether
# it reached the phone is unknown, so its result is skipped rather than waited for forever.
ALERT_IN_FLIGHT = timedelta(minutes=6)
# How long a voice sender waits in-process for a free line before putting the rest back: a
# Lambda waiting costs little, and it takes a line within a poll of the call that frees it.
LINE_WAIT_S = 180.0
LINE_POLL_S = 0.5
# A throttled send is tried again at once, this many times in a row, before the rest of its chunk
# goes back on the queue: a refusal now and then is the provider's noise, not a reason to wait.
THROTTLED_RETRIES = 1
# When put-back work comes round again, by why it waits.
# Throttling with every instance paced to its share is momentary; a longer back-off only leaves
# the queue empty at the end of a run (the fan-out bench showed 60 s tails at 5 % throttling).
THROTTLED_DELAYS_S = (1, 2, 3, 5)  # by attempt: a little back-off, then steady
LINES_BUSY_DELAY_S = 5
ALERT_WAIT_DELAY_S = 60
# An alert call nobody answered is tried once more, a few minutes later.
RETRY_UNANSWERED_S = 300


class Voice(Protocol):
    """Places a call that reads a text out (Amazon Connect, or the local stand-in)."""

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        """Start the call; return its contact id or raise SendFailed."""
        ...


class Sms(Protocol):
    """Sends one SMS (SNS Publish)."""

    def send(self, phone: str, text: str) -> str:
        """Send it; return the provider's message id or raise SendFailed."""
        ...


class Push(Protocol):
    """Publishes app notifications to SNS platform endpoints."""

    def send(self, endpoint_arn: str, title: str, body: str, action_id: str) -> str:
        """Publish one; return its message id, or raise EndpointGone / SendFailed."""
        ...

    def delete(self, endpoint_arn: str) -> None:
        """Remove an endpoint that is gone for good."""
        ...


@dataclass(frozen=True)
class Sender:
    """What sending needs: the channels, this instance's pacing of each, and their queues."""

    sms: Sms
    callback_number: str
    queues: Mapping[Channel, WorkQueue]  # where each channel's work (put back, late results) goes
    pacers: Mapping[Channel, RateLimiter]  # this instance's share of each channel's rate
    voice: Voice | None = None
    voice_lines: int = 10  # calls in flight at most (Connect's default is 10 per instance)
    push: Push | None = None
    line_wait_s: float = LINE_WAIT_S
    clock: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)


class Step(Enum):
    """What became of one delivery of a chunk."""

    SENT = "sent"
    SETTLED = "settled"  # nothing (more) to send: done earlier, cancelled, skipped or failed
    THROTTLED = "throttled"  # the provider refused for now: the rest of the chunk waits
    LINES_BUSY = "lines_busy"  # no call line came free in time: the rest of the chunk waits
    WAIT_ALERT = "wait_alert"  # a result whose alert is still being sent


class LinesBusy(Exception):
    """Every call line stayed in use for as long as this sender may wait."""


@dataclass
class Lease:
    """A call line held by this sender; `taken` once a placed call holds it until it ends."""

    number: int
    taken: bool = False


def send(work: SendWork, sender: Sender, now: datetime) -> int:
    """Send one chunk of alerts or results on its channel; return how many went out.

    Whatever cannot go out yet is put back on the channel's queue as a new, delayed message.
    """
    action = store.get_action(work.action_id)
    if work.not_before is not None and now < work.not_before and action.status == "active":
        wait = (work.not_before - now).total_seconds()
        sender.queues[work.channel].send([work.to_item()], delay_s=int(wait) + 1)
        return 0
    started = sender.clock()

    def moment() -> datetime:
        return now + timedelta(seconds=sender.clock() - started)

    deadline = started + sender.line_wait_s
    texts: dict[tuple[Kind, Language], str] = {}
    alerted: list[Delivery] = []
    later: list[str] = []
    waits: set[Step] = set()
    sent = 0
    try:
        with traced(
            "send",
            action_id=work.action_id,
            ref=action.ref,
            incident=action.incident,
            kind=work.kind.value,
            channel=work.channel.value,
        ):
            count(size=len(work.participant_ids))
            deliveries = ledger.load(work.action_id, work.participant_ids)
            refused = 0  # refusals in a row
            i = 0
            while i < len(deliveries):
                delivery = deliveries[i]
                step = _deliver(delivery, work.kind, action, texts, sender, moment, deadline)
                if step is Step.THROTTLED and refused < THROTTLED_RETRIES:
                    refused += 1
                    continue  # the same delivery again, now: the ledger has it queued again
                refused = 0
                i += 1
                if step is Step.SENT:
                    sent += 1
                    if work.kind is Kind.ALERT:
                        alerted.append(delivery)
                elif step is Step.WAIT_ALERT:
                    later.append(delivery.participant_id)
                    waits.add(step)
                elif step in (Step.THROTTLED, Step.LINES_BUSY):
                    later.extend(d.participant_id for d in deliveries[i - 1 :])
                    waits.add(step)
                    break
            count(sent=sent, put_back=len(later))
    finally:
        if alerted:
            _results_for_late_alerts(work.action_id, alerted, sender.queues)
    if later:
        _put_back(work, later, waits, sender.queues)
    return sent


def _deliver(
    delivery: Delivery,
    kind: Kind,
    action: Action,
    texts: dict[tuple[Kind, Language], str],
    sender: Sender,
    moment: Callable[[], datetime],
    deadline: float,
) -> Step:
    """Send one message of a chunk, as the ledger allows, and record how it ended."""
    if kind is Kind.RESULT and delivery.alert_status == "sending":
        if not cut_off(delivery, moment()):
            return Step.WAIT_ALERT  # first know whether they were alerted
        # Its worker died mid-publish: the alert is unknown, and not knowably alerted, no result
        ledger.settle_cut_off_alert(delivery, moment())
        ledger.skip_result(delivery)
        return Step.SETTLED
    channel = Channel(delivery.channel)
    line: AbstractContextManager[Lease | None] = (
        call_line(sender, moment, deadline) if channel == Channel.VOICE else nullcontext()
    )
    try:
        with line as lease:
            # Pace before taking a delivery, so a worker stopped while waiting leaves it queued.
            pacer = sender.pacers[channel]
            pacer.wait()
            if not _start(delivery, kind, action, moment()):
                return Step.SETTLED
            language = Language(delivery.language)
            if (kind, language) not in texts:
                texts[kind, language] = _render(kind, action, language, sender.callback_number)
            text = texts[kind, language]
            step = _transmit_and_record(delivery, kind, text, action, sender, moment, lease)
            if step is Step.THROTTLED:
                pacer.refund()  # a refused send used none of the provider's rate
            return step
    except LinesBusy:
        return Step.LINES_BUSY


def _transmit_and_record(
    delivery: Delivery,
    kind: Kind,
    text: str,
    action: Action,
    sender: Sender,
    moment: Callable[[], datetime],
    lease: Lease | None,
) -> Step:
    try:
        message_id = _transmit(delivery, text, action.ref, kind, sender)
    except SendFailed as exc:
        if exc.retryable:
            ledger.release(delivery, kind)  # nothing went out: queued again, for later
            log_event("send_throttled", action_id=action.action_id, kind=kind.value, code=exc.code)
            return Step.THROTTLED
        outcome = Settled.UNKNOWN if exc.ambiguous else Settled.FAILED
        if exc.ambiguous and lease is not None:
            lease.taken = True  # the call may be running: its line stays taken until the lease ends
        ledger.finish_sending(delivery, kind, outcome, moment())
        if isinstance(exc, EndpointGone):
            _forget_device(delivery, sender)
        log_event(
            "send_failed",
            action_id=action.action_id,
            kind=kind.value,
            code=exc.code,
            outcome=outcome.value,
            participant_id=delivery.participant_id,
        )
        return Step.SETTLED
    except Exception as exc:
        # Unforeseen: it may have gone out, so it is unknown and never resent. Made visible, and
        # the message goes back to SQS for the rest of the chunk.
        ledger.finish_sending(delivery, kind, Settled.UNKNOWN, moment())
        log_event(
            "send_crashed",
            logging.ERROR,
            action_id=action.action_id,
            kind=kind.value,
            error=type(exc).__name__,
            participant_id=delivery.participant_id,
        )
        raise
    if lease is not None:
        ledger.finish_call(delivery, kind, message_id, lease.number, moment())
        lease.taken = True  # the call holds its line until Connect says it ended
    else:
        ledger.finish_sending(delivery, kind, Settled.SENT, moment(), message_id)
    return Step.SENT


@contextmanager
def call_line(sender: Sender, moment: Callable[[], datetime], deadline: float) -> Iterator[Lease]:
    """A free call line, waited for until `deadline` (LinesBusy after that).

    Given back on leaving, whatever happened, unless a placed call took it.
    """
    number = lines.acquire(sender.voice_lines, moment())
    while number is None:
        if sender.clock() + LINE_POLL_S > deadline:
            raise LinesBusy
        sender.sleep(LINE_POLL_S)
        number = lines.acquire(sender.voice_lines, moment())
    lease = Lease(number)
    try:
        yield lease
    finally:
        if not lease.taken:
            lines.release(number)


def _put_back(
    work: SendWork, later: Sequence[str], waits: set[Step], queues: Mapping[Channel, WorkQueue]
) -> None:
    """Queue what has to wait as a new message, delayed by what it waits for."""
    delays = {
        Step.THROTTLED: THROTTLED_DELAYS_S[min(work.attempt, len(THROTTLED_DELAYS_S) - 1)],
        Step.LINES_BUSY: LINES_BUSY_DELAY_S,
        Step.WAIT_ALERT: ALERT_WAIT_DELAY_S,
    }
    delay = max(delays[step] for step in waits)
    queues[work.channel].send([work.later(later).to_item()], delay_s=delay)
    log_event(
        "send_put_back",
        action_id=work.action_id,
        kind=work.kind.value,
        channel=work.channel.value,
        waiting=len(later),
        reason=",".join(sorted(step.value for step in waits)),
        attempt=work.attempt + 1,
        delay_s=delay,
    )


def _transmit(delivery: Delivery, text: str, ref: str, kind: Kind, sender: Sender) -> str:
    """Send the text by SMS or push, or read it out in a call; return the provider's id."""
    if delivery.channel == Channel.PUSH:
        if sender.push is None or not delivery.endpoint_arn:
            raise SendFailed("PushNotConfigured", retryable=False)
        return sender.push.send(
            str(delivery.endpoint_arn), f"Burgernet {ref}", text, str(delivery.action_id)
        )
    if delivery.channel != Channel.VOICE:
        return sender.sms.send(_phone(delivery), text)
    if sender.voice is None:
        raise SendFailed("VoiceNotConfigured", retryable=False)
    language = Language(delivery.language)
    attempt = int(delivery.voice_attempts or 0) + 1
    # The reference makes Connect's ClientToken: a retried start never places a second call.
    reference = f"{delivery.action_id}:{delivery.participant_id}:{kind.value}:{attempt}"
    return sender.voice.call(_phone(delivery), speakable(text, ref, language), language, reference)


def _phone(delivery: Delivery) -> str:
    """The number to send to; an erased person's delivery has none and is never sent."""
    if not delivery.phone:
        raise SendFailed("Erased", retryable=False)
    return str(delivery.phone)


def _forget_device(delivery: Delivery, sender: Sender) -> None:
    """A push endpoint is gone for good: drop it from the device (and at SNS), never retry it."""
    arn = devices.forget_endpoint(str(delivery.device_id)) if delivery.device_id else None
    if sender.push is not None and (arn or delivery.endpoint_arn):
        sender.push.delete(str(arn or delivery.endpoint_arn))
    log_event("push_endpoint_gone", device_id=delivery.device_id)


def cut_off(delivery: Delivery, now: datetime) -> bool:
    """An alert `sending` for longer than the sender may run: its worker died mid-publish."""
    return (
        delivery.alert_status == "sending"
        and delivery.alert_at is not None
        and now - delivery.alert_at >= ALERT_IN_FLIGHT
    )


def _start(delivery: Delivery, kind: Kind, action: Action, now: datetime) -> bool:
    """Take a delivery for sending, settling the ones that must not be sent."""
    if kind is Kind.ALERT and action.status != "active":
        ledger.cancel_unsent_alert(delivery)  # the action closed before this alert went out
        return False
    if kind is Kind.RESULT and delivery.alert_status in ("failed", "cancelled", "unknown"):
        ledger.skip_result(delivery)
        return False
    return ledger.start_sending(delivery, kind, now)


def _results_for_late_alerts(
    action_id: str, alerted: Sequence[Delivery], queues: Mapping[Channel, WorkQueue]
) -> None:
    """Queue results for alerts that went out while the action was being closed.

    The results pass may have read these people's deliveries before they were sent; queueing
    is conditional per delivery, so whoever comes second does nothing.
    """
    if store.get_action(action_id).status != "closed":
        return
    late = [d for d in alerted if ledger.queue_result(d)]
    enqueue_by_channel(queues, Kind.RESULT, action_id, late)


def _render(kind: Kind, action: Action, language: Language, callback_number: str) -> str:
    if kind is Kind.ALERT:
        return messages.render_alert(
            Incident(action.incident),
            action.description or "",  # only a redacted action has none, and it is long closed
            action.ref,
            language,
            callback_number,
        )
    return messages.render_result(
        Outcome(action.outcome), action.ref, language, action.result_message
    )


def call_ended(contact_id: str, outcome: str, queues: Mapping[Channel, WorkQueue]) -> None:
    """Record how a call went, free its line, and queue a second try for an unanswered alert."""
    delivery = ledger.by_contact(contact_id)
    if delivery is None:
        log_event("unknown_contact", contact_id=contact_id)
        return
    if delivery.voice_line is not None:
        lines.release(int(delivery.voice_line))
    ledger.record_call_outcome(delivery, outcome)
    log_event(
        "call_ended", action_id=delivery.action_id, kind=delivery.contact_kind, outcome=outcome
    )
    unanswered = outcome in (calls.NO_ANSWER, calls.BUSY)
    if (
        unanswered
        and delivery.contact_kind == Kind.ALERT
        and store.get_action(delivery.action_id).status == "active"
        and ledger.requeue_unanswered_alert(delivery)
    ):
        enqueue_by_channel(
            queues, Kind.ALERT, delivery.action_id, [delivery], delay_s=RETRY_UNANSWERED_S
        )
