"""The delivery ledger: who was claimed for which action, and what happened to each message.

Every state change is a conditional write, so redelivered queue messages, overlapping scheduled
runs and crashed workers never send anyone a second alert or a second result.

States of `alert_status`: queued -> sending -> sent | failed, or queued -> cancelled when the
action closed first. `result_status` (only for alerted people): queued -> sending -> sent | failed,
or skipped when the alert turned out not to have been sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.dal.actions import transaction
from chalicelib.dal.models import Action, Delivery

LEDGER_TTL = timedelta(days=90)  # long enough for complaints and audits, then gone (AVG/GDPR)
MAX_TRANSACTION_ITEMS = 100


class Kind(StrEnum):
    """Which message of an action a delivery step is about."""

    ALERT = "alert"
    RESULT = "result"


@dataclass(frozen=True)
class Recipient:
    """A person chosen for an action, with what sending needs."""

    participant_id: str
    phone: str
    language: str
    channel: str
    distance_m: float


def claim(action_id: str, recipients: Sequence[Recipient], now: datetime) -> int:
    """Claim each recipient for the action (at most once ever); return how many were new.

    Claims go in transactions of up to 99 deliveries plus the action's `targeted` counter, so the
    counter always equals the ledger. Already-claimed people are dropped and the rest retried.
    """
    new = 0
    batch_size = MAX_TRANSACTION_ITEMS - 1
    for start in range(0, len(recipients), batch_size):
        pending = list(recipients[start : start + batch_size])
        while pending:
            try:
                with transaction() as tx:
                    for r in pending:
                        tx.save(_delivery(action_id, r, now), condition=Delivery.action_id.does_not_exist())
                    tx.update(Action(action_id), actions=[Action.targeted.add(len(pending))])
            except TransactWriteError as exc:
                taken = _failed_positions(exc)
                if not taken:
                    raise
                pending = [r for i, r in enumerate(pending) if i not in taken]
                continue
            new += len(pending)
            break
    return new


def _delivery(action_id: str, r: Recipient, now: datetime) -> Delivery:
    return Delivery(
        action_id,
        r.participant_id,
        phone=r.phone,
        language=r.language,
        channel=r.channel,
        distance_m=round(r.distance_m),
        claimed_at=now,
        alert_status="queued",
        expires=now + LEDGER_TTL,
    )


def _failed_positions(exc: TransactWriteError) -> set[int]:
    return {
        i
        for i, reason in enumerate(exc.cancellation_reasons or [])
        if reason is not None and reason.code == "ConditionalCheckFailed"
    }


def load(action_id: str, participant_ids: Sequence[str]) -> list[Delivery]:
    """The ledger entries of these people for this action (consistent reads)."""
    keys = [(action_id, pid) for pid in participant_ids]
    found = {d.participant_id: d for d in Delivery.batch_get(keys, consistent_read=True)}
    return [found[pid] for pid in participant_ids if pid in found]


def start_sending(delivery: Delivery, kind: Kind) -> bool:
    """Move a queued message to `sending`; False if it is not ours to send (anymore).

    An alert may only start while its action is active; a result only to someone alerted.
    """
    try:
        if kind is Kind.ALERT:
            with transaction() as tx:
                tx.condition_check(Action, delivery.action_id, condition=Action.status == "active")
                tx.update(
                    delivery,
                    actions=[Delivery.alert_status.set("sending")],
                    condition=Delivery.alert_status == "queued",
                )
        else:
            delivery.update(
                actions=[Delivery.result_status.set("sending")],
                condition=(Delivery.result_status == "queued") & (Delivery.alert_status == "sent"),
            )
    except (TransactWriteError, UpdateError) as exc:
        if not _conditional_failure(exc):
            raise
        return False
    return True


def _conditional_failure(exc: TransactWriteError | UpdateError) -> bool:
    code = exc.cause_response_code
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException") and (
        not isinstance(exc, TransactWriteError) or bool(_failed_positions(exc))
    )


def finish_sending(delivery: Delivery, kind: Kind, message_id: str | None, now: datetime) -> None:
    """Record a sent (with the provider's id) or failed (no id) message and count it."""
    status, at, msg = _fields(kind)
    sent = message_id is not None
    counter = {
        (Kind.ALERT, True): Action.sent,
        (Kind.ALERT, False): Action.failed,
        (Kind.RESULT, True): Action.results_sent,
        (Kind.RESULT, False): Action.results_failed,
    }[kind, sent]
    updates = [status.set("sent" if sent else "failed"), at.set(now)]
    if sent:
        updates.append(msg.set(message_id))
    with transaction() as tx:
        tx.update(delivery, actions=updates, condition=status == "sending")
        tx.update(Action(delivery.action_id), actions=[counter.add(1)])


def release(delivery: Delivery, kind: Kind) -> None:
    """Put a message whose send was throttled back to `queued`, for a later retry."""
    status, _, _ = _fields(kind)
    delivery.update(actions=[status.set("queued")], condition=status == "sending")


def cancel_unsent_alert(delivery: Delivery) -> bool:
    """Cancel an alert still queued when its action closed; False if it moved on already."""
    try:
        with transaction() as tx:
            tx.update(
                delivery,
                actions=[Delivery.alert_status.set("cancelled")],
                condition=Delivery.alert_status == "queued",
            )
            tx.update(Action(delivery.action_id), actions=[Action.cancelled.add(1)])
    except TransactWriteError as exc:
        if not _failed_positions(exc):
            raise
        return False
    return True


def skip_result(delivery: Delivery) -> None:
    """Drop a queued result for someone whose alert was never sent."""
    try:
        delivery.update(
            actions=[Delivery.result_status.set("skipped")],
            condition=(Delivery.result_status == "queued")
            & Delivery.alert_status.is_in("failed", "cancelled"),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _fields(kind: Kind) -> tuple[UnicodeAttribute, UTCDateTimeAttribute, UnicodeAttribute]:
    if kind is Kind.ALERT:
        return Delivery.alert_status, Delivery.alert_at, Delivery.alert_message_id
    return Delivery.result_status, Delivery.result_at, Delivery.result_message_id


def ledger(action_id: str) -> Iterator[Delivery]:
    """Every delivery of an action, page by page."""
    yield from Delivery.query(action_id, consistent_read=True)


def queue_result(delivery: Delivery) -> bool:
    """Mark an alerted person's result as queued; True if it is (now or already) queued."""
    if delivery.result_status == "queued":
        return True  # queued by an earlier run that crashed before enqueueing: enqueue again
    if delivery.result_status is not None or delivery.alert_status not in ("sent", "sending"):
        return False
    try:
        delivery.update(
            actions=[Delivery.result_status.set("queued")],
            condition=Delivery.result_status.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True
