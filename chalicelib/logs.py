"""Structured logs: one JSON object a line, with ids and counts only (no personal data).

Every line also carries the ids of where it was written (the Lambda function, its request id and,
once known, the action), set once at the handler's entry, so a search for one action or one
invocation finds all of its lines without each call passing them on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# A child of chalice's app logger ("burgernet"): records reach its stdout handler (CloudWatch in
# Lambda) whatever level chalice gives the app logger (ERROR unless app.debug).
logger = logging.getLogger("burgernet.events")
logger.setLevel(logging.INFO)

# Per thread and per asyncio task, so the local runner's handlers, each in its own thread, and
# chalice's local server never see each other's ids.
_context: ContextVar[dict[str, str] | None] = ContextVar("burgernet_log_context", default=None)


def log_event(event: str, level: int = logging.INFO, **fields: str | int | float | None) -> None:
    """Log one event; callers pass ids, counts and codes, never phone numbers or addresses."""
    ids = _context.get() or {}
    logger.log(level, json.dumps({"event": event, **ids, **fields}, sort_keys=True))


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Add these ids (None: not known, left out) to every line logged inside the block."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def invocation(lambda_context: Any) -> dict[str, str | None]:
    """The ids of a Lambda invocation, from its context object (None where there is none)."""
    return {
        "function_name": getattr(lambda_context, "function_name", None),
        "request_id": getattr(lambda_context, "aws_request_id", None),
    }
