"""Where positions may lie: the service area."""

from __future__ import annotations

# A box around the European Netherlands, Wadden islands and Zuid-Limburg included.
SERVICE_AREA = {"lat": (50.75, 53.70), "lon": (3.20, 7.25)}
