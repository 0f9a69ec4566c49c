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
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone
from chalicelib.dal import actions as store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import devices, lines
from chalicelib.dal.deliveries import Settled
from chalicelib.dal.models import Action, Delivery
from chalicelib.domain import calls, messages
from chalicelib.domain.messages import speakable
from chalicelib.domain.metrics import Metric, Metrics
from chalicelib.domain.model import Channel, Incident, Kind, Language, Outcome
from chalicelib.domain.pacing import RateLimiter
from chalicelib.logic.ports import Push, Sms, Voice
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
# A throttled send is tried again in the same invocation, up to this many times in a row, before
# the rest of its chunk goes back on the queue: a refusal now and then is the provider's noise,
# not a reason to wait seconds. The first retry goes at once, its pacing slot given back (the
# provider did not count the refusal); the next ones wait their slot.
THROTTLED_RETRIES = 2
# When put-back work comes round again, by why it waits.
# Throttling with every instance paced to its share is momentary; a longer back-off only leaves
# the queue empty at the end of a run (the fan-out bench showed 60 s tails at 5 % throttling).
THROTTLED_DELAYS_S = (1, 2, 3, 5)  # by attempt: a little back-off, then steady
LINES_BUSY_DELAY_S = 5
ALERT_WAIT_DELAY_S = 60
# An alert call nobody answered is tried once more, a few minutes later.
RETRY_UNANSWERED_S = 300





@dataclass(frozen=True)
class Sender:
    """What sending needs: the channels, this instance's pacing of each, and their queues."""

    sms: Sms
    callback_number: str
    queues: Mapping[Channel, WorkQueue]  # where each channel's work (put back, late results) goes
    pacers: Mapping[Channel, RateLimiter]  # this instance's share of each channel's rate
    metrics: Metrics  # one record per chunk: what it sent, failed and was refused
    voice: Voice | None = None
    voice_lines: int = 10  # calls in flight at most (Connect's default is 10 per instance)
    push: Push | None = None
    line_wait_s: float = LINE_WAIT_S
    clock: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)


class Step(Enum):
    """What became of one delivery of a chunk."""

    SENT = "sent"
    FAILED = "failed"  # refused for good: it did not go out
    UNKNOWN = "unknown"  # it may have gone out: never sent again
    CUT_OFF = "cut_off"  # a result whose alert's sender died mid-send: that alert is unknown
    SETTLED = "settled"  # nothing (more) to send: done earlier, cancelled or skipped
    THROTTLED = "throttled"  # the provider refused for now: the rest of the chunk waits
    LINES_BUSY = "lines_busy"  # no call line came free in time: the rest of the chunk waits
    WAIT_ALERT = "wait_alert"  # a result whose alert is still being sent


class LinesBusy(Exception):
    """Every call line stayed in use for as long as this sender may wait."""


@dataclass
class Tally:
    """What one chunk did, as the ledger records it: counted and published once when it ends."""

    steps: Counter[Step] = field(default_factory=Counter)
    last_sent: datetime | None = None
    first_alert: datetime | None = None  # the action's first alert on this channel, if this chunk's

    def note(self, step: Step, at: datetime) -> None:
        """Count one delivery's step (a throttled one once per refusal)."""
        self.steps[step] += 1
        if step is Step.SENT:
            self.last_sent = at

    def values(self, kind: Kind, created_at: datetime) -> dict[Metric, float]:
        """The chunk's metrics; times in milliseconds from the action's start."""
        values: dict[Metric, float] = {Metric.THROTTLED: self.steps[Step.THROTTLED]}
        if kind is Kind.ALERT:
            values[Metric.ALERTS_SENT] = self.steps[Step.SENT]
            values[Metric.ALERTS_FAILED] = self.steps[Step.FAILED] + self.steps[Step.UNKNOWN]
            if self.last_sent is not None:
                values[Metric.TIME_TO_LAST_ALERT] = _ms(self.last_sent - created_at)
        elif kind is Kind.RESULT:
            values[Metric.RESULTS_SENT] = self.steps[Step.SENT]
            values[Metric.ALERTS_FAILED] = self.steps[Step.CUT_OFF]  # found unknown only now
        if self.first_alert is not None:
            values[Metric.TIME_TO_FIRST_ALERT] = _ms(self.first_alert - created_at)
        return values


def _ms(elapsed: timedelta) -> float:
    return round(elapsed.total_seconds() * 1000, 1)


@dataclass
class Lease:
    """A call line held by this sender; `taken` once a placed call holds it until it ends."""

    number: int
    taken: bool = False


def send(work: SendWork, sender: Sender, now: datetime) -> int:
    """Send one chunk of alerts, updates or results on its channel; return how many went out.

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
    texts: dict[Language, str] = {}  # this chunk's message, by language
    alerted: list[Delivery] = []
    later: list[str] = []
    waits: set[Step] = set()
    tally = Tally()
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
                step = _deliver(delivery, work, action, texts, sender, moment, deadline, tally)
                tally.note(step, moment())
                if step is Step.THROTTLED and refused < THROTTLED_RETRIES:
                    if not refused:
                        sender.pacers[work.channel].refund()
                    refused += 1
                    continue  # the same delivery again: the ledger has it queued again
                refused = 0
                i += 1
                if step is Step.SENT and work.kind is Kind.ALERT:
                    alerted.append(delivery)
                    if len(alerted) == 1:
                        _note_first_alert(action, work.channel, tally)
                elif step is Step.WAIT_ALERT:
                    later.append(delivery.participant_id)
                    waits.add(step)
                elif step in (Step.THROTTLED, Step.LINES_BUSY):
                    later.extend(d.participant_id for d in deliveries[i - 1 :])
                    waits.add(step)
                    break
            count(sent=tally.steps[Step.SENT], put_back=len(later))
    finally:
        # Counted and published however the chunk ends (put back, or a crash): what it did has
        # happened.
        _count(work, action, tally)
        sender.metrics.publish(
            tally.values(work.kind, datetime.fromisoformat(action.created_at)),
            dimension=("Channel", work.channel.value),
            action_id=work.action_id,
        )
        if alerted:
            _messages_for_late_alerts(work.action_id, alerted, sender.queues)
    if later:
        _put_back(work, later, waits, sender.queues)
    return tally.steps[Step.SENT]


def _count(work: SendWork, action: Action, tally: Tally) -> None:
    """Counters kept a chunk at a time: provider refusals (for the timeline), and an update's
    outcomes (alerts and results are counted one by one, by the ledger)."""
    throttled = tally.steps[Step.THROTTLED]
    if throttled:
        ledger.add_counts(work.action_id, **{f"throttled_{work.channel.value}": throttled})
    if work.kind is Kind.UPDATE:
        index = update_index(action, str(work.update_id))
        steps = (Step.SENT, Step.FAILED, Step.UNKNOWN)
        store.count_update(work.action_id, index, {s.value: tally.steps[s] for s in steps})


def _note_first_alert(action: Action, channel: Channel, tally: Tally) -> None:
    """Record the chunk's first alert as the action's first on the channel, unless one is.

    Checked on the first alert a chunk sends, not when it ends: of chunks running at once, the
    earliest alert wins the conditional write.
    """
    if tally.last_sent is not None and store.record_first_alert(action, channel, tally.last_sent):
        tally.first_alert = tally.last_sent


def _deliver(
    delivery: Delivery,
    work: SendWork,
    action: Action,
    texts: dict[Language, str],
    sender: Sender,
    moment: Callable[[], datetime],
    deadline: float,
    tally: Tally,
) -> Step:
    """Send one message of a chunk, as the ledger allows, and record how it ended."""
    if work.kind is Kind.RESULT and delivery.alert_status == "sending":
        if not cut_off(delivery, moment()):
            return Step.WAIT_ALERT  # first know whether they were alerted
        # Its worker died mid-publish: the alert is unknown, and not knowably alerted, no result
        settled = ledger.settle_cut_off_alert(delivery, moment())
        ledger.skip_result(delivery)
        return Step.CUT_OFF if settled else Step.SETTLED
    channel = Channel(delivery.channel)
    line: AbstractContextManager[Lease | None] = (
        call_line(sender, moment, deadline) if channel == Channel.VOICE else nullcontext()
    )
    try:
        with line as lease:
            # Pace before taking a delivery, so a worker stopped while waiting leaves it queued.
            sender.pacers[channel].wait()
            if not _start(delivery, work, action, moment()):
                return Step.SETTLED
            language = Language(delivery.language)
            if language not in texts:
                texts[language] = _render(work, action, language, sender.callback_number)
            return _transmit_and_record(
                delivery, work, texts[language], action, sender, moment, lease, tally
            )
    except LinesBusy:
        return Step.LINES_BUSY


def _transmit_and_record(
    delivery: Delivery,
    work: SendWork,
    text: str,
    action: Action,
    sender: Sender,
    moment: Callable[[], datetime],
    lease: Lease | None,
    tally: Tally,
) -> Step:
    kind, update_id = work.kind, work.update_id
    try:
        message_id = _transmit(delivery, text, action, work, sender)
    except SendFailed as exc:
        if exc.retryable:
            ledger.release(delivery, kind, update_id)  # nothing went out: queued again, for later
            log_event("send_throttled", action_id=action.action_id, kind=kind.value, code=exc.code)
            return Step.THROTTLED
        outcome = Settled.UNKNOWN if exc.ambiguous else Settled.FAILED
        line = None
        if exc.ambiguous and lease is not None:
            # The call may be running: its line stays taken until its contact event (found by
            # the call's reference) or the lease's end frees it.
            lease.taken = True
            line = lease.number
        ledger.finish_sending(delivery, kind, outcome, moment(), update_id=update_id, line=line)
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
        return Step.UNKNOWN if exc.ambiguous else Step.FAILED
    except Exception as exc:
        # Unforeseen: it may have gone out, so it is unknown and never resent. Made visible, and
        # the message goes back to SQS for the rest of the chunk.
        ledger.finish_sending(delivery, kind, Settled.UNKNOWN, moment(), update_id=update_id)
        tally.note(Step.UNKNOWN, moment())  # the chunk's count, before the invocation fails
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
        ledger.finish_call(delivery, kind, message_id, lease.number, moment(), update_id)
        lease.taken = True  # the call holds its line until Connect says it ended
    else:
        ledger.finish_sending(
            delivery, kind, Settled.SENT, moment(), message_id, update_id=update_id
        )
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


def _transmit(delivery: Delivery, text: str, action: Action, work: SendWork, sender: Sender) -> str:
    """Send the text by SMS or push, or read it out in a call; return the provider's id."""
    ref = action.ref
    if delivery.channel == Channel.PUSH:
        if sender.push is None or not delivery.endpoint_arn:
            raise SendFailed("PushNotConfigured", retryable=False)
        # An alert shows the action's photo, if it has one; SMS and calls stay text.
        image = action.photo.small if work.kind is Kind.ALERT and action.photo else None
        return sender.push.send(
            str(delivery.endpoint_arn), f"Burgernet {ref}", text, str(delivery.action_id), image
        )
    if delivery.channel != Channel.VOICE:
        return sender.sms.send(_phone(delivery), text)
    if sender.voice is None:
        raise SendFailed("VoiceNotConfigured", retryable=False)
    language = Language(delivery.language)
    attempt = int(delivery.voice_attempts or 0) + 1
    # The reference makes Connect's ClientToken: a retried start never places a second call.
    message = work.update_id if work.kind is Kind.UPDATE else work.kind.value
    reference = f"{delivery.action_id}:{delivery.participant_id}:{message}:{attempt}"
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


def _unknown_call_ended(contact_id: str, voice: Voice | None) -> None:
    """A call we never learnt the id of ended: its start's answer was lost (an unknown alert).
    Its reference names the delivery that holds its line: free that line now."""
    reference = voice.reference_of(contact_id) if voice is not None else None
    delivery = ledger.by_reference(reference) if reference else None
    if delivery is None or delivery.voice_line is None:
        log_event("unknown_contact", contact_id=contact_id)
        return
    lines.release(int(delivery.voice_line))
    ledger.forget_line(delivery)
    log_event("unknown_call_ended", action_id=delivery.action_id, contact_id=contact_id)


def cut_off(delivery: Delivery, now: datetime) -> bool:
    """An alert `sending` for longer than the sender may run: its worker died mid-publish."""
    return (
        delivery.alert_status == "sending"
        and delivery.alert_at is not None
        and now - delivery.alert_at >= ALERT_IN_FLIGHT
    )


def _start(delivery: Delivery, work: SendWork, action: Action, now: datetime) -> bool:
    """Take a delivery for sending, settling the ones that must not be sent."""
    kind = work.kind
    if kind is not Kind.RESULT and action.status != "active":
        # The action closed first: an alert not yet sent is cancelled, an update skipped (the
        # result says what matters now).
        if kind is Kind.ALERT:
            ledger.cancel_unsent_alert(delivery)
        else:
            ledger.skip_update(delivery, str(work.update_id))
        return False
    if kind is Kind.RESULT and delivery.alert_status in ("failed", "cancelled", "unknown"):
        ledger.skip_result(delivery)
        return False
    return ledger.start_sending(delivery, kind, now, work.update_id)


def _messages_for_late_alerts(
    action_id: str, alerted: Sequence[Delivery], queues: Mapping[Channel, WorkQueue]
) -> None:
    """Queue the updates and the result that these alerts, just sent, went out too late for.

    An update's or the results' pass may have read these people's deliveries before their
    alerts were sent; queueing is conditional per delivery, so whoever comes second does nothing.
    """
    action = store.get_action(action_id)
    for update in action.updates:
        uid = update.update_id
        late = [d for d in alerted if ledger.queue_update(d, uid)]
        enqueue_by_channel(queues, Kind.UPDATE, action_id, late, update_id=uid)
    if action.status == "closed":
        late = [d for d in alerted if ledger.queue_result(d)]
        enqueue_by_channel(queues, Kind.RESULT, action_id, late)


def update_index(action: Action, update_id: str) -> int:
    """Where an update sits in the action's list of updates."""
    return next(i for i, u in enumerate(action.updates) if u.update_id == update_id)


def _render(work: SendWork, action: Action, language: Language, callback_number: str) -> str:
    kind = work.kind
    if kind is Kind.UPDATE:
        update = action.updates[update_index(action, str(work.update_id))]
        return messages.render_update(
            Incident(action.incident), update.message or "", action.ref, language, callback_number
        )
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


def call_ended(
    contact_id: str, outcome: str, queues: Mapping[Channel, WorkQueue], voice: Voice | None
) -> None:
    """Record how a call went, free its line, and queue a second try for an unanswered alert."""
    delivery = ledger.by_contact(contact_id)
    if delivery is None:
        _unknown_call_ended(contact_id, voice)
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
