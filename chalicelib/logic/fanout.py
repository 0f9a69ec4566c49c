"""The asynchronous half: targeting, sending, results and the scheduled sweep.

Every step is safe to run twice: the ledger's conditional writes decide who is sent what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Protocol

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone, SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import actions as store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import devices, lines
from chalicelib.dal.deliveries import Kind, Recipient
from chalicelib.dal.models import Action, Delivery, Place
from chalicelib.dal.participants import places_in
from chalicelib.domain import calls, messages
from chalicelib.domain.errors import Conflict
from chalicelib.domain.geo import Circle
from chalicelib.domain.messages import speakable
from chalicelib.domain.model import Channel, Incident, Language, Outcome, iso
from chalicelib.domain.pacing import RateLimiter
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.signup import QuietHours
from chalicelib.logic.actions import enqueue
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue
from chalicelib.tracing import traced

# Recipients per send message: small enough to finish well inside a visibility timeout.
SEND_CHUNK = 25
# The sweep re-drives fan-out that shows no progress after this long (the enqueue was lost),
# and any fan-out still pending after the targeting queue's visibility timeout (a crashed run).
REDRIVE_IDLE = timedelta(minutes=2)
REDRIVE_STUCK = timedelta(minutes=16)
# An alert `sending` for longer than the sender Lambda's timeout was cut off mid-publish: whether
# it reached the phone is unknown, so its result is skipped rather than waited for forever.
ALERT_IN_FLIGHT = timedelta(minutes=6)


class RetryLater(Exception):
    """Try again later (throttled, or waiting for an alert): SQS redelivers the message."""


class Voice(Protocol):
    """Places a call that reads a text out (Amazon Connect, or the local stand-in)."""

    def call(self, phone: str, text: str, language: Language, reference: str) -> str:
        """Start the call; return its contact id or raise SendFailed."""
        ...


@dataclass(frozen=True)
class Sender:
    """What sending needs: the channels, their pacing, the callback number and their queues."""

    sms: SnsSms
    pacer: RateLimiter
    callback_number: str
    queues: Mapping[Channel, WorkQueue]  # where each channel's work (and late results) go
    voice: Voice | None = None
    voice_pacer: RateLimiter | None = None
    voice_lines: int = 10  # calls in flight at most (Connect's default is 10 per instance)
    push: SnsPush | None = None  # app notifications; they share the SMS queue and its pacing


def choose_channel(
    place: Place,
    available: Sequence[str],
    incident: Incident,
    now: datetime,
    endpoint_arn: str | None = None,
) -> Channel | None:
    """The channel to reach someone on for this action, or None if none may be used now.

    An app's current location (channel push) is reached by push whatever channels the action
    names: push is the app's own channel, not a dispatch choice. Its device must still have an
    endpoint (`endpoint_arn`); without one, a linked participant falls back to SMS and an
    anonymous install is not reached. One row per person reaches here (`select_recipients` keeps
    their nearest place), so a person whose fresh app location is their nearest place gets push,
    otherwise their preferred channel.

    Nobody is called inside their quiet hours (a missing person overrides them): a voice
    participant with a mobile number gets an SMS instead; with only a landline, no alert.
    """
    preferred = str(place.channel)
    if preferred == Channel.PUSH:
        if endpoint_arn:
            return Channel.PUSH
        return Channel.SMS if Channel.SMS in available and _mobile(place.phone) else None
    quiet = (
        place.quiet_from is not None
        and place.quiet_to is not None
        and incident is not Incident.MISSING_PERSON
        and QuietHours(place.quiet_from, place.quiet_to).contains(now)
    )
    if preferred in available and not (quiet and preferred == Channel.VOICE):
        return Channel(preferred)
    if Channel.SMS in available and _mobile(place.phone):
        return Channel.SMS  # voice not offered for this action, or quiet hours
    return None


def _mobile(phone: str | None) -> bool:
    return bool(phone) and is_mobile(str(phone))


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def target(action_id: str, queues: Mapping[Channel, WorkQueue], now: datetime) -> int:
    """Claim every person inside the action's circle, nearest first, and enqueue their alerts."""
    action = store.get_action(action_id)
    if action.status != "active":
        store.finish_pending(action_id, "target")
        return 0
    circle = Circle(float(action.lat), float(action.lon), float(action.radius_m))
    with traced("target", action_id=action_id):
        found = places_in(circle, now)
        endpoints = devices.endpoints([p.device_id for _, p in found if p.device_id])
        recipients = []
        available = list(map(str, action.channels))
        for distance, place in found:
            endpoint = endpoints.get(str(place.device_id)) if place.device_id else None
            channel = choose_channel(place, available, Incident(action.incident), now, endpoint)
            if channel is not None:
                push = channel == Channel.PUSH
                recipients.append(
                    Recipient(
                        place.participant_id,
                        place.phone,
                        place.language,
                        channel,
                        distance,
                        device_id=place.device_id if push else None,
                        endpoint_arn=endpoint if push else None,
                    )
                )
        claimed = 0
        for chunk in chunks(recipients, SEND_CHUNK):
            claimed += ledger.claim(action_id, chunk, now)
            # Re-enqueue already-claimed people too: a crashed earlier run may not have; the
            # sender's conditional start makes a second message for them a no-op.
            _enqueue_by_channel(queues, Kind.ALERT, action_id, chunk)
        if claimed < len(recipients):  # a re-run: the live counter missed earlier claims
            ledger.set_counts(action_id, {"targeted": len(recipients)})
    store.finish_pending(action_id, "target")
    log_event(
        "action_targeted",
        action_id=action_id,
        inside=len(found),
        recipients=len(recipients),
        claimed=claimed,
    )
    return claimed


def _enqueue_by_channel(
    queues: Mapping[Channel, WorkQueue],
    kind: Kind,
    action_id: str,
    recipients: Sequence[Recipient | Delivery],
) -> None:
    """Each channel's people to its channel's queue (in their order), so calls never slow SMS
    down; channels sharing a queue (SMS and push) share one message."""
    by_queue: dict[int, tuple[WorkQueue, list[Recipient | Delivery]]] = {}
    for r in recipients:
        queue = queues[Channel(r.channel)]
        by_queue.setdefault(id(queue), (queue, []))[1].append(r)
    for queue, mine in by_queue.values():
        queue.send([_send_item(kind, action_id, mine)])


def _send_item(
    kind: Kind, action_id: str, recipients: Sequence[Recipient | Delivery]
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "action_id": action_id,
        "participant_ids": [r.participant_id for r in recipients],
    }


def fan_out_results(action_id: str, queues: Mapping[Channel, WorkQueue], now: datetime) -> int:
    """Queue one result message for every person the action alerted; return how many.

    The same pass settles alerts whose sender died mid-publish (recorded as failed: whether
    they arrived is unknown) and sets the alert counters to the ledger's exact figures.
    """
    action = store.get_action(action_id)
    if action.status != "closed":
        return 0
    queued = 0
    seen: list[Delivery] = []
    with traced("results", action_id=action_id):
        for chunk in chunks(ledger.ledger(action_id), SEND_CHUNK):
            seen.extend(chunk)
            for d in chunk:
                if _cut_off(d, now):
                    ledger.finish_sending(d, Kind.ALERT, None, now)
            todo = [d for d in chunk if ledger.queue_result(d)]
            _enqueue_by_channel(queues, Kind.RESULT, action_id, todo)  # same channel as the alert
            queued += len(todo)
        exact = ledger.tally(seen)
        ledger.set_counts(
            action_id, {k: exact[k] for k in ("targeted", "sent", "failed", "cancelled")}
        )
    store.finish_pending(action_id, "results")
    log_event("results_queued", action_id=action_id, queued=queued)
    return queued


def send(
    kind: Kind, action_id: str, participant_ids: Sequence[str], sender: Sender, now: datetime
) -> int:
    """Send one chunk of alerts or results (SMS or calls, as each delivery says); return how many.

    Raises RetryLater when the provider throttles, when every call line is busy (what was sent
    stays sent; the rest is retried), or when a result waits for an alert still in flight.
    """
    action = store.get_action(action_id)
    texts: dict[str, str] = {}
    alerted: list[Delivery] = []
    sent = undecided = 0
    try:
        with traced("send", action_id=action_id, kind=kind.value, size=len(participant_ids)):
            for delivery in ledger.load(action_id, participant_ids):
                if kind is Kind.RESULT and delivery.alert_status == "sending":
                    if not _cut_off(delivery, now):
                        undecided += 1  # first know whether they were alerted
                        continue
                    ledger.skip_result(delivery)  # a worker died mid-send: unknown, not alerted
                    continue
                calling = delivery.channel == Channel.VOICE
                line = None
                if calling:
                    line = lines.acquire(sender.voice_lines, now)
                    if line is None:
                        raise RetryLater("every call line is busy")
                # Pace before taking a delivery, so a worker stopped while waiting leaves it queued.
                (sender.voice_pacer if calling and sender.voice_pacer else sender.pacer).wait()
                if not _start(delivery, kind, action, now):
                    if line is not None:
                        lines.release(line)
                    continue
                language = Language(delivery.language)
                if language not in texts:
                    texts[language] = _render(kind, action, language, sender.callback_number)
                try:
                    message_id = _transmit(delivery, texts[language], action.ref, kind, sender)
                except SendFailed as exc:
                    if line is not None:
                        lines.release(line)
                    if exc.retryable:
                        ledger.release(delivery, kind)
                        log_event(
                            "send_throttled", action_id=action_id, kind=kind.value, code=exc.code
                        )
                        raise RetryLater(exc.code) from None
                    ledger.finish_sending(delivery, kind, None, now)
                    if isinstance(exc, EndpointGone):
                        _forget_device(delivery, sender)
                    log_event(
                        "send_failed",
                        action_id=action_id,
                        kind=kind.value,
                        code=exc.code,
                        participant_id=delivery.participant_id,
                    )
                    continue
                except Exception as exc:
                    # Unforeseen: record it as failed (never resend what may have gone out), make
                    # it visible, and let SQS retry the rest of the chunk.
                    if line is not None:
                        lines.release(line)
                    ledger.finish_sending(delivery, kind, None, now)
                    log_event(
                        "send_crashed",
                        logging.ERROR,
                        action_id=action_id,
                        kind=kind.value,
                        error=type(exc).__name__,
                        participant_id=delivery.participant_id,
                    )
                    raise
                if line is not None:
                    ledger.finish_call(delivery, kind, message_id, line, now)
                else:
                    ledger.finish_sending(delivery, kind, message_id, now)
                sent += 1
                if kind is Kind.ALERT:
                    alerted.append(delivery)
    finally:
        if alerted:
            _results_for_late_alerts(action_id, alerted, sender.queues)
    if undecided:
        raise RetryLater(f"{undecided} alerts still in flight")
    return sent


def _transmit(delivery: Delivery, text: str, ref: str, kind: Kind, sender: Sender) -> str:
    """Send the text by SMS or push, or read it out in a call; return the provider's id."""
    if delivery.channel == Channel.PUSH:
        if sender.push is None or not delivery.endpoint_arn:
            raise SendFailed("PushNotConfigured", retryable=False)
        return sender.push.send(
            str(delivery.endpoint_arn), f"Burgernet {ref}", text, str(delivery.action_id)
        )
    if delivery.channel != Channel.VOICE:
        return sender.sms.send(delivery.phone, text)
    if sender.voice is None:
        raise SendFailed("VoiceNotConfigured", retryable=False)
    language = Language(delivery.language)
    attempt = int(delivery.voice_attempts or 0) + 1
    # The reference makes Connect's ClientToken: a retried start never places a second call.
    reference = f"{delivery.action_id}:{delivery.participant_id}:{kind.value}:{attempt}"
    return sender.voice.call(delivery.phone, speakable(text, ref, language), language, reference)


def _forget_device(delivery: Delivery, sender: Sender) -> None:
    """A push endpoint is gone for good: drop it from the device (and at SNS), never retry it."""
    arn = devices.forget_endpoint(str(delivery.device_id)) if delivery.device_id else None
    if sender.push is not None and (arn or delivery.endpoint_arn):
        sender.push.delete(str(arn or delivery.endpoint_arn))
    log_event("push_endpoint_gone", device_id=delivery.device_id)


def _cut_off(delivery: Delivery, now: datetime) -> bool:
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
    if kind is Kind.RESULT and delivery.alert_status in ("failed", "cancelled"):
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
    _enqueue_by_channel(queues, Kind.RESULT, action_id, late)


def _render(kind: Kind, action: Action, language: Language, callback_number: str) -> str:
    if kind is Kind.ALERT:
        return messages.render_alert(
            Incident(action.incident), action.description, action.ref, language, callback_number
        )
    return messages.render_result(
        Outcome(action.outcome), action.ref, language, action.result_message
    )


def sweep(targeting: WorkQueue, now: datetime) -> dict[str, int]:
    """The every-minute run: expire actions past their time and re-drive stalled fan-out."""
    expired = 0
    for action in store.active_actions():
        if action.expires_at <= iso(now):
            try:
                store.close_action(action.action_id, Outcome.EXPIRED.value, None, now)
            except Conflict:
                continue  # an overlapping run or a dispatcher closed it first
            log_event("action_expired", action_id=action.action_id)
            enqueue(targeting, "results", action.action_id)
            expired += 1
    redriven = 0
    for action_id, kind in store.pending_action_ids():
        action = store.get_action(action_id)
        if _stalled(action, kind, now):
            log_event("fanout_redriven", action_id=action_id, kind=kind)
            enqueue(targeting, kind, action_id)
            redriven += 1
    return {"expired": expired, "redriven": redriven}


def _stalled(action: Action, kind: str, now: datetime) -> bool:
    since = action.created_at if kind == "target" else (action.closed_at or action.created_at)
    progress = action.targeted if kind == "target" else action.results_sent + action.results_failed
    age = now - datetime.fromisoformat(since)
    return age >= (REDRIVE_STUCK if progress else REDRIVE_IDLE)


# An alert call nobody answered is tried once more, a few minutes later.
RETRY_UNANSWERED_S = 300


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
        queues[Channel.VOICE].send(
            [_send_item(Kind.ALERT, delivery.action_id, [delivery])], delay_s=RETRY_UNANSWERED_S
        )
