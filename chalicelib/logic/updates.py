"""Updates during an action: a dispatcher corrects or sharpens what to look out for, and
everyone already alerted hears it once, on the channel that alerted them."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.dal import actions as action_store
from chalicelib.domain.model import Fanout, Incident, Stage
from chalicelib.domain.requests import parse_update_request
from chalicelib.logic import social
from chalicelib.logic.actions import enqueue
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue
from chalicelib.tracing import traced


def post_update(
    action_id: str,
    body: Mapping[str, Any],
    callback_number: str,
    targeting: WorkQueue,
    now: datetime,
    posts: WorkQueue | None = None,
    *,
    caller: str = "local",
    idempotency_key: str | None = None,
) -> str:
    """Validate and store an update of an active action, and queue its fan-out (and its post,
    if public); its id. A retried request (same caller, key and body) returns the first id and
    queues nothing again."""
    action = action_store.get_action(action_id)  # NotFound before anything is judged
    request = parse_update_request(body, Incident(action.incident), callback_number)
    # Its own prefix: an update's key never meets a POST /actions key (caller#key).
    key = f"update#{caller}#{idempotency_key}" if idempotency_key else None
    fingerprint = json.dumps([action_id, request.message, request.description])
    with traced("post_update", action_id=action_id, ref=action.ref, incident=action.incident):
        update_id, new = action_store.add_update(
            action_id,
            str(uuid.uuid4()),
            request.message,
            request.description,
            now,
            idempotency_key=key,
            request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        )
    if not new:
        return update_id  # queued by the first request (or re-driven by the sweep)
    log_event("update_posted", action_id=action_id, update_id=update_id)
    enqueue(targeting, Fanout.UPDATE, action_id, update_id, trace=action.trace_header)
    if action.public:
        social.enqueue(posts, action_id, Stage.UPDATE, update_id)
    return update_id
