"""Structured logs: one JSON object a line, with ids and counts only (no personal data)."""

from __future__ import annotations

import json
import logging

# A child of chalice's app logger ("burgernet"): records reach its stdout handler (CloudWatch in
# Lambda) whatever level chalice gives the app logger (ERROR unless app.debug).
logger = logging.getLogger("burgernet.events")
logger.setLevel(logging.INFO)


def log_event(event: str, level: int = logging.INFO, **fields: str | int | float | None) -> None:
    """Log one event; callers pass ids, counts and codes, never phone numbers or addresses."""
    logger.log(level, json.dumps({"event": event, **fields}, sort_keys=True))
