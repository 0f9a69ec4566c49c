"""Storage of actions and their idempotency keys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action as UpdateAction
from pynamodb.transactions import TransactWrite

from chalicelib.dal.models import Action, ActionUpdate, Bulletin, Idempotency, Photo
from chalicelib.dal.paging import decode_page, encode_page
from chalicelib.dal.records import ActionRecord, PhotoRecord
from chalicelib.domain.errors import Conflict, NotFound, ServiceUnavailable
from chalicelib.domain.geo.geojson import from_geojson, to_geojson
from chalicelib.domain.geo.shapes import Circle, Shape
from chalicelib.domain.model import ActionStatus, Channel, Fanout, Outcome, PostState, Stage, iso
from chalicelib.domain.photos import photo_too_late
from chalicelib.domain.requests import ActionRequest

IDEMPOTENCY_TTL = timedelta(hours=24)
PHOTO_WRITE_TRIES = 3  # uploads racing for one action: rare, and each try is one read + write
REDACTION_DUE = "due"  # the redaction index's only partition: closed, free text still kept
# What locates a page of the status index; the status itself is the query's own.
PAGE_KEY = ("action_id", "created_at")


def area_fields(area: Shape) -> dict[str, Any]:
    """How an action stores its area: the centre, and a radius or the GeoJSON geometry."""
    lat, lon = area.centre
    if isinstance(area, Circle):
        return {"lat": lat, "lon": lon, "radius_m": area.radius_m}
    return {"lat": lat, "lon": lon, "geometry": json.dumps(to_geojson(area))}


def area_of(action: ActionRecord) -> Shape:
    """The area an action stored."""
    if action.geometry is not None:
        return from_geojson(json.loads(action.geometry))
    return Circle(float(action.lat), float(action.lon), float(action.radius_m or 0))


def create(
    request: ActionRequest,
    *,
    action_id: str,
    ref: str,
    place: str | None,
    caller: str,
    now: datetime,
    trace: str | None,
    idempotency_key: str | None,
    request_hash: str,
) -> tuple[Action, bool]:
    """Store a new action, its targeting pending; with a key, the earlier action of a retried
    request instead. True if the action was stored now.

    `trace` is the trace the action's later work continues (an AWSTraceHeader value).
    """
    action = Action(
        action_id,
        ref=ref,
        incident=request.incident.value,
        description=request.description,
        **area_fields(request.area),
        channels=[c.value for c in request.channels],
        public=request.public,
        exercise=request.exercise,
        place=place,
        bulletins=[bulletin(Stage.START, now)],
        status=ActionStatus.ACTIVE,
        created_by=caller,
        created_at=iso(now),
        expires_at=iso(now + timedelta(minutes=request.duration_minutes)),
        pending=Fanout.TARGET,  # the counters start at their defaults, 0
        trace_header=trace,
    )
    stored = _insert(action, idempotency_key, request_hash, now)
    return stored, stored is action


def _insert(
    action: Action, idempotency_key: str | None, request_hash: str, now: datetime
) -> Action:
    """Store a new action; with a key, return the earlier action for a retried request instead.

    The key and the action are written in one transaction, so a crash leaves neither or both.
    """
    if idempotency_key is None:
        action.save(condition=Action.action_id.does_not_exist())
        return action
    record = Idempotency(
        idempotency_key,
        request_hash=request_hash,
        action_id=action.action_id,
        expires=now + IDEMPOTENCY_TTL,
    )
    try:
        with TransactWrite(connection=Action._get_connection().connection) as tx:
            tx.save(record, condition=Idempotency.key.does_not_exist())
            tx.save(action, condition=Action.action_id.does_not_exist())
    except TransactWriteError as exc:
        if not _key_taken(exc):
            raise
        earlier = keyed_action(idempotency_key, request_hash)
        if earlier is None:  # the key's record expired between the write and this read
            raise
        return earlier
    return action


def keyed_action(idempotency_key: str, request_hash: str) -> Action | None:
    """The action an earlier request with this key started, or None; Conflict if that request
    was a different one."""
    try:
        earlier = Idempotency.get(idempotency_key, consistent_read=True)
    except DoesNotExist:
        return None
    if earlier.request_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key "
            "for a new action.",
        ) from None
    return get_action(earlier.action_id)


def _key_taken(exc: TransactWriteError) -> bool:
    return _failed(exc, 0)


def _failed(exc: TransactWriteError, item: int) -> bool:
    """Whether the transaction's `item`-th write failed its condition."""
    reasons = exc.cancellation_reasons or []
    reason = reasons[item] if len(reasons) > item else None
    return reason is not None and reason.code == "ConditionalCheckFailed"


def get_action(action_id: str) -> Action:
    """The action with this id, read consistently, or NotFound."""
    try:
        return Action.get(action_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("action_not_found", f"There is no action {action_id!r}.") from None


def list_actions(
    status: ActionStatus, limit: int, page: str | None
) -> tuple[list[Action], str | None]:
    """One page of actions with this status, newest first, and the token of the next page."""
    results = Action.status_index.query(
        status,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=decode_page(page, PAGE_KEY, {"status": status}),
    )
    actions = list(results)
    last = results.last_evaluated_key
    return actions, (encode_page(last, PAGE_KEY) if last else None)


def close_action(
    action_id: str, outcome: Outcome, message: str | None, now: datetime, by: str
) -> Action:
    """Close an active action and mark its result messages as outstanding; Conflict if closed."""
    action = get_action(action_id)
    try:
        action.update(
            actions=[
                Action.status.set(ActionStatus.CLOSED),
                Action.outcome.set(outcome),
                Action.result_message.set(message) if message else Action.result_message.remove(),
                Action.closed_at.set(iso(now)),
                Action.closed_by.set(by),
                Action.bulletins.set(Action.bulletins.append([bulletin(Stage.RESULT, now)])),
                Action.pending.set(Fanout.RESULTS),
                Action.redaction.set(REDACTION_DUE),  # enters the redaction index
            ],
            condition=Action.status == ActionStatus.ACTIVE,
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict(
            "action_closed", f"Action {action_id!r} is already closed; it cannot be closed again."
        ) from None
    return action


def add_update(
    action_id: str,
    update_id: str,
    message: str,
    description: str | None,
    now: datetime,
    *,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> tuple[str, bool]:
    """Append an update (and its public state) to an active action; a new description replaces
    the old one for the alerts still to go. Conflict if the action has closed.

    With a key, a retried request stores nothing and gets the first update's id instead. The
    update's id, and True if it was stored now.
    """
    update = ActionUpdate(
        update_id=update_id,
        at=iso(now),
        message=message,
        description=description,
    )
    changes: list[UpdateAction] = [
        Action.updates.set(Action.updates.append([update])),
        Action.bulletins.set(
            Action.bulletins.append([bulletin(Stage.UPDATE, now, update.update_id)])
        ),
    ]
    if description:
        changes.append(Action.description.set(description))
    active = Action.status == ActionStatus.ACTIVE
    if idempotency_key is None:
        try:
            Action(action_id).update(actions=changes, condition=active)
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise _closed(action_id) from None
        return update_id, True
    record = Idempotency(
        idempotency_key,
        request_hash=request_hash,
        action_id=action_id,
        update_id=update_id,
        expires=now + IDEMPOTENCY_TTL,
    )
    try:
        # The key and the update in one transaction, as for a new action: neither or both.
        with TransactWrite(connection=Action._get_connection().connection) as tx:
            tx.save(record, condition=Idempotency.key.does_not_exist())
            tx.update(Action(action_id), actions=changes, condition=active)
    except TransactWriteError as exc:
        if not _key_taken(exc):
            if _failed(exc, 1):
                raise _closed(action_id) from None
            raise
        earlier = Idempotency.get(idempotency_key, consistent_read=True)
        # The action is part of the request: the same key on another action is a reuse.
        if earlier.request_hash != request_hash or earlier.update_id is None:
            raise Conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request; use a new key "
                "for a new update.",
            ) from None
        return earlier.update_id, False
    return update_id, True


def _closed(action_id: str) -> Conflict:
    """The refusal of an update to an action that is closed (NotFound if there is none)."""
    get_action(action_id)
    return Conflict("action_closed", f"Action {action_id!r} is closed; it takes no more updates.")


def update_index(action: ActionRecord, update_id: str) -> int:
    """Where an update sits in the action's list of updates."""
    return next(i for i, u in enumerate(action.updates) if u.update_id == update_id)


def update_queued(action_id: str, index: int) -> None:
    """Note that an update's messages are all queued (the sweep re-drives it until then)."""
    Action(action_id).update(
        actions=[Action.updates[index][ActionUpdate.queued.attr_name].set(True)]
    )


def count_update(action_id: str, index: int, *, sent: int, failed: int, unknown: int) -> None:
    """Add a chunk's outcomes to an update's counters."""
    entry = Action.updates[index]
    counters = (
        (ActionUpdate.sent, sent),
        (ActionUpdate.failed, failed),
        (ActionUpdate.unknown, unknown),
    )
    changes: list[UpdateAction] = [
        entry[counter.attr_name].set(entry[counter.attr_name] + n) for counter, n in counters if n
    ]
    if changes:
        Action(action_id).update(actions=changes)


def set_photo(action_id: str, large: str, small: str) -> tuple[Action, PhotoRecord | None]:
    """Give an active action its photo's URLs; return it and the photo this replaced (None if it
    had none), so that one is taken back. Conflict if it closed.

    The write is conditional on the photo read before it: two uploads racing each learn exactly
    which photo they replaced, and no photo is ever replaced unseen (and left public).
    """
    for _ in range(PHOTO_WRITE_TRIES):
        action = get_action(action_id)
        before = action.photo
        replaced = None if before is None else Photo(large=before.large, small=before.small)
        unchanged = (
            Action.photo.does_not_exist() if before is None else Action.photo.large == before.large
        )
        try:
            action.update(
                actions=[Action.photo.set(Photo(large=large, small=small))],
                condition=(Action.status == ActionStatus.ACTIVE) & unchanged,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            if get_action(action_id).status is not ActionStatus.ACTIVE:
                raise photo_too_late(action_id) from None
            continue  # another photo landed meanwhile: read again, and replace that one
        return action, replaced
    raise ServiceUnavailable(
        "photo_unavailable", "Other photos were attached at the same moment; send it again."
    )


def bulletin(kind: Stage, now: datetime, update_id: str | None = None) -> Bulletin:
    """A new public state of an action: its start, an update or its result."""
    return Bulletin(
        sent=iso(now),
        kind=kind,
        update_id=update_id,
    )


def posted(action: Action, network: str, slot: str) -> str | None:
    """The id of the action's post for `slot` (start, an update id, result) on a network."""
    post_id = action.posts.as_dict().get(f"{network}:{slot}")
    return str(post_id) if post_id else None


def record_post(action_id: str, network: str, slot: str, post_id: str) -> str:
    """Store a post's id unless one is stored already, and return the id that stands."""
    key = f"{network}:{slot}"
    try:
        Action(action_id).update(
            actions=[Action.posts[key].set(post_id)], condition=Action.posts[key].does_not_exist()
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return posted(get_action(action_id), network, slot) or post_id
    return post_id


def post_state(action: Action, key: str) -> PostState:
    """Where a post of the ledger ("<network>:<slot>") stands; posted until it is taken back."""
    state = action.post_states.as_dict().get(key)
    return PostState(state) if state else PostState.POSTED


def made_posts(action: Action) -> dict[str, str]:
    """Every post the action's ledger holds: "<network>:<slot>" -> the network's post id."""
    return {str(key): str(post_id) for key, post_id in action.posts.as_dict().items() if post_id}


def record_post_state(action_id: str, key: str, state: PostState) -> None:
    """Note where a post stands; deleted is final (a late failure never writes over it)."""
    entry = Action.post_states[key]
    # An action stored before post states existed has no map to set an entry in: make it first.
    Action(action_id).update(actions=[Action.post_states.set(Action.post_states | {})])
    try:
        Action(action_id).update(
            actions=[entry.set(state.value)],
            condition=entry.does_not_exist() | (entry != PostState.DELETED.value),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def action_by_ref(ref: str) -> Action:
    """The action with this public reference, or NotFound."""
    for key in Action.ref_index.query(ref):
        return get_action(key.action_id)
    raise NotFound("action_not_found", f"There is no action with reference {ref!r}.")


def active_actions() -> list[Action]:
    """Every active action (a few dozen at most: actions last at most eight hours)."""
    return list(Action.status_index.query(ActionStatus.ACTIVE))


def closed_actions_created_since(since: datetime) -> list[Action]:
    """Closed actions started at or after `since`, oldest first (the public feed's recent past)."""
    return list(Action.status_index.query(ActionStatus.CLOSED, Action.created_at >= iso(since)))


def pending_action_ids() -> list[tuple[str, Fanout]]:
    """(action id, pending work) for every action whose fan-out is outstanding."""
    found: list[tuple[str, Fanout]] = []
    for kind in (Fanout.TARGET, Fanout.RESULTS):
        found.extend((a.action_id, kind) for a in Action.pending_index.query(kind))
    return found


def finish_pending(action_id: str, kind: Fanout, now: datetime) -> bool:
    """Mark an action's outstanding fan-out of `kind` as done, noting when targeting finished;
    False if it moved on already."""
    done: list[UpdateAction] = [Action.pending.remove()]
    if kind is Fanout.TARGET:
        done.append(Action.targeted_at.set(iso(now)))
    try:
        Action(action_id).update(actions=done, condition=Action.pending == kind)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def late_targeting(started_before: datetime) -> int:
    """How many actions started before this moment are still waiting for their targeting."""
    late = Action.pending_index.query(Fanout.TARGET, Action.created_at <= iso(started_before))
    return sum(1 for _ in late)


def record_first_alert(action: ActionRecord, channel: Channel, at: datetime) -> bool:
    """Record when the action's first alert on `channel` went out; False if one was recorded."""
    name = f"first_alert_{channel.value}"
    if getattr(action, name) is not None:
        return False  # already known when the action was read: no write
    attribute = getattr(Action, name)
    try:
        Action(action.action_id).update(
            actions=[attribute.set(iso(at))], condition=attribute.does_not_exist()
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def due_for_redaction(closed_before: datetime, limit: int) -> list[str]:
    """Ids of closed actions, oldest close first, that still hold free text past the cut-off."""
    keys = Action.redaction_index.query(
        REDACTION_DUE, Action.closed_at <= iso(closed_before), limit=limit
    )
    return [str(key.action_id) for key in keys]


def redact(action_id: str, now: datetime) -> bool:
    """Remove the action's free text (description, result message, updates' texts) and its
    photo; False if it was done already.

    Removing `redaction` takes it out of the sparse index, so it is never read again.
    """
    updates = get_action(action_id).updates  # closed: no update is added any more
    texts: list[UpdateAction] = [
        Action.updates[i][name].remove()
        for i in range(len(updates))
        for name in ("message", "description")
    ]
    try:
        Action(action_id).update(
            actions=[
                Action.description.remove(),
                Action.result_message.remove(),
                *texts,
                Action.photo.remove(),  # its files were taken back first (logic/sweep.py)
                Action.redaction.remove(),
                Action.redacted_at.set(iso(now)),
            ],
            condition=Action.redaction.exists(),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def refs(action_ids: Sequence[str]) -> dict[str, str]:
    """action id -> its short reference, for the actions that exist."""
    ids = list(dict.fromkeys(action_ids))
    if not ids:
        return {}
    found = Action.batch_get(ids, attributes_to_get=["action_id", "ref"])
    return {str(a.action_id): str(a.ref) for a in found}
