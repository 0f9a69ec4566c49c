"""Starting, reading and closing actions: what the dispatch API does."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypedDict

from chalicelib.dal import actions as action_store
from chalicelib.dal import municipalities
from chalicelib.dal.records import ActionRecord, PhotoRecord, UpdateRecord
from chalicelib.domain import messages
from chalicelib.domain.errors import Conflict
from chalicelib.domain.expected import (
    ChannelExpected,
    Rates,
    cut_off_by_channel,
    expect,
    incomplete,
)
from chalicelib.domain.expected import minutes_to_reach_all as minutes_for_all
from chalicelib.domain.geo.geojson import to_geojson
from chalicelib.domain.geo.shapes import Circle, Shape
from chalicelib.domain.model import (
    ActionStatus,
    Channel,
    Fanout,
    IfIncomplete,
    Incident,
    Outcome,
    Stage,
)
from chalicelib.domain.requests import MAX_DURATION, ActionRequest, CloseRequest, ReachRequest
from chalicelib.logic import social, targeting
from chalicelib.logs import log_event
from chalicelib.queues import QueueError, WorkQueue
from chalicelib.tracing import annotate, trace_header, traced, within

# Unambiguous when read aloud or typed from an SMS: no 0/O, 1/I/L.
REF_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Targeting(StrEnum):
    """Whether an action's targeting has finished, as the dispatch API shows it."""

    PENDING = "pending"
    DONE = "done"


class Counts(TypedDict):
    """An action's alerts and results, by how they stand."""

    targeted: int
    queued: int  # claimed, not yet settled
    sent: int
    failed: int
    cancelled: int
    unknown: int
    results_sent: int
    results_failed: int
    results_unknown: int


class UpdateCounts(TypedDict):
    """How an update's messages went."""

    sent: int
    failed: int
    unknown: int


class UpdateView(TypedDict):
    """An update as the dispatch API shows it."""

    update_id: str
    at: str
    message: str | None
    description: str | None
    queued: bool  # all its messages handed to the senders
    counts: UpdateCounts


class PhotoView(TypedDict):
    """The public URLs of an action's photo at its two sizes."""

    large: str
    small: str


class ActionView(TypedDict):
    """An action as the dispatch API shows it."""

    action_id: str
    ref: str
    status: ActionStatus
    incident: str
    description: str | None
    area: dict[str, Any]
    channels: list[str]
    public: bool
    exercise: bool
    place: str | None
    photo: PhotoView | None
    created_by: str
    created_at: str
    expires_at: str
    closed_at: str | None
    outcome: Outcome | None
    result_message: str | None
    redacted_at: str | None  # free text removed KEEP_DESCRIPTIONS_DAYS after close
    targeting: Targeting
    counts: Counts
    updates: list[UpdateView]


Expected = dict[str, ChannelExpected]  # by channel: people, seconds_to_last, cancelled


class Reach(TypedDict):
    """What POST /reach answers: who is inside, and what an action there would do."""

    participants: int  # people inside the area
    duration_minutes: int  # the duration `expected.*.cancelled` is counted at
    expected: Expected


class Started(NamedTuple):
    """A started (or retried) action, and what the dispatcher should expect of it."""

    action: ActionRecord
    expected: Expected


class ActionPage(TypedDict):
    """A page of actions, and the token of the next one (None on the last)."""

    actions: list[ActionView]
    next: str | None


def new_ref() -> str:
    """A short action reference for messages and the callback line."""
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(messages.REF_LENGTH))


def start_action(
    request: ActionRequest,
    caller: str,
    idempotency_key: str | None,
    targeting: WorkQueue,
    now: datetime,
    posts: WorkQueue | None = None,
) -> ActionRecord:
    """Store a new action and enqueue its targeting (and its post, if public); a retried request
    returns the first action."""
    place = request.place or municipalities.name_at(*request.area.centre)
    key = _key(caller, idempotency_key) if idempotency_key else None
    fingerprint = _fingerprint(request)
    with traced("start_action", incident=request.incident.value):
        action, new = action_store.create(
            request,
            action_id=str(uuid.uuid4()),
            ref=new_ref(),
            place=place,
            caller=caller,
            now=now,
            trace=trace_header(),  # the trace the action's work will all be part of
            idempotency_key=key,
            request_hash=fingerprint,
        )
        annotate(action_id=action.action_id, ref=action.ref)
    if new:
        log_event(
            "action_started",
            action_id=action.action_id,
            incident=action.incident,
            area=type(request.area).__name__,  # Circle, Polygon or Corridor; never coordinates
            radius_m=request.area.radius_m if isinstance(request.area, Circle) else None,
        )
        enqueue(targeting, Fanout.TARGET, action.action_id, trace=action.trace_header)
        if action.public:
            social.enqueue(posts, action.action_id, Stage.START)
    return action


def close_action(
    action_id: str,
    request: CloseRequest,
    caller: str,
    targeting: WorkQueue,
    now: datetime,
    posts: WorkQueue | None = None,
) -> ActionRecord:
    """Close an active action and enqueue its result messages (and its result post, if public)."""
    with traced("close_action", action_id=action_id, outcome=request.outcome.value):
        action = action_store.close_action(action_id, request.outcome, request.message, now, caller)
        annotate(ref=action.ref, incident=action.incident)
    log_event("action_closed", action_id=action_id, outcome=request.outcome.value)
    enqueue(targeting, Fanout.RESULTS, action_id, trace=action.trace_header)
    if action.public:
        social.enqueue(posts, action_id, Stage.RESULT)
    return action


def enqueue(
    targeting: WorkQueue,
    kind: Fanout,
    action_id: str,
    update_id: str | None = None,
    trace: str | None = None,
) -> None:
    """Hand fan-out work to the targeting queue, in the action's `trace` (its trace_header).

    The action is already stored with its work outstanding (`pending`, or an update not yet
    queued), so if SQS is unreachable now the scheduled sweep enqueues it a little later: the
    caller still gets its answer, and nothing is lost.
    """
    work = {"kind": kind.value, "action_id": action_id}
    if update_id is not None:
        work["update_id"] = update_id
    try:
        with within(trace):
            targeting.send([work])
    except QueueError as exc:
        log_event("enqueue_deferred", action_id=action_id, kind=kind, error=exc.cause)


def expectation(
    area: Shape,
    channels: tuple[Channel, ...],
    incident: Incident | None,
    duration_minutes: int,
    rates: Rates,
    now: datetime,
) -> tuple[int, Expected]:
    """How many people are inside the area, and, per channel, what an action there would do:
    the people targeting would alert, when the last of them is sent at the configured rates, and
    how many the duration would cut off."""
    # Any incident but a missing person keeps quiet hours: OTHER stands for all of them.
    chosen = incident or Incident.OTHER
    inside, recipients = targeting.recipients_in(area, [c.value for c in channels], chosen, now)
    waits: dict[Channel, list[float]] = {}
    for r in recipients:
        wait = (r.not_before - now).total_seconds() if r.not_before else 0.0
        waits.setdefault(Channel(r.channel), []).append(wait)
    return inside, expect(waits, rates, duration_minutes * 60)


def reach(request: ReachRequest, rates: Rates, now: datetime) -> Reach:
    """Who an action in this area would alert now, and when; sends and stores nothing."""
    inside, expected = expectation(
        request.area,
        request.channels,
        request.incident,
        request.duration_minutes,
        rates,
        now,
    )
    return Reach(participants=inside, duration_minutes=request.duration_minutes, expected=expected)


def start_told(
    request: ActionRequest,
    caller: str,
    idempotency_key: str | None,
    targeting_queue: WorkQueue,
    now: datetime,
    rates: Rates,
    posts: WorkQueue | None = None,
) -> Started:
    """Start an action (start_action) and say what to expect of it. With if_incomplete reject,
    an action that would cut people off is not started: Conflict reach_exceeds_duration, and
    nothing is stored, the key included, unless the key already started an action."""
    _, expected = expectation(
        request.area,
        request.channels,
        request.incident,
        request.duration_minutes,
        rates,
        now,
    )
    if request.if_incomplete is IfIncomplete.REJECT and incomplete(expected):
        earlier = (
            action_store.keyed_action(_key(caller, idempotency_key), _fingerprint(request))
            if idempotency_key
            else None
        )
        if earlier is None:
            raise _reach_exceeds_duration(request.duration_minutes, expected)
        return Started(earlier, expected)  # a retry of a request that did start it
    action = start_action(request, caller, idempotency_key, targeting_queue, now, posts)
    return Started(action, expected)


def _reach_exceeds_duration(duration_minutes: int, expected: Expected) -> Conflict:
    """The 409 that tells the dispatcher who would be cut off, and the duration that reaches
    them all."""
    cut_off = cut_off_by_channel(expected)
    needed = minutes_for_all(expected)
    per_channel = ", ".join(f"{channel} {n:,}" for channel, n in cut_off.items())
    advice = (
        f"{needed} minutes would reach everyone: start it with duration_minutes {needed}"
        if needed <= MAX_DURATION
        else f"reaching everyone takes {needed} minutes, more than the longest action "
        f"({MAX_DURATION}): narrow the area"
    )
    total = sum(cut_off.values())
    return Conflict(
        "reach_exceeds_duration",
        f"{total:,} {'person' if total == 1 else 'people'} could not be alerted within "
        f"{duration_minutes} "
        f"minutes ({per_channel}); {advice}, or send it with if_incomplete send. "
        "Nothing was started.",
        duration_minutes=duration_minutes,
        duration_minutes_needed=needed,
        expected=expected,
    )


def _key(caller: str, idempotency_key: str) -> str:
    """A caller's key: two control rooms may pick the same one."""
    return f"{caller}#{idempotency_key}"


def _fingerprint(request: ActionRequest) -> str:
    return hashlib.sha256(request.fingerprint().encode()).hexdigest()


def list_actions(status: str, limit: int, page: str | None) -> ActionPage:
    """A page of actions with a status, newest first, as the dispatch API shows them."""
    found, next_page = action_store.list_actions(ActionStatus(status), limit, page)
    return ActionPage(actions=[action_view(a) for a in found], next=next_page)


def get_action(action_id: str) -> ActionView:
    """One action with its live counts."""
    return action_view(action_store.get_action(action_id))


def area_view(area: Shape) -> dict[str, Any]:
    """An area as the dispatch API shows it: a circle's centre and radius, or the geometry sent."""
    if isinstance(area, Circle):
        return {"lat": area.lat, "lon": area.lon, "radius_m": area.radius_m}
    return to_geojson(area)


def action_view(action: ActionRecord) -> ActionView:
    """The action as the dispatch API shows it."""
    targeted = int(action.targeted)
    done = int(action.sent) + int(action.failed) + int(action.cancelled) + int(action.unknown)
    return ActionView(
        action_id=action.action_id,
        ref=action.ref,
        status=action.status,
        incident=action.incident,
        description=action.description,
        area=area_view(action_store.area_of(action)),
        channels=[str(c) for c in action.channels],
        public=bool(action.public),
        exercise=bool(action.exercise),
        place=action.place,
        photo=_photo(action.photo),
        created_by=action.created_by,
        created_at=action.created_at,
        expires_at=action.expires_at,
        closed_at=action.closed_at,
        outcome=action.outcome,
        result_message=action.result_message,
        redacted_at=action.redacted_at,
        targeting=Targeting.PENDING if action.pending is Fanout.TARGET else Targeting.DONE,
        counts=Counts(
            targeted=targeted,
            queued=max(0, targeted - done),
            sent=int(action.sent),
            failed=int(action.failed),
            cancelled=int(action.cancelled),
            unknown=int(action.unknown),
            results_sent=int(action.results_sent),
            results_failed=int(action.results_failed),
            results_unknown=int(action.results_unknown),
        ),
        updates=[_update_view(u) for u in action.updates],
    )


def _update_view(update: UpdateRecord) -> UpdateView:
    """An update as the dispatch API shows it, with how its messages went."""
    return UpdateView(
        update_id=update.update_id,
        at=update.at,
        message=update.message,
        description=update.description,
        queued=bool(update.queued),
        counts=UpdateCounts(
            sent=int(update.sent), failed=int(update.failed), unknown=int(update.unknown)
        ),
    )


def _photo(photo: PhotoRecord | None) -> PhotoView | None:
    """The public URLs of the action's photo at its two sizes, if it has one."""
    return PhotoView(large=photo.large, small=photo.small) if photo else None
