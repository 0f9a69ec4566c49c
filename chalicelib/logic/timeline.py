"""One action's life in time order, for cloud ops: built from the action and its ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.dal import actions as store
from chalicelib.dal import deliveries as ledger
from chalicelib.domain.model import Channel, Outcome, iso

# Events at the same second keep the order in which they happen to an action.
ORDER = (
    "started",
    "targeted",
    "first_alert",
    "last_alert",
    "throttled",
    "update_sent",
    "closed",
    "expired",
    "results_done",
)


def timeline(action_id: str) -> dict[str, list[dict[str, Any]]]:
    """The action's events, oldest first: started, targeted, first and last alert and throttling
    per channel, each update (posted, and how many it reached so far), closed (or expired),
    results done. Counts agree with the action's counters."""
    action = store.get_action(action_id)
    events = [_event(action.created_at, "started", detail={"incident": action.incident})]
    if action.targeted_at:
        took = _seconds(action.targeted_at) - _seconds(action.created_at)
        events.append(
            _event(
                action.targeted_at,
                "targeted",
                count=int(action.targeted),
                detail={"seconds": took},
            )
        )
    progress = ledger.progress(action_id)
    for channel in Channel:
        p = progress.get(channel.value)
        if p is not None and p.first_alert and p.last_alert:
            events.append(_event(iso(p.first_alert), "first_alert", channel=channel))
            events.append(_event(iso(p.last_alert), "last_alert", channel=channel, count=p.alerts))
        throttled = int(getattr(action, f"throttled_{channel.value}") or 0)
        if throttled:
            # Counted a chunk at a time; shown when the channel's sending ended.
            at = iso(p.last_alert) if p and p.last_alert else action.targeted_at
            events.append(_event(at or action.created_at, "throttled", channel, throttled))
    for update in action.updates:
        events.append(
            _event(
                update.at,
                "update_sent",
                count=int(update.sent),
                detail={"update_id": update.update_id},
            )
        )
    if action.closed_at:
        expired = action.outcome == Outcome.EXPIRED
        events.append(
            _event(
                action.closed_at,
                "expired" if expired else "closed",
                detail={"outcome": action.outcome, "by": action.closed_by},
            )
        )
        open_results = sum(p.results_open for p in progress.values())
        if action.pending != "results" and not open_results:
            last = [p.last_result for p in progress.values() if p.last_result]
            events.append(
                _event(
                    iso(max(last)) if last else action.closed_at,
                    "results_done",
                    count=int(action.results_sent),
                )
            )
    events.sort(key=lambda e: (e["at"], ORDER.index(e["event"])))
    return {"events": events}


def _event(
    at: str,
    event: str,
    channel: Channel | None = None,
    count: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {"at": at, "event": event}
    if channel is not None:
        found["channel"] = channel.value
    if count is not None:
        found["count"] = count
    if detail is not None:
        found["detail"] = detail
    return found


def _seconds(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())
