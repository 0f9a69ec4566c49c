"""Structured logs: one JSON object a line, with ids and counts only (no personal data)."""

from __future__ import annotations

import json
import logging

logger = logging.getLogger("burgernet")
logger.setLevel(logging.INFO)


def log_event(event: str, level: int = logging.INFO, **fields: str | int | float | None) -> None:
    """Log one event; callers pass ids, counts and codes, never phone numbers or addresses."""
    logger.log(level, json.dumps({"event": event, **fields}, sort_keys=True))
