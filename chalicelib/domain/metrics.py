"""The metrics cloud operations alarm on: their names and units, and the port that publishes them.

Published in CloudWatch namespace `Burgernet` (docs/operations.md), once per chunk or sweep, never
once per message. Values, dimensions and properties are ids and counts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

NAMESPACE = "Burgernet"


class Metric(StrEnum):
    """Every metric this system publishes (the contract alarms and dashboards rely on)."""

    ALERTS_SENT = "AlertsSent"
    ALERTS_FAILED = "AlertsFailed"  # refused for good, or unknown: not known to have arrived
    THROTTLED = "Throttled"  # provider refusals that sent nothing (tried again)
    RESULTS_SENT = "ResultsSent"
    TIME_TO_FIRST_ALERT = "TimeToFirstAlert"  # ms from the action's start, once per channel
    TIME_TO_LAST_ALERT = "TimeToLastAlert"  # ms from the action's start to a chunk's last alert
    RECIPIENTS = "Recipients"  # once per action, by targeting
    DEAD_LETTERED = "DeadLettered"  # messages waiting in a dead-letter queue
    TARGETING_LATE = "TargetingLate"  # actions still being targeted 2 minutes after their start

    @property
    def unit(self) -> str:
        """Its CloudWatch unit."""
        timed = (Metric.TIME_TO_FIRST_ALERT, Metric.TIME_TO_LAST_ALERT)
        return "Milliseconds" if self in timed else "Count"


class Metrics(Protocol):
    """Publishes metric values together, as one record (one EMF line)."""

    def publish(
        self,
        values: Mapping[Metric, float],
        dimension: tuple[str, str] | None = None,
        action_id: str | None = None,
    ) -> None:
        """Publish `values`; with a dimension (name, value) each is published both by that
        dimension and without it, as the all-values total alarms use."""
        ...
