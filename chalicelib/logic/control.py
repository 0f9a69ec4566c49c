"""The control room's live view of one action: what GET /control/actions/{id} answers.

Nothing personal leaves here: counts per channel and per minute, and the sightings' own
positions, never a phone number, a participant or a home position.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from chalicelib.dal import actions as action_store
from chalicelib.dal import devices as device_store
from chalicelib.dal import progress as ledger_progress
from chalicelib.domain.devices import sighting_view
from chalicelib.domain.model import CallOutcome, Channel, DeliveryStatus, iso
from chalicelib.logic.actions import ActionView, action_view

# The newest sightings the view carries: an action takes at most 200 an hour
# (logic/devices.py), as many as one dispatcher can still read during a live search.
SIGHTINGS_SHOWN = 200
# States an alert is still waiting in: queued (held for quiet hours too), or being sent.
WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


class Centre(TypedDict):
    """The point sightings' distance and bearing are measured from."""

    lat: float
    lon: float


class Series(TypedDict):
    """Alerts that went out (sent or unknown) per whole UTC minute, per channel."""

    minutes: list[str]
    sms: list[int]
    voice: list[int]
    push: list[int]


class ControlView(TypedDict):
    """One action as the control room shows it."""

    action: ActionView
    centre: Centre
    channels: dict[str, dict[str, int]]
    series: Series
    sightings: list[dict[str, Any]]
    sightings_more: bool


class Polled(NamedTuple):
    """The view's ETag, and the view itself unless the caller already has it (then None)."""

    etag: str
    view: ControlView | None


def etag_of(parts: Any) -> str:
    """A strong ETag of a JSON-able value."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for GET)."""
    tags = {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")}
    return etag in tags or "*" in tags


def control_view(action_id: str, if_none_match: str | None = None) -> Polled:
    """The live view of an action, or only its ETag when `if_none_match` already names it.

    The ETag is taken from the action (its counters move with every chunk the senders finish)
    and its newest sightings, before the ledger is read: an unchanged poll costs those two reads.
    """
    action = action_store.get_action(action_id)
    shown = action_view(action)
    centre = (float(action.lat), float(action.lon))
    found, older = device_store.sightings_page(action_id, SIGHTINGS_SHOWN, None)
    sightings = [
        sighting_view(centre, s.seen_at, s.received_at, float(s.lat), float(s.lon), s.text or None)
        for s in found
    ]
    etag = etag_of([shown, sightings])
    if matches(if_none_match, etag):
        return Polled(etag, None)
    tallies = ledger_progress.by_channel(action_id)
    return Polled(
        etag,
        ControlView(
            action=shown,
            centre=Centre(lat=centre[0], lon=centre[1]),
            channels={c.value: _channel(c, tallies.get(c.value)) for c in Channel},
            series=_series(tallies),
            sightings=sightings,
            sightings_more=older is not None,
        ),
    )


def _channel(channel: Channel, tally: ledger_progress.ChannelTally | None) -> dict[str, int]:
    """How one channel's alerts stand; every state's count, zeros included."""
    t = tally or ledger_progress.ChannelTally()
    counts = {
        "people": sum(t.statuses.values()),
        DeliveryStatus.QUEUED.value: sum(t.statuses[s] for s in WAITING),  # or being sent
        DeliveryStatus.SENT.value: t.statuses[DeliveryStatus.SENT],
        DeliveryStatus.FAILED.value: t.statuses[DeliveryStatus.FAILED],
        DeliveryStatus.UNKNOWN.value: t.statuses[DeliveryStatus.UNKNOWN],
        DeliveryStatus.CANCELLED.value: t.statuses[DeliveryStatus.CANCELLED],
    }
    if channel is Channel.VOICE:
        counts[CallOutcome.ANSWERED.value] = t.answered
    return counts


def _series(tallies: dict[str, ledger_progress.ChannelTally]) -> Series:
    """Every minute from the first alert's to the last's, with each channel's count (zeros too)."""
    minutes = sorted({m for t in tallies.values() for m in t.per_minute})
    if not minutes:
        return Series(minutes=[], sms=[], voice=[], push=[])
    span: list[datetime] = []
    at = minutes[0]
    while at <= minutes[-1]:
        span.append(at)
        at += timedelta(minutes=1)

    def counts(channel: Channel) -> list[int]:
        t = tallies.get(channel.value)
        return [t.per_minute[m] if t else 0 for m in span]

    return Series(
        minutes=[iso(m) for m in span],
        sms=counts(Channel.SMS),
        voice=counts(Channel.VOICE),
        push=counts(Channel.PUSH),
    )
