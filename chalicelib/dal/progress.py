"""How an action's messages went, read from its ledger: per channel for its timeline, and in
total as the truth its live counters are set to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.dal.deliveries import ledger
from chalicelib.dal.models import Action
from chalicelib.dal.records import DeliveryRecord
from chalicelib.domain.model import CallOutcome, DeliveryStatus

# An alert that may have reached the phone (counted as alerted on the timeline).
MAY_HAVE_ARRIVED = frozenset({DeliveryStatus.SENT, DeliveryStatus.UNKNOWN})
# A message queued or being sent: not yet settled.
OPEN = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING})


@dataclass
class Progress:
    """How one channel's messages of an action went, as the ledger records them."""

    first_alert: datetime | None = None
    last_alert: datetime | None = None
    alerts: int = 0  # sent, or unknown (may have arrived)
    last_result: datetime | None = None
    results: int = 0
    results_open: int = 0  # queued or being sent


def progress(action_id: str) -> dict[str, Progress]:
    """Per channel, when the action's first and last alert and last result went out."""
    found: dict[str, Progress] = {}
    fields = ["channel", "alert_status", "alert_at", "result_status", "result_at"]
    for d in ledger(action_id, attributes=fields):
        p = found.setdefault(str(d.channel), Progress())
        if d.alert_status in MAY_HAVE_ARRIVED and d.alert_at is not None:
            p.alerts += 1
            p.first_alert = min(p.first_alert or d.alert_at, d.alert_at)
            p.last_alert = max(p.last_alert or d.alert_at, d.alert_at)
        if d.result_status in OPEN:
            p.results_open += 1
        elif d.result_status is DeliveryStatus.SENT and d.result_at is not None:
            p.results += 1
            p.last_result = max(p.last_result or d.result_at, d.result_at)
    return found


@dataclass
class ChannelTally:
    """One channel's alerts of an action, by how each stands, for the control room."""

    statuses: Counter[DeliveryStatus] = field(default_factory=Counter)
    answered: int = 0  # calls a person or a voicemail took
    per_minute: Counter[datetime] = field(default_factory=Counter)  # alerts out, by UTC minute


def by_channel(action_id: str) -> dict[str, ChannelTally]:
    """Per channel, one pass over the action's ledger: its alerts' states, the answered calls,
    and the alerts that went out (sent or unknown) per whole minute."""
    found: dict[str, ChannelTally] = {}
    fields = ["channel", "alert_status", "alert_at", "alert_outcome"]
    for d in ledger(action_id, attributes=fields):
        t = found.setdefault(str(d.channel), ChannelTally())
        t.statuses[d.alert_status] += 1
        if d.alert_outcome == CallOutcome.ANSWERED:
            t.answered += 1
        if d.alert_status in MAY_HAVE_ARRIVED and d.alert_at is not None:
            t.per_minute[d.alert_at.replace(second=0, microsecond=0)] += 1
    return found


def tally(deliveries: Iterable[DeliveryRecord]) -> Counter[DeliveryStatus]:
    """How many of these deliveries' alerts stand in each state."""
    return Counter(d.alert_status for d in deliveries)


def set_targeted(action_id: str, targeted: int) -> None:
    """Overwrite the action's count of people targeted with the ledger's truth."""
    Action(action_id).update(actions=[Action.targeted.set(targeted)])
