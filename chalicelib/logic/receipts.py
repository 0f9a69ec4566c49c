"""Reconciling ambiguous alerts from the providers' own records (docs/architecture.md, the ledger).

An alert whose send ended ambiguously (`unknown`: a lost answer, a 5xx, a crash mid-publish; or
left `sending` by a run that died) is settled by evidence, each step one conditional write:

- a receipt saying the carrier took it: `sent` (from unknown, or from sending once cut off);
- a receipt saying it failed, or no receipt within RECEIPT_WINDOW of its end (never accepted):
  queued once more, exactly once (`alert_retried` set in the same write), while the action runs;
- a failure receipt when it cannot be tried again (tried once already, or the action closed):
  `failed`.

`receive` handles one receipt; `reconcile` is the sweep's step. Both take `now`, so the fan-out
bench can drive them on its own clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, auto

from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.records import ActionRecord, DeliveryRecord
from chalicelib.domain.model import ActionStatus, Channel, DeliveryStatus, Kind, ReceiptOutcome
from chalicelib.domain.receipts import (
    RECEIPT_LOOKBACK,
    RECEIPT_SKEW,
    RECEIPT_WINDOW,
    RECONCILED,
    SENDER_CUT_OFF,
    MalformedReceipt,
    Receipt,
    parse_sms_event,
)
from chalicelib.logic.late import messages_for_late_alerts
from chalicelib.logic.work import enqueue_by_channel
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue

AMBIGUOUS = frozenset({DeliveryStatus.UNKNOWN, DeliveryStatus.SENDING})
# An alert left `sending` is tried again this long after its send began, if no receipt came:
# past its sender's timeout (SENDER_CUT_OFF), plus two redeliveries of a receipt that arrived
# while it was still `sending` and was put back (the receipts queue's 60 s visibility).
RECEIPT_REREADS = timedelta(minutes=2)


def cut_off_retry_after(channel: Channel) -> timedelta:
    """How long after its send began an alert left `sending` without a receipt is retried."""
    return _sender_cut_off(channel) + RECEIPT_REREADS


class Settled(Enum):
    """What one receipt did (logged by its lower-case name)."""

    KNOWN = auto()  # its message id is an alert the ledger has: nothing to settle
    DELIVERED = auto()  # an ambiguous alert marked sent
    RETRIED = auto()  # an ambiguous alert queued once more
    FAILED = auto()  # an ambiguous alert marked failed (no second try left)
    UNMATCHED = auto()  # no ambiguous alert of that number in the window
    AMBIGUOUS = auto()  # more than one: nothing guessed
    MOVED_ON = auto()  # its alert changed meanwhile (another receipt, the sweep)


class ReceiptEarly(Exception):
    """The receipt's alert is still `sending` within its sender's time: read it again later."""


@dataclass
class ReconcileReport:
    """What one sweep step did."""

    retried: int = 0  # ambiguous alerts queued once more (no receipt in time)
    waiting: int = 0  # ambiguous alerts still within their window
    done: int = 0  # no longer needing reconciliation (settled, or no second try left)
    by_action: dict[str, int] = field(default_factory=dict)  # retried, per action


def receive_all(
    bodies: Sequence[tuple[str, str]], now: datetime, queues: Mapping[Channel, WorkQueue]
) -> list[str]:
    """Handle a batch of receipt messages (id, body); return the ids to be read again later.

    A malformed event is logged (without its number) and dropped: reading it again cannot help.
    """
    later = []
    for message_id, body in bodies:
        try:
            receipt = parse_sms_event(body)
        except MalformedReceipt as exc:
            log_event("receipt_malformed", message_id=message_id, reason=str(exc))
            continue
        if receipt is None:
            continue  # an interim event: the final one follows
        try:
            receive(receipt, now, queues)
        except ReceiptEarly:
            later.append(message_id)
    return later


def receive(receipt: Receipt, now: datetime, queues: Mapping[Channel, WorkQueue]) -> Settled:
    """Settle the ambiguous alert this receipt is about, if exactly one is (the matching rule
    in docs/architecture.md); ReceiptEarly if it is still being sent."""
    candidates = [
        d
        for d in ledger.receipt_candidates(receipt.destination, receipt.at - RECEIPT_LOOKBACK)
        if d.channel == receipt.channel
    ]
    if any(d.alert_message_id == receipt.message_id for d in candidates):
        return _logged(receipt, Settled.KNOWN)
    open_alerts = [d for d in candidates if _in_window(d, receipt)]
    if len(open_alerts) != 1:
        return _logged(receipt, Settled.AMBIGUOUS if open_alerts else Settled.UNMATCHED)
    delivery = open_alerts[0]
    before = delivery.alert_status
    if before is DeliveryStatus.SENDING and not _cut_off(delivery, now):
        raise ReceiptEarly  # its sender may still record how it ended
    if receipt.outcome is ReceiptOutcome.DELIVERED:
        if not ledger.settle_ambiguous_alert(
            delivery, before, DeliveryStatus.SENT, receipt.message_id
        ):
            return _logged(receipt, Settled.MOVED_ON, delivery)
        # Updates and the result it missed while it was ambiguous.
        messages_for_late_alerts(delivery.action_id, [delivery], queues)
        return _logged(receipt, Settled.DELIVERED, delivery)
    action = action_store.get_action(delivery.action_id)
    if _retry(delivery, before, action, queues):
        return _logged(receipt, Settled.RETRIED, delivery)
    if ledger.settle_ambiguous_alert(delivery, before, DeliveryStatus.FAILED):
        return _logged(receipt, Settled.FAILED, delivery)
    return _logged(receipt, Settled.MOVED_ON, delivery)


def reconcile(now: datetime, queues: Mapping[Channel, WorkQueue]) -> ReconcileReport:
    """The sweep's step: try once more every ambiguous alert of a running action that had no
    receipt in time (RECEIPT_WINDOW after an unknown end, cut_off_retry_after after a send
    left sending); forget the ones that need nothing more."""
    report = ReconcileReport()
    for action in action_store.active_actions():
        if action.unsettled:
            _reconcile_action(action, now, queues, report)
    return report


def _reconcile_action(
    action: ActionRecord,
    now: datetime,
    queues: Mapping[Channel, WorkQueue],
    report: ReconcileReport,
) -> None:
    done: list[str] = []
    noted = set(action.unsettled or ())
    found = ledger.unsettled_of(action)
    done.extend(noted - {d.participant_id for d in found})  # gone (erased by TTL)
    for delivery in found:
        status = delivery.alert_status
        if (
            status not in AMBIGUOUS
            or delivery.alert_retried
            or delivery.alert_at is None
            or Channel(delivery.channel) not in RECONCILED
        ):
            done.append(delivery.participant_id)
            continue
        wait = (
            RECEIPT_WINDOW
            if status is DeliveryStatus.UNKNOWN
            else cut_off_retry_after(Channel(delivery.channel))
        )
        if now - delivery.alert_at < wait:
            report.waiting += 1
            continue
        if _retry(delivery, status, action, queues):
            log_event(
                "alert_retried",
                action_id=action.action_id,
                participant_id=delivery.participant_id,
                reason="no_receipt",
                was=status.value,
            )
            report.retried += 1
            report.by_action[action.action_id] = report.by_action.get(action.action_id, 0) + 1
    ledger.forget_unsettled(action.action_id, done)
    report.done += len(done)


def _retry(
    delivery: DeliveryRecord,
    before: DeliveryStatus,
    action: ActionRecord,
    queues: Mapping[Channel, WorkQueue],
) -> bool:
    """Queue an ambiguous alert once more on its channel, if its action runs and it was not
    tried again before: the ledger's conditional write decides, whatever this process read."""
    if action.status is not ActionStatus.ACTIVE:
        return False
    if not ledger.retry_ambiguous_alert(delivery, before):
        return False
    enqueue_by_channel(queues, Kind.ALERT, delivery.action_id, [delivery])
    return True


def _sender_cut_off(channel: Channel) -> timedelta:
    return SENDER_CUT_OFF.get(channel, ledger.ALERT_IN_FLIGHT)


def _cut_off(delivery: DeliveryRecord, now: datetime) -> bool:
    """An alert `sending` for longer than its channel's sender may run: it died mid-publish."""
    return (
        delivery.alert_status is DeliveryStatus.SENDING
        and delivery.alert_at is not None
        and now - delivery.alert_at >= _sender_cut_off(Channel(delivery.channel))
    )


def _in_window(delivery: DeliveryRecord, receipt: Receipt) -> bool:
    """An ambiguous alert whose ledger time fits the receipt's (docs/architecture.md)."""
    at = delivery.alert_at
    return (
        delivery.alert_status in AMBIGUOUS
        and at is not None
        and receipt.at - RECEIPT_WINDOW <= at <= receipt.at + RECEIPT_SKEW
    )


def _logged(receipt: Receipt, settled: Settled, delivery: DeliveryRecord | None = None) -> Settled:
    log_event(
        "receipt",
        settled=settled.name.lower(),
        provider_event=receipt.event,
        channel=receipt.channel.value,
        action_id=delivery.action_id if delivery else None,
        participant_id=delivery.participant_id if delivery else None,
    )
    return settled
