"""Middleware of every handler: the lines it logs carry the ids of its invocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.logs import invocation, log_context


def invocation_ids(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Handle `event` with its function name and Lambda request id on every log line (the SQS
    handlers add each message's action id)."""
    # A route's request holds its Lambda context as `lambda_context`; every other event as
    # `context`.
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    with log_context(**invocation(lambda_context)):
        return get_response(event)
