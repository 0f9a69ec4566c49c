"""The Lambda the inbound contact flow on the callback number (0800-0011) invokes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint

from chalicelib.handlers.http import wired
from chalicelib.logic.callbacks import CallerRoute, route_caller

callbacks = Blueprint(__name__)


@callbacks.lambda_function(name="callback_router")
@wired
def callback_router(event: dict[str, Any], context: Any) -> CallerRoute:
    """Connect's Lambda invocation in, flat string attributes out (Connect's required shape)."""
    return route_caller(event, datetime.now(UTC))
