"""The way back: which action a caller on the callback number is most likely calling about.

The answer becomes contact attributes for the dispatcher's screen; the inbound flow never speaks
them. A caller's number can be spoofed, so nothing here may change what the caller hears.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

from chalicelib.adapters.connect import caller_of
from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries, municipalities, ratelimits
from chalicelib.domain.errors import DomainError, NotFound, TooManyRequests
from chalicelib.domain.model import ActionStatus
from chalicelib.domain.outlines import municipality_at
from chalicelib.domain.phones import normalise
from chalicelib.logs import log_event

RECENT = timedelta(hours=12)  # alerts older than this no longer route a call
# Look-ups per calling number: a caller with news calls back a few times; a script hammering
# the line from one (spoofed) number goes to the general queue and costs no look-up.
LOOKUPS_PER_WINDOW = 5
WINDOW_S = 3600


class CallerRoute(TypedDict):
    """Where a call goes, and the action's context for the dispatcher's screen.

    Every answer has the same keys: the flow copies each into a contact attribute.
    """

    queue: str  # dispatch | general
    action_ref: str
    incident: str
    municipality: str
    action_status: str


GENERAL = CallerRoute(
    queue="general", action_ref="", incident="", municipality="", action_status=""
)


def route_caller(invocation: Mapping[str, Any], now: datetime) -> CallerRoute:
    """Contact attributes for the inbound flow's Lambda invocation: the dispatch queue with the
    action's context, or the general queue for unknown, withheld or too frequent numbers.

    Only a keyed hash of the number is used, and the number is never logged.
    """
    try:
        phone = normalise(caller_of(invocation) or "")
    except DomainError:
        return GENERAL.copy()
    try:
        ratelimits.hit("callback", phone, LOOKUPS_PER_WINDOW, WINDOW_S, now, "too_many_calls")
    except TooManyRequests:
        log_event("callback_routed", queue="general", reason="rate_limited")
        return GENERAL.copy()
    candidates = []
    for action_id in deliveries.alerted_actions(phone, now - RECENT):
        try:
            candidates.append(action_store.get_action(action_id))
        except NotFound:
            continue
    if not candidates:
        log_event("callback_routed", queue="general")
        return GENERAL.copy()
    action = next((a for a in candidates if a.status == ActionStatus.ACTIVE), candidates[0])
    municipality = municipality_at(municipalities.areas(), float(action.lat), float(action.lon))
    log_event("callback_routed", queue="dispatch", action_id=action.action_id)
    return CallerRoute(
        queue="dispatch",
        action_ref=action.ref,
        incident=action.incident,
        municipality=municipality or "",
        action_status=action.status,
    )
