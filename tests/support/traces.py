"""Traces kept in the test process: what X-Ray's daemon or ADOT's exporter would have received."""

from __future__ import annotations

import json
from typing import Any


class SegmentCollector:
    """An X-Ray emitter that keeps each segment (or streamed subsegment) it is given, as JSON."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        """Keep what the SDK would send to the daemon, as the daemon would receive it."""
        self.documents.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str | None) -> None:
        """There is no daemon."""
