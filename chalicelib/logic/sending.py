"""Sending one chunk of alerts or results, one delivery at a time, within each provider's limits.

At most once: a send that is not idempotent is tried once (no client retries). Only a refusal that
says nothing went out (throttling, an unreachable endpoint) is tried again, and only through the
ledger, which puts that delivery back to queued. An ambiguous send is recorded as `unknown`.
Work that must wait (throttled, every call line busy, a result waiting for its alert, quiet hours)
goes back on its queue as a new, delayed message, so waiting never uses up SQS receives.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone
from chalicelib.dal import actions as action_store
from chalicelib.dal import calls as call_ledger
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import devices
from chalicelib.dal.records import ActionRecord, DeliveryRecord
from chalicelib.domain import messages
from chalicelib.domain.messages import speakable
from chalicelib.domain.metrics import Metrics
from chalicelib.domain.model import (
    ActionStatus,
    Channel,
    DeliveryStatus,
    Incident,
    Kind,
    Language,
)
from chalicelib.domain.pacing import RateLimiter
from chalicelib.domain.receipts import SENDER_CUT_OFF
from chalicelib.logic.calls import LINE_WAIT_S, Lease, LinesBusy, call_line
from chalicelib.logic.late import messages_for_late_alerts
from chalicelib.logic.ports import Push, Sms, Voice
from chalicelib.logic.work import SendWork, Step, Tally
from chalicelib.logs import log_event
from chalicelib.queues import SEND_BUDGET_S, WorkQueue
from chalicelib.tracing import count, traced

# Keeps the message of the chunk being sent hidden from other instances (queues.Hold).
Renew = Callable[[], object]
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
TIME_UP_DELAY_S = 0  # another instance takes the rest at once


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
    # Per channel, the seconds an invocation takes people for sending (queues.SEND_BUDGET_S).
    budgets: Mapping[Channel, float] = field(default_factory=lambda: dict(SEND_BUDGET_S))
    clock: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)


@dataclass(frozen=True)
class Chunk:
    """One chunk being sent: what each of its deliveries is sent with."""

    work: SendWork
    action: ActionRecord
    sender: Sender
    moment: Callable[[], datetime]  # now, moving on with the sender's clock
    deadline: float  # the sender's clock reading after which no call line is waited for
    tally: Tally = field(default_factory=Tally)
    texts: dict[Language, str] = field(default_factory=dict)  # its message, by language

    def text(self, language: Language) -> str:
        """The chunk's message in `language`, rendered once."""
        if language not in self.texts:
            self.texts[language] = _render(self, language)
        return self.texts[language]


def _keep() -> None:
    """No message to keep hidden (a chunk sent outside an SQS invocation)."""


def send(work: SendWork, sender: Sender, now: datetime, renew: Renew = _keep) -> int:
    """Send one chunk of alerts, updates or results on its channel; return how many went out.

    Whatever cannot go out yet is put back on the channel's queue as a new, delayed message.
    `renew`, called before each send, keeps the chunk's message hidden while it works.
    """
    action = action_store.get_action(work.action_id)
    # The action's counters are one partition key: one write per chunk, not one per send.
    with ledger.counts_per_chunk(action):
        return _send(work, sender, now, action, renew)


def _send(work: SendWork, sender: Sender, now: datetime, action: ActionRecord, renew: Renew) -> int:
    if (
        work.not_before is not None
        and now < work.not_before
        # A closed action's alerts are cancelled at once; its results still wait their turn.
        and (action.status is ActionStatus.ACTIVE or work.kind is Kind.RESULT)
    ):
        wait = (work.not_before - now).total_seconds()
        sender.queues[work.channel].send([work.to_item()], delay_s=int(wait) + 1)
        return 0
    started = sender.clock()

    def moment() -> datetime:
        return now + timedelta(seconds=sender.clock() - started)

    chunk = Chunk(work, action, sender, moment, deadline=started + sender.line_wait_s)
    tally = chunk.tally
    alerted: list[DeliveryRecord] = []
    later: list[str] = []
    waits: set[Step] = set()
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
            budget = sender.budgets.get(work.channel)
            while i < len(deliveries):
                if budget is not None and i and sender.clock() - started >= budget:
                    # Ending inside the Lambda timeout keeps that timeout, and the visibility
                    # timeout after it, short: the wait a crashed chunk's people have. At
                    # least one person an invocation, so a chunk always moves on.
                    later.extend(d.participant_id for d in deliveries[i:])
                    waits.add(Step.TIME_UP)
                    break
                renew()
                delivery = deliveries[i]
                step = _deliver(delivery, chunk)
                tally.note(step, moment())
                if step is Step.THROTTLED and refused < THROTTLED_RETRIES:
                    if not refused:
                        sender.pacers[work.channel].refund()
                    refused += 1
                    continue  # the same delivery again: the ledger has it queued again
                if step is Step.RETRIED:
                    # An ambiguous push, queued again by the ledger (once): at once, in a paced
                    # slot of its own, as SNS may have counted the first.
                    continue
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
            messages_for_late_alerts(work.action_id, alerted, sender.queues)
    if later:
        _put_back(work, later, waits, sender.queues)
    return tally.steps[Step.SENT]


def _count(work: SendWork, action: ActionRecord, tally: Tally) -> None:
    """Counters kept a chunk at a time: provider refusals (for the timeline), and an update's
    outcomes (alerts and results are counted by the ledger, gathered over the chunk too)."""
    throttled = tally.steps[Step.THROTTLED]
    if throttled:
        ledger.add_counts(work.action_id, **{f"throttled_{work.channel.value}": throttled})
    if work.kind is Kind.UPDATE:
        index = action_store.update_index(action, str(work.update_id))
        steps = tally.steps
        action_store.count_update(
            work.action_id,
            index,
            sent=steps[Step.SENT],
            failed=steps[Step.FAILED],
            unknown=steps[Step.UNKNOWN],
        )


def _note_first_alert(action: ActionRecord, channel: Channel, tally: Tally) -> None:
    """Record the chunk's first alert as the action's first on the channel, unless one is.

    Checked on the first alert a chunk sends, not when it ends: of chunks running at once, the
    earliest alert wins the conditional write.
    """
    if tally.last_sent is not None and action_store.record_first_alert(
        action, channel, tally.last_sent
    ):
        tally.first_alert = tally.last_sent


def _deliver(delivery: DeliveryRecord, chunk: Chunk) -> Step:
    """Send one message of a chunk, as the ledger allows, and record how it ended."""
    sender, moment = chunk.sender, chunk.moment
    if chunk.work.kind is Kind.RESULT and delivery.alert_status is DeliveryStatus.SENDING:
        if not ledger.cut_off(delivery, moment()):
            return Step.WAIT_ALERT  # first know whether they were alerted
        # Its worker died mid-publish: the alert is unknown, and not knowably alerted, no result
        settled = ledger.settle_cut_off_alert(delivery, moment())
        ledger.skip_result(delivery)
        return Step.CUT_OFF if settled else Step.SETTLED
    channel = Channel(delivery.channel)
    line: AbstractContextManager[Lease | None] = (
        call_line(sender.voice_lines, moment, chunk.deadline, sender.clock, sender.sleep)
        if channel == Channel.VOICE
        else nullcontext()
    )
    try:
        with line as lease:
            # Pace before taking a delivery, so a worker stopped while waiting leaves it queued.
            sender.pacers[channel].wait()
            if not _start(delivery, chunk.work, chunk.action, moment()):
                # Taken by a copy of this chunk running beside it, or settled: nothing went out.
                sender.pacers[channel].refund()
                return Step.SETTLED
            text = chunk.text(Language(delivery.language))
            return _transmit_and_record(delivery, chunk, text, lease)
    except LinesBusy:
        return Step.LINES_BUSY


def _transmit_and_record(
    delivery: DeliveryRecord, chunk: Chunk, text: str, lease: Lease | None
) -> Step:
    work, action, sender, moment = chunk.work, chunk.action, chunk.sender, chunk.moment
    kind, update_id = work.kind, work.update_id
    try:
        message_id = _transmit(delivery, text, chunk)
    except SendFailed as exc:
        if exc.retryable:
            ledger.release(delivery, kind, update_id)  # nothing went out: queued again, for later
            log_event("send_throttled", action_id=action.action_id, kind=kind.value, code=exc.code)
            return Step.THROTTLED
        if exc.ambiguous and _retry_push(delivery, kind, DeliveryStatus.SENDING, action):
            return Step.RETRIED
        outcome = DeliveryStatus.UNKNOWN if exc.ambiguous else DeliveryStatus.FAILED
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
        ledger.finish_sending(delivery, kind, DeliveryStatus.UNKNOWN, moment(), update_id=update_id)
        chunk.tally.note(Step.UNKNOWN, moment())  # the chunk's count, before the invocation fails
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
        call_ledger.finish_call(delivery, kind, message_id, lease.number, moment(), update_id)
        lease.taken = True  # the call holds its line until Connect says it ended
    else:
        ledger.finish_sending(
            delivery, kind, DeliveryStatus.SENT, moment(), message_id, update_id=update_id
        )
    return Step.SENT


def _put_back(
    work: SendWork, later: Sequence[str], waits: set[Step], queues: Mapping[Channel, WorkQueue]
) -> None:
    """Queue what has to wait as a new message, delayed by what it waits for."""
    delays = {
        Step.THROTTLED: THROTTLED_DELAYS_S[min(work.attempt, len(THROTTLED_DELAYS_S) - 1)],
        Step.LINES_BUSY: LINES_BUSY_DELAY_S,
        Step.WAIT_ALERT: ALERT_WAIT_DELAY_S,
        Step.TIME_UP: TIME_UP_DELAY_S,
    }
    delay = max(delays[step] for step in waits)
    queues[work.channel].send([work.later(later).to_item()], delay_s=delay)
    log_event(
        "send_put_back",
        action_id=work.action_id,
        kind=work.kind.value,
        channel=work.channel.value,
        waiting=len(later),
        reason=",".join(sorted(step.name.lower() for step in waits)),
        attempt=work.attempt + 1,
        delay_s=delay,
    )


def _transmit(delivery: DeliveryRecord, text: str, chunk: Chunk) -> str:
    """Send the text by SMS or push, or read it out in a call; return the provider's id."""
    action, work, sender = chunk.action, chunk.work, chunk.sender
    ref = action.ref
    if delivery.channel == Channel.PUSH:
        if sender.push is None or not delivery.endpoint_arn:
            raise SendFailed("PushNotConfigured", retryable=False)
        # An alert shows the action's photo, if it has one; SMS and calls stay text.
        image = action.photo.small if work.kind is Kind.ALERT and action.photo else None
        return sender.push.send(
            str(delivery.endpoint_arn),
            f"Burgernet {ref}",
            text,
            str(delivery.action_id),
            collapse_id(work),
            image,
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


def _phone(delivery: DeliveryRecord) -> str:
    """The number to send to; an erased person's delivery has none and is never sent."""
    if not delivery.phone:
        raise SendFailed("Erased", retryable=False)
    return str(delivery.phone)


def _forget_device(delivery: DeliveryRecord, sender: Sender) -> None:
    """A push endpoint is gone for good: drop it from the device (and at SNS), never retry it."""
    arn = devices.forget_endpoint(str(delivery.device_id)) if delivery.device_id else None
    if sender.push is not None and (arn or delivery.endpoint_arn):
        sender.push.delete(str(arn or delivery.endpoint_arn))
    log_event("push_endpoint_gone", device_id=delivery.device_id)


def _start(delivery: DeliveryRecord, work: SendWork, action: ActionRecord, now: datetime) -> bool:
    """Take a delivery for sending, settling the ones that must not be sent."""
    kind = work.kind
    if kind is not Kind.RESULT and action.status is not ActionStatus.ACTIVE:
        # The action closed first: an alert not yet sent is cancelled, an update skipped (the
        # result says what matters now).
        if kind is Kind.ALERT:
            ledger.cancel_unsent_alert(delivery)
        else:
            ledger.skip_update(delivery, str(work.update_id))
        return False
    if kind is Kind.RESULT and delivery.alert_status in ledger.NOT_KNOWABLY_ALERTED:
        ledger.skip_result(delivery)
        return False
    started = ledger.start_sending(delivery, kind, now, work.update_id)
    if not started and kind is Kind.ALERT and delivery.alert_status is DeliveryStatus.SENDING:
        # Sending since before this run took its chunk: an earlier run died mid-send (or a
        # duplicate delivery of the message is sending it now).
        if delivery.channel == Channel.PUSH:
            # No receipt will settle a push: once its sender's time is certainly up, this run
            # tries it once more, under the same collapse id.
            return (
                ledger.cut_off(delivery, now, SENDER_CUT_OFF[Channel.PUSH])
                and _retry_push(delivery, kind, DeliveryStatus.SENDING, action)
                and ledger.start_sending(delivery, kind, now)
            )
        # Noted for the sweep, which settles it once it is cut off (logic/receipts.py).
        ledger.note_unsettled(delivery)
    return started


def collapse_id(work: SendWork) -> str:
    """The id every try of one push message shares (its alert, result or update), so a second
    try replaces the first on the phone: at most 64 bytes, APNs' limit."""
    message = work.kind.value
    if work.kind is Kind.UPDATE:
        message += "-" + hashlib.sha256(str(work.update_id).encode()).hexdigest()[:16]
    readable = f"{work.action_id}:{message}"
    if len(readable.encode()) <= 64:
        return readable
    return hashlib.sha256(readable.encode()).hexdigest()  # 64 hex digits


def _retry_push(
    delivery: DeliveryRecord, kind: Kind, before: DeliveryStatus, action: ActionRecord
) -> bool:
    """An ambiguous push alert queued once more, exactly once (`alert_retried`, set in the same
    conditional write): the collapse id makes a second try replace the first on the phone."""
    if kind is not Kind.ALERT or delivery.channel != Channel.PUSH:
        return False
    if not ledger.retry_ambiguous_alert(delivery, before):
        return False
    log_event(
        "alert_retried",
        action_id=action.action_id,
        participant_id=delivery.participant_id,
        reason="ambiguous_push",
        was=before.value,
    )
    return True


def _render(chunk: Chunk, language: Language) -> str:
    work, action, callback_number = chunk.work, chunk.action, chunk.sender.callback_number
    kind = work.kind
    if kind is Kind.UPDATE:
        update = action.updates[action_store.update_index(action, str(work.update_id))]
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
    if action.outcome is None:
        raise ValueError(f"action {action.action_id} has no outcome: it has not closed")
    return messages.render_result(action.outcome, action.ref, language, action.result_message)
