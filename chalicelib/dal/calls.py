"""The ledger's calls: the call a delivery placed, the line it holds, and how it went.

A call is recorded sent when Connect takes it; its contact events (found by contact id, or by
the reference a call was placed with) then free its line and tell how it went.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.dal.deliveries import (
    add_counts,
    finish_sending,
    ledger_item,
    ledger_key,
    settle_ambiguous_alert,
)
from chalicelib.dal.models import Delivery
from chalicelib.dal.records import DeliveryRecord
from chalicelib.domain.model import CallOutcome, DeliveryStatus, Kind


def finish_call(
    delivery: DeliveryRecord,
    kind: Kind,
    contact_id: str,
    line: int,
    now: datetime,
    update_id: str | None = None,
) -> None:
    """Record a placed call (sent, for now: its outcome follows from Connect's contact events)."""
    call: list[Action] = [
        Delivery.contact_id.set(contact_id),
        Delivery.contact_kind.set(kind),
        Delivery.voice_line.set(line),
    ]
    if kind is Kind.ALERT:
        call.append(Delivery.voice_attempts.add(1))
    finish_sending(
        delivery, kind, DeliveryStatus.SENT, now, contact_id, also=call, update_id=update_id
    )


def settle_placed_call(delivery: DeliveryRecord, before: DeliveryStatus, contact_id: str) -> bool:
    """An alert call whose start ended ambiguously was placed after all (Connect's contact event
    says so): sent, recorded as finish_call would have; False if it moved on meanwhile."""
    call: list[Action] = [
        Delivery.contact_id.set(contact_id),
        Delivery.contact_kind.set(Kind.ALERT),
        Delivery.voice_attempts.add(1),
    ]
    return settle_ambiguous_alert(delivery, before, DeliveryStatus.SENT, contact_id, also=call)


def by_contact(contact_id: str) -> Delivery | None:
    """The delivery whose latest call has this Connect contact id."""
    hit = next(iter(Delivery.by_contact.query(contact_id)), None)
    if hit is None:
        return None
    return Delivery.get(hit.ledger_key, hit.participant_id, consistent_read=True)


def forget_line(delivery: DeliveryRecord) -> None:
    """The delivery's call has ended: it holds no line any more."""
    ledger_item(delivery).update(actions=[Delivery.voice_line.remove()])


def by_reference(reference: str) -> Delivery | None:
    """The delivery a call's reference names (`action:participant:message:attempt`)."""
    parts = reference.split(":")
    if len(parts) < 2 or not all(parts[:2]):
        return None
    try:
        return Delivery.get(ledger_key(parts[0], parts[1]), parts[1], consistent_read=True)
    except Delivery.DoesNotExist:
        return None


def record_call_outcome(delivery: DeliveryRecord, outcome: CallOutcome) -> None:
    """Note how the call went (answered, no_answer, busy, failed) and free its line."""
    actions: list[Action] = [Delivery.voice_line.remove()]
    if delivery.contact_kind is Kind.ALERT:
        actions.append(Delivery.alert_outcome.set(outcome.value))
    ledger_item(delivery).update(actions=actions)


def requeue_unanswered_alert(delivery: DeliveryRecord) -> bool:
    """Put an unanswered alert call back in the queue once; False if it had its second try."""
    try:
        ledger_item(delivery).update(
            actions=[Delivery.alert_status.set(DeliveryStatus.QUEUED)],
            condition=(Delivery.alert_status == DeliveryStatus.SENT)
            & (Delivery.voice_attempts < 2),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    add_counts(delivery.action_id, sent=-1)
    return True
