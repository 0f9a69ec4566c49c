"""The every-minute sweep: expire actions past their time and re-drive stalled fan-out."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.dal import actions as store
from chalicelib.dal.models import Action
from chalicelib.domain.errors import Conflict
from chalicelib.domain.model import Outcome, iso
from chalicelib.logic.actions import enqueue
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue

# The sweep re-drives fan-out that shows no progress after this long (the enqueue was lost),
# and any fan-out still pending after the targeting queue's visibility timeout (a crashed run).
REDRIVE_IDLE = timedelta(minutes=2)
REDRIVE_STUCK = timedelta(minutes=16)


def sweep(targeting: WorkQueue, now: datetime) -> dict[str, int]:
    """Close the actions past their time, and re-enqueue targeting or results that stalled."""
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
    if kind == "target":
        progress = int(action.targeted)
    else:
        progress = int(action.results_sent + action.results_failed + action.results_unknown)
    age = now - datetime.fromisoformat(since)
    return age >= (REDRIVE_STUCK if progress else REDRIVE_IDLE)
