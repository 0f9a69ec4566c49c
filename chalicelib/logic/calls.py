"""The call lines: a voice sender leases one per call, and a call's end gives it back.

Connect takes at most so many calls at once (`Sender.voice_lines`); a placed call holds its
line until Connect's contact event says it ended (or the lease runs out, dal/lines.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.connect import ended_call
from chalicelib.dal import actions as action_store
from chalicelib.dal import calls as call_ledger
from chalicelib.dal import deliveries as ledger
from chalicelib.dal import lines
from chalicelib.dal.records import DeliveryRecord
from chalicelib.domain.model import ActionStatus, CallOutcome, Channel, DeliveryStatus, Kind
from chalicelib.logic.late import messages_for_late_alerts
from chalicelib.logic.ports import Voice
from chalicelib.logic.work import enqueue_by_channel
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue

# How long a voice sender waits in-process for a free line before putting the rest back: a
# Lambda waiting costs little, and it takes a line within a poll of the call that frees it.
LINE_WAIT_S = 180.0
LINE_POLL_S = 0.5
# An alert call nobody answered is tried once more, a few minutes later.
RETRY_UNANSWERED_S = 300


class LinesBusy(Exception):
    """Every call line stayed in use for as long as this sender may wait."""


@dataclass
class Lease:
    """A call line held by this sender; `taken` once a placed call holds it until it ends."""

    number: int
    taken: bool = False


@contextmanager
def call_line(
    limit: int,
    moment: Callable[[], datetime],
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Iterator[Lease]:
    """One of `limit` call lines, waited for until `clock` reaches `deadline` (LinesBusy after
    that). Given back on leaving, whatever happened, unless a placed call took it."""
    number = lines.acquire(limit, moment())
    while number is None:
        if clock() + LINE_POLL_S > deadline:
            raise LinesBusy
        sleep(LINE_POLL_S)
        number = lines.acquire(limit, moment())
    lease = Lease(number)
    try:
        yield lease
    finally:
        if not lease.taken:
            lines.release(number)


def contact_event(
    detail: Mapping[str, Any], queues: Mapping[Channel, WorkQueue], voice: Voice | None
) -> None:
    """One of Connect's contact events: a call that ended frees its line (call_ended); other
    events change nothing."""
    ended = ended_call(detail)
    if ended is not None:
        call_ended(ended.contact_id, ended.outcome, queues, voice)


def call_ended(
    contact_id: str, outcome: CallOutcome, queues: Mapping[Channel, WorkQueue], voice: Voice | None
) -> None:
    """Record how a call went, free its line, and queue a second try for an unanswered alert."""
    delivery = call_ledger.by_contact(contact_id) or _unknown_call_ended(contact_id, voice, queues)
    if delivery is None:
        return
    if delivery.voice_line is not None:
        lines.release(int(delivery.voice_line))
    call_ledger.record_call_outcome(delivery, outcome)
    log_event(
        "call_ended", action_id=delivery.action_id, kind=delivery.contact_kind, outcome=outcome
    )
    unanswered = outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY)
    if (
        unanswered
        and delivery.contact_kind is Kind.ALERT
        and action_store.get_action(delivery.action_id).status is ActionStatus.ACTIVE
        and call_ledger.requeue_unanswered_alert(delivery)
    ):
        enqueue_by_channel(
            queues, Kind.ALERT, delivery.action_id, [delivery], delay_s=RETRY_UNANSWERED_S
        )


def _unknown_call_ended(
    contact_id: str, voice: Voice | None, queues: Mapping[Channel, WorkQueue]
) -> DeliveryRecord | None:
    """A call we never learnt the id of ended: its start's answer was lost (an unknown alert).

    Its reference names the delivery. The call was placed, so an alert still ambiguous is
    settled as sent, and returned to be recorded like any ended call; otherwise only the line
    it holds is freed, and None returned.
    """
    reference = voice.reference_of(contact_id) if voice is not None else None
    delivery = call_ledger.by_reference(reference) if reference else None
    if delivery is not None and reference and _placed_alert(delivery, reference, contact_id):
        settled = call_ledger.by_reference(reference)  # read again: the index lags a write
        if settled is not None:
            # Updates and the result it missed while it was ambiguous.
            messages_for_late_alerts(settled.action_id, [settled], queues)
        return settled
    if delivery is None or delivery.voice_line is None:
        log_event("unknown_contact", contact_id=contact_id)
        return None
    lines.release(int(delivery.voice_line))
    call_ledger.forget_line(delivery)
    log_event("unknown_call_ended", action_id=delivery.action_id, contact_id=contact_id)
    return None


def _placed_alert(delivery: DeliveryRecord, reference: str, contact_id: str) -> bool:
    """Settle an ambiguous alert as sent by the call its reference names; True if it was."""
    parts = reference.split(":")
    before = delivery.alert_status
    if len(parts) < 3 or parts[2] != Kind.ALERT.value:
        return False
    if before is DeliveryStatus.SENDING and not ledger.cut_off(delivery, datetime.now(UTC)):
        return False  # its sender may still record the call itself
    if before not in (DeliveryStatus.UNKNOWN, DeliveryStatus.SENDING):
        return False
    if not call_ledger.settle_placed_call(delivery, before, contact_id):
        return False
    log_event("unknown_call_placed", action_id=delivery.action_id, contact_id=contact_id)
    return True
