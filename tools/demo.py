"""Demo participants around Utrecht (the demo municipality, GM0344), loaded through the importer."""

from __future__ import annotations

import io
import math
import random

from tools.import_participants import import_lines

CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht
RADIUS_M = 6000  # about the municipality's area (99 km²)


def demo_csv(participants: int, seed: int = 344) -> str:
    """A deterministic CSV of participants: some with a work place, some reading English."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("phone,lat,lon,label,language,channel\n")
    for n in range(participants):
        phone = f"+316{10_000_000 + n:08d}"
        language = "en" if rng.random() < 0.1 else "nl"
        for label in ("home", "work") if rng.random() < 0.2 else ("home",):
            lat, lon = _scatter(rng)
            out.write(f"{phone},{lat:.6f},{lon:.6f},{label},{language},sms\n")
    return out.getvalue()


def _scatter(rng: random.Random) -> tuple[float, float]:
    distance = RADIUS_M * math.sqrt(rng.random())  # uniform over the disc
    bearing = rng.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + distance * math.cos(bearing) / 111_320
    lon = CENTRE[1] + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(CENTRE[0])))
    return lat, lon


def seed(participants: int) -> None:
    """Import the demo participants into the running system."""
    outcomes, _ = import_lines(io.StringIO(demo_csv(participants)), progress=False)
    print(f"demo: {participants} participants around Utrecht ({dict(outcomes)})")
