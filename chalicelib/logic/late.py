"""Messages an alert missed while it was not (knowably) sent: the updates posted meanwhile, and
the result if its action closed. Queued by whoever learns the alert went out: its sender, or a
receipt that settles an ambiguous alert (logic/receipts.py, logic/calls.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.records import DeliveryRecord
from chalicelib.domain.model import ActionStatus, Channel, Kind
from chalicelib.logic.work import enqueue_by_channel
from chalicelib.queues import WorkQueue


def messages_for_late_alerts(
    action_id: str, alerted: Sequence[DeliveryRecord], queues: Mapping[Channel, WorkQueue]
) -> None:
    """Queue the updates and the result that these alerts, just sent, went out too late for.

    An update's or the results' pass may have read these people's deliveries before their
    alerts were sent; queueing is conditional per delivery, so whoever comes second does nothing.
    """
    action = action_store.get_action(action_id)
    for update in action.updates:
        uid = update.update_id
        late = [d for d in alerted if ledger.queue_update(d, uid)]
        enqueue_by_channel(queues, Kind.UPDATE, action_id, late, update_id=uid)
    if action.status is ActionStatus.CLOSED:
        late = [d for d in alerted if ledger.queue_result(d)]
        enqueue_by_channel(queues, Kind.RESULT, action_id, late)
