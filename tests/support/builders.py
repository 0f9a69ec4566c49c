"""Builders for what tests start from: places and participants."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.dal.participants import NewPlace, upsert_participant
from tools.emulator import ROOT

UTRECHT = (52.0907, 5.1214)  # Domplein
# The demo municipality as POST /municipalities takes it.
UTRECHT_AREA = json.loads((ROOT / "tools" / "fixtures" / "gm0344_utrecht.json").read_text())


def add_participant(
    phone: str, *places: tuple[float, float], language: str = "nl", channel: str = "sms"
) -> None:
    """Register a participant with places (as the import does)."""
    labels = ("home", "work", "other", "fourth", "fifth")
    upsert_participant(
        phone,
        language,
        channel,
        [NewPlace(labels[i], lat, lon) for i, (lat, lon) in enumerate(places)],
        datetime.now(UTC),
    )
