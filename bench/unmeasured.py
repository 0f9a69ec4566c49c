"""Metrics the benchmarks drop: their stdout is their own JSON lines, not EMF."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.metrics import Metric


class Unmeasured:
    """Takes what the real code publishes and keeps nothing."""

    def publish(
        self,
        values: Mapping[Metric, float],
        dimension: tuple[str, str] | None = None,
        action_id: str | None = None,
    ) -> None:
        """Drop it."""
