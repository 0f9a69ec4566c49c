"""Starting, reading and closing actions: what the dispatch API does."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dal import actions as store
from chalicelib.dal import municipalities
from chalicelib.dal.models import Action, ActionUpdate
from chalicelib.dal.participants import places_in
from chalicelib.domain import messages
from chalicelib.domain.geo.geojson import to_geojson
from chalicelib.domain.geo.shapes import Circle, Shape
from chalicelib.domain.model import iso
from chalicelib.domain.requests import ActionRequest, CloseRequest
from chalicelib.logic import social
from chalicelib.logs import log_event
from chalicelib.queues import QueueError, WorkQueue
from chalicelib.tracing import annotate, trace_header, traced, within

# Unambiguous when read aloud or typed from an SMS: no 0/O, 1/I/L.
REF_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


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
) -> Action:
    """Store a new action and enqueue its targeting (and its post, if public); a retried request
    returns the first action."""
    action_id = str(uuid.uuid4())
    action = Action(
        action_id,
        ref=new_ref(),
        incident=request.incident.value,
        description=request.description,
        **store.area_fields(request.area),
        channels=[c.value for c in request.channels],
        public=request.public,
        exercise=request.exercise,
        place=request.place or municipalities.name_at(*request.area.centre),
        bulletins=[store.bulletin(action_id, "start", now)],
        status="active",
        created_by=caller,
        created_at=iso(now),
        expires_at=iso(now + timedelta(minutes=request.duration_minutes)),
        pending="target",  # the counters start at their defaults, 0
    )
    key = f"{caller}#{idempotency_key}" if idempotency_key else None
    fingerprint = hashlib.sha256(request.fingerprint().encode()).hexdigest()
    with traced("start_action", incident=action.incident):
        action.trace_header = trace_header()  # the trace the action's work will all be part of
        stored = store.insert_action(action, key, fingerprint, now)
        annotate(action_id=stored.action_id, ref=stored.ref)
    if stored is action:
        log_event(
            "action_started",
            action_id=action.action_id,
            incident=action.incident,
            area=type(request.area).__name__,  # Circle, Polygon or Corridor; never coordinates
            radius_m=request.area.radius_m if isinstance(request.area, Circle) else None,
        )
        enqueue(targeting, "target", action.action_id, trace=action.trace_header)
        if action.public:
            social.enqueue(posts, action.action_id, "start")
    return stored


def close_action(
    action_id: str,
    request: CloseRequest,
    caller: str,
    targeting: WorkQueue,
    now: datetime,
    posts: WorkQueue | None = None,
) -> Action:
    """Close an active action and enqueue its result messages (and its result post, if public)."""
    with traced("close_action", action_id=action_id, outcome=request.outcome.value):
        action = store.close_action(action_id, request.outcome.value, request.message, now, caller)
        annotate(ref=action.ref, incident=action.incident)
    log_event("action_closed", action_id=action_id, outcome=request.outcome.value)
    enqueue(targeting, "results", action_id, trace=action.trace_header)
    if action.public:
        social.enqueue(posts, action_id, "result")
    return action


def enqueue(
    targeting: WorkQueue,
    kind: str,
    action_id: str,
    update_id: str | None = None,
    trace: str | None = None,
) -> None:
    """Hand fan-out work to the targeting queue, in the action's `trace` (Action.trace_header).

    The action is already stored with its work outstanding (`pending`, or an update not yet
    queued), so if SQS is unreachable now the scheduled sweep enqueues it a little later: the
    caller still gets its answer, and nothing is lost.
    """
    work = {"kind": kind, "action_id": action_id}
    if update_id is not None:
        work["update_id"] = update_id
    try:
        with within(trace):
            targeting.send([work])
    except (QueueError, ClientError, BotoCoreError) as exc:
        log_event("enqueue_deferred", action_id=action_id, kind=kind, error=type(exc).__name__)


def reach(area: Shape) -> int:
    """How many people an action in this area would alert now."""
    return len(places_in(area))


def list_actions(status: str, limit: int, page: str | None) -> dict[str, Any]:
    """A page of actions with a status, newest first, as the dispatch API shows them."""
    found, next_page = store.list_actions(status, limit, page)
    return {"actions": [action_view(a) for a in found], "next": next_page}


def get_action(action_id: str) -> dict[str, Any]:
    """One action with its live counts."""
    return action_view(store.get_action(action_id))


def area_view(area: Shape) -> dict[str, Any]:
    """An area as the dispatch API shows it: a circle's centre and radius, or the geometry sent."""
    if isinstance(area, Circle):
        return {"lat": area.lat, "lon": area.lon, "radius_m": area.radius_m}
    return to_geojson(area)


def action_view(action: Action) -> dict[str, Any]:
    """The action as the dispatch API shows it."""
    targeted = int(action.targeted)
    done = int(action.sent) + int(action.failed) + int(action.cancelled) + int(action.unknown)
    return {
        "action_id": action.action_id,
        "ref": action.ref,
        "status": action.status,
        "incident": action.incident,
        "description": action.description,
        "area": area_view(store.area_of(action)),
        "channels": list(action.channels),
        "public": bool(action.public),
        "exercise": bool(action.exercise),
        "place": action.place,
        "photo": _photo(action),
        "created_by": action.created_by,
        "created_at": action.created_at,
        "expires_at": action.expires_at,
        "closed_at": action.closed_at,
        "outcome": action.outcome,
        "result_message": action.result_message,
        "redacted_at": action.redacted_at,  # free text removed KEEP_DESCRIPTIONS_DAYS after close
        "targeting": "pending" if action.pending == "target" else "done",
        "counts": {
            "targeted": targeted,
            "queued": max(0, targeted - done),
            "sent": int(action.sent),
            "failed": int(action.failed),
            "cancelled": int(action.cancelled),
            "unknown": int(action.unknown),
            "results_sent": int(action.results_sent),
            "results_failed": int(action.results_failed),
            "results_unknown": int(action.results_unknown),
        },
        "updates": [_update_view(u) for u in action.updates],
    }


def _update_view(update: ActionUpdate) -> dict[str, Any]:
    """An update as the dispatch API shows it, with how its messages went."""
    return {
        "update_id": update.update_id,
        "at": update.at,
        "message": update.message,
        "description": update.description,
        "queued": bool(update.queued),  # all its messages handed to the senders
        "counts": {
            "sent": int(update.sent),
            "failed": int(update.failed),
            "unknown": int(update.unknown),
        },
    }


def _photo(action: Action) -> dict[str, str] | None:
    """The public URLs of the action's photo at its two sizes, if it has one."""
    return {"large": action.photo.large, "small": action.photo.small} if action.photo else None
