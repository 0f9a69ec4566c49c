"""One action's life in time order, for cloud ops: built from the action and its ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NotRequired, TypedDict

from chalicelib.dal import actions as action_store
from chalicelib.dal import progress as ledger_progress
from chalicelib.domain.model import Channel, Fanout, Outcome, iso


class Event(StrEnum):
    """What happened to an action, in the order it happens."""

    STARTED = "started"
    TARGETED = "targeted"
    FIRST_ALERT = "first_alert"
    LAST_ALERT = "last_alert"
    THROTTLED = "throttled"
    UPDATE_SENT = "update_sent"
    CLOSED = "closed"
    EXPIRED = "expired"
    RESULTS_DONE = "results_done"


# Events at the same second keep the order in which they happen to an action.
ORDER = tuple(Event)


class Detail(TypedDict, total=False):
    """What else an event tells, by event."""

    incident: str  # started
    seconds: int  # targeted: how long targeting took
    update_id: str  # update_sent
    outcome: Outcome | None  # closed, expired
    by: str | None  # closed, expired: the caller, or the sweeper


class TimelineEvent(TypedDict):
    """One event: when, what, and on which channel, how many and what else, where it says."""

    at: str
    event: Event
    channel: NotRequired[str]
    count: NotRequired[int]
    detail: NotRequired[Detail]


class Timeline(TypedDict):
    """An action's events, oldest first."""

    events: list[TimelineEvent]


def timeline(action_id: str) -> Timeline:
    """The action's events, oldest first: started, targeted, first and last alert and throttling
    per channel, each update (posted, and how many it reached so far), closed (or expired),
    results done. Counts agree with the action's counters."""
    action = action_store.get_action(action_id)
    events = [_event(action.created_at, Event.STARTED, detail=Detail(incident=action.incident))]
    if action.targeted_at:
        took = _seconds(action.targeted_at) - _seconds(action.created_at)
        events.append(
            _event(
                action.targeted_at,
                Event.TARGETED,
                count=int(action.targeted),
                detail=Detail(seconds=took),
            )
        )
    progress = ledger_progress.progress(action_id)
    for channel in Channel:
        p = progress.get(channel.value)
        if p is not None and p.first_alert and p.last_alert:
            events.append(_event(iso(p.first_alert), Event.FIRST_ALERT, channel=channel))
            events.append(
                _event(iso(p.last_alert), Event.LAST_ALERT, channel=channel, count=p.alerts)
            )
        throttled = int(getattr(action, f"throttled_{channel.value}") or 0)
        if throttled:
            # Counted a chunk at a time; shown when the channel's sending ended.
            at = iso(p.last_alert) if p and p.last_alert else action.targeted_at
            events.append(_event(at or action.created_at, Event.THROTTLED, channel, throttled))
    for update in action.updates:
        events.append(
            _event(
                update.at,
                Event.UPDATE_SENT,
                count=int(update.sent),
                detail=Detail(update_id=update.update_id),
            )
        )
    if action.closed_at:
        expired = action.outcome == Outcome.EXPIRED
        events.append(
            _event(
                action.closed_at,
                Event.EXPIRED if expired else Event.CLOSED,
                detail=Detail(outcome=action.outcome, by=action.closed_by),
            )
        )
        open_results = sum(p.results_open for p in progress.values())
        if action.pending is not Fanout.RESULTS and not open_results:
            last = [p.last_result for p in progress.values() if p.last_result]
            events.append(
                _event(
                    iso(max(last)) if last else action.closed_at,
                    Event.RESULTS_DONE,
                    count=int(action.results_sent),
                )
            )
    events.sort(key=lambda e: (e["at"], ORDER.index(e["event"])))
    return Timeline(events=events)


def _event(
    at: str,
    event: Event,
    channel: Channel | None = None,
    count: int | None = None,
    detail: Detail | None = None,
) -> TimelineEvent:
    found = TimelineEvent(at=at, event=event)
    if channel is not None:
        found["channel"] = channel.value
    if count is not None:
        found["count"] = count
    if detail is not None:
        found["detail"] = detail
    return found


def _seconds(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())
