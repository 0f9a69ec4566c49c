"""Storage of actions and their idempotency keys."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dal.models import Action, Idempotency
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.model import iso

IDEMPOTENCY_TTL = timedelta(hours=24)


def insert_action(
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
        earlier = Idempotency.get(idempotency_key, consistent_read=True)
        if earlier.request_hash != request_hash:
            raise Conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request; use a new key "
                "for a new action.",
            ) from None
        return get_action(earlier.action_id)
    return action


def _key_taken(exc: TransactWriteError) -> bool:
    reasons = exc.cancellation_reasons or []
    return bool(reasons) and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed"


def get_action(action_id: str) -> Action:
    """The action with this id, read consistently, or NotFound."""
    try:
        return Action.get(action_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("action_not_found", f"There is no action {action_id!r}.") from None


def list_actions(status: str, limit: int, page: str | None) -> tuple[list[Action], str | None]:
    """One page of actions with this status, newest first, and the token of the next page."""
    results = Action.status_index.query(
        status,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=_decode_page(page, status),
    )
    actions = list(results)
    last = results.last_evaluated_key
    return actions, (_encode_page(last) if last else None)


def _encode_page(key: dict[str, Any]) -> str:
    # Only the two values that locate the page: the status is the query's own.
    values = [key["action_id"]["S"], key["created_at"]["S"]]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode_page(token: str | None, status: str) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        values = None
    if not (
        isinstance(values, list)
        and len(values) == 2
        and all(isinstance(v, str) and 0 < len(v) <= 64 for v in values)
    ):
        raise InvalidInput(
            "invalid_page_token", "next must be a token from an earlier page's response.", "next"
        )
    action_id, created_at = values
    return {
        "action_id": {"S": action_id},
        "status": {"S": status},
        "created_at": {"S": created_at},
    }


def close_action(action_id: str, outcome: str, message: str | None, now: datetime) -> Action:
    """Close an active action and mark its result messages as outstanding; Conflict if closed."""
    action = get_action(action_id)
    try:
        action.update(
            actions=[
                Action.status.set("closed"),
                Action.outcome.set(outcome),
                Action.result_message.set(message) if message else Action.result_message.remove(),
                Action.closed_at.set(iso(now)),
                Action.pending.set("results"),
            ],
            condition=Action.status == "active",
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict(
            "action_closed", f"Action {action_id!r} is already closed; it cannot be closed again."
        ) from None
    return action


def active_actions() -> list[Action]:
    """Every active action (a few dozen at most: actions last at most eight hours)."""
    return list(Action.status_index.query("active"))


def pending_action_ids() -> list[tuple[str, str]]:
    """(action id, pending work) for every action whose fan-out is outstanding."""
    found: list[tuple[str, str]] = []
    for kind in ("target", "results"):
        found.extend((a.action_id, kind) for a in Action.pending_index.query(kind))
    return found


def finish_pending(action_id: str, kind: str) -> None:
    """Mark an action's outstanding fan-out of `kind` as done (no-op if it moved on)."""
    try:
        Action(action_id).update(
            actions=[Action.pending.remove()], condition=Action.pending == kind
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
