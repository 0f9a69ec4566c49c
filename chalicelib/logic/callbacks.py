"""The way back: which action a caller on the callback number is most likely calling about."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.dal import actions as store
from chalicelib.dal import municipalities
from chalicelib.dal.models import Delivery
from chalicelib.domain.areas import locate
from chalicelib.domain.errors import DomainError, NotFound
from chalicelib.domain.phones import lookup_hash, normalise
from chalicelib.logs import log_event

RECENT = timedelta(hours=12)  # alerts older than this no longer route a call
GENERAL = {"queue": "general", "action_ref": "", "incident": "", "municipality": ""}


def route_caller(caller: str | None, now: datetime) -> dict[str, str]:
    """Contact attributes for the inbound flow: the dispatch queue with the action's context,
    or the general queue for unknown or withheld numbers. Only a hash of the number is used."""
    try:
        phone = normalise(caller or "")
    except DomainError:
        return dict(GENERAL)
    alerts = Delivery.by_caller.query(
        lookup_hash(phone),
        Delivery.claimed_at >= now - RECENT,
        scan_index_forward=False,  # newest first
    )
    candidates = []
    for alert in alerts:
        try:
            candidates.append(store.get_action(alert.action_id))
        except NotFound:
            continue
    if not candidates:
        log_event("callback_routed", queue="general")
        return dict(GENERAL)
    action = next((a for a in candidates if a.status == "active"), candidates[0])
    municipality = locate(municipalities.areas(), float(action.lat), float(action.lon))
    log_event("callback_routed", queue="dispatch", action_id=action.action_id)
    return {
        "queue": "dispatch",
        "action_ref": action.ref,
        "incident": action.incident,
        "municipality": municipality or "",
        "action_status": action.status,
    }
