"""The Lambda the inbound contact flow on the callback number (0800-0011) invokes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint

from chalicelib.logic.callbacks import CallerRoute, route_caller
from chalicelib.runtime import runtime

callbacks = Blueprint(__name__)


@callbacks.lambda_function(name="callback_router")
def callback_router(event: dict[str, Any], context: Any) -> CallerRoute:
    """Connect's Lambda invocation in, flat string attributes out (Connect's required shape)."""
    runtime()
    contact = (event.get("Details") or {}).get("ContactData") or {}
    endpoint = contact.get("CustomerEndpoint") or {}
    caller = endpoint.get("Address") if endpoint.get("Type") == "TELEPHONE_NUMBER" else None
    return route_caller(caller, datetime.now(UTC))
