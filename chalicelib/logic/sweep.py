"""The every-minute sweep: expire actions, re-drive stalled fan-out, redact old free text, and
count what operations alarm on (late targeting, dead-lettered messages)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypedDict

from chalicelib.dal import actions as action_store
from chalicelib.dal import devices
from chalicelib.dal.records import ActionRecord
from chalicelib.domain.errors import Conflict
from chalicelib.domain.metrics import Metric, Metrics
from chalicelib.domain.model import Channel, Fanout, Outcome, Stage, iso
from chalicelib.logic import receipts, social
from chalicelib.logic.actions import enqueue
from chalicelib.logic.photos import PhotoShelf, take_back_all
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue

# The sweep re-drives fan-out that shows no progress after this long (the enqueue was lost),
# and any fan-out still pending after the targeting queue's visibility timeout (a crashed run).
REDRIVE_IDLE = timedelta(minutes=2)
REDRIVE_STUCK = timedelta(minutes=16)
SWEEPER = "sweeper"  # who closed an action that ran out of time
# An action still waiting for its targeting this long after its start is late (an alarm).
TARGETING_LATE_AFTER = timedelta(minutes=2)
# Actions redacted per run: a day's closes at most, so one run stays well inside its minute.
REDACT_PER_RUN = 50


class SweepReport(TypedDict):
    """What one run did."""

    expired: int  # actions closed because their time ran out
    redriven: int  # fan-out work enqueued again
    redacted: int  # closed actions whose free text was removed
    retried: int  # ambiguous alerts tried once more: no receipt came in time


def sweep(
    targeting: WorkQueue,
    now: datetime,
    keep_descriptions: timedelta,
    dead_letters: Sequence[WorkQueue],
    metrics: Metrics,
    posts: WorkQueue | None = None,
    shelf: PhotoShelf | None = None,
    senders: Mapping[Channel, WorkQueue] | None = None,
) -> SweepReport:
    """Close actions past their time, re-enqueue stalled fan-out, try ambiguous alerts with no
    receipt once more (`senders`: each channel's queue), redact old closed actions, and publish
    what operations alarm on: late targeting and dead-lettered messages."""
    expired = 0
    redriven = 0
    for action in action_store.active_actions():
        if action.expires_at <= iso(now):
            try:
                action_store.close_action(action.action_id, Outcome.EXPIRED, None, now, SWEEPER)
            except Conflict:
                continue  # an overlapping run or a dispatcher closed it first
            log_event("action_expired", action_id=action.action_id)
            enqueue(targeting, Fanout.RESULTS, action.action_id, trace=action.trace_header)
            if action.public:
                social.enqueue(posts, action.action_id, Stage.RESULT)
            expired += 1
            continue
        redriven += _redrive_updates(action, targeting, now)
    for action_id, kind in action_store.pending_action_ids():
        action = action_store.get_action(action_id)
        if _stalled(action, kind, now):
            log_event("fanout_redriven", action_id=action_id, kind=kind)
            enqueue(targeting, kind, action_id, trace=action.trace_header)
            redriven += 1
    retried = receipts.reconcile(now, senders).retried if senders is not None else 0
    redacted = redact(now, keep_descriptions, shelf, posts)
    measure(now, dead_letters, metrics)  # last: the sweep's own work never waits on it
    return SweepReport(expired=expired, redriven=redriven, redacted=redacted, retried=retried)


def measure(now: datetime, dead_letters: Sequence[WorkQueue], metrics: Metrics) -> None:
    """Publish, every run, how many actions are late in targeting and what each DLQ holds.

    Zeros too: an alarm then sees a steady series, and missing data means the sweep stopped.
    """
    late = action_store.late_targeting(now - TARGETING_LATE_AFTER)
    metrics.publish({Metric.TARGETING_LATE: late})
    for queue in dead_letters:
        metrics.publish({Metric.DEAD_LETTERED: queue.waiting()}, dimension=("Queue", queue.name))


def redact(
    now: datetime,
    keep: timedelta,
    shelf: PhotoShelf | None = None,
    posts: WorkQueue | None = None,
) -> int:
    """Remove the free text of actions closed more than `keep` ago, and of their sightings, and
    take back what was published of them: every photo (files deleted, CDN paths invalidated) and
    every social post (deleted by the social poster).

    The sparse redaction index holds only closed actions that still have text, so a run reads
    nothing else. All the rest goes first, each step safe to repeat: if the run stops half-way,
    or S3, the CDN or the queue fails, the action stays due and the next run tries again.
    """
    redacted = 0
    for action_id in action_store.due_for_redaction(now - keep, REDACT_PER_RUN):
        try:
            devices.strip_sighting_texts(action_id)
            _take_back(action_id, shelf, posts)
        except Exception as exc:  # one action's outage must not hold up the others, nor expiry
            log_event("redaction_postponed", action_id=action_id, error=type(exc).__name__)
            continue
        if action_store.redact(action_id, now):
            log_event("action_redacted", action_id=action_id)
            redacted += 1
    return redacted


def _take_back(action_id: str, shelf: PhotoShelf | None, posts: WorkQueue | None) -> None:
    """Take back the action's photos and ask for its posts to be deleted."""
    action = action_store.get_action(action_id)
    if shelf is not None:
        take_back_all(action_id, action.photo, shelf)
    if action_store.made_posts(action):
        if posts is None:  # posted once, but no network is configured now: say so
            log_event("social_take_back_impossible", action_id=action_id)
        social.enqueue_take_back(posts, action_id)


def _redrive_updates(action: ActionRecord, targeting: WorkQueue, now: datetime) -> int:
    """Re-enqueue the fan-out of updates not yet queued a while after they were posted (a lost
    enqueue, or a crashed run); a second fan-out of one update sends nobody anything twice."""
    redriven = 0
    for update in action.updates:
        if not update.queued and now - datetime.fromisoformat(update.at) >= REDRIVE_IDLE:
            log_event("fanout_redriven", action_id=action.action_id, kind=Fanout.UPDATE)
            enqueue(
                targeting,
                Fanout.UPDATE,
                action.action_id,
                update.update_id,
                trace=action.trace_header,
            )
            redriven += 1
    return redriven


def _stalled(action: ActionRecord, kind: Fanout, now: datetime) -> bool:
    since = action.created_at if kind is Fanout.TARGET else (action.closed_at or action.created_at)
    if kind is Fanout.TARGET:
        progress = int(action.targeted)
    else:
        progress = int(action.results_sent + action.results_failed + action.results_unknown)
    age = now - datetime.fromisoformat(since)
    return age >= (REDRIVE_STUCK if progress else REDRIVE_IDLE)
