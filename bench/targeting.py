"""Targeting bench: what the production query plan reads to find everyone in an area.

Builds a synthetic, deterministic Netherlands of participants (Gaussian clusters for the cities,
uniform countryside over rough land boxes, a quarter with a second place), files them in an
in-memory index with DynamoDB's key semantics, and for each case runs exactly the production
`gather` (both rounds of Queries) and `select_recipients`. Each circle case also runs the peer,
awslabs/dynamodb-geo through its Python port (`bench/peer.py`), on the same points; then come
corridors and polygons, with a `shape` key. One JSON line per case on stdout; progress on stderr.

    python -m bench.targeting [--participants N] [--seed S] [--max-queries Q] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.memory_index import MemoryGeoIndex, PlaceRow
from bench.peer import PeerTable
from chalicelib.domain.geo.covering import Coverable
from chalicelib.domain.geo.planning import (
    DEFAULT_MAX_QUERIES,
    gather,
    plan_queries,
    select_recipients,
)
from chalicelib.domain.geo.shapes import Circle, Corridor, Polygon

DEFAULT_PARTICIPANTS = 1_500_000
DEFAULT_SEED = 20_240_601
CITY_SHARE = 0.55  # of home places; the rest is countryside, villages and towns smeared out
SECOND_PLACE_SHARE = 0.25  # participants who also registered a work place, mostly in a city
PLAN_REPEATS = 5  # plan_ms is the median of this many plans, the first one included

RADII_KM = (0.5, 1, 2, 5, 10, 20)
PLACES = {
    "amsterdam_centre": (52.3731, 4.8926),  # dense: the middle of the biggest cluster
    "drenthe_countryside": (52.85, 6.60),  # sparse: countryside only
}

KM_PER_DEG_LAT = 111.2

# A road through a city and the same road through countryside: 10 km, 300 m either side.
ROAD = ((-0.0536, -0.0328), (-0.0259, -0.0104), (-0.0035, 0.0), (0.019, 0.0086), (0.0501, 0.0294))
SHAPES: dict[str, Coverable] = {
    # Through Utrecht's centre, and through Drenthe.
    "corridor_city": Corridor(tuple((5.1214 + dx, 52.0907 + dy) for dx, dy in ROAD), 300.0),
    "corridor_countryside": Corridor(tuple((6.60 + dx, 52.85 + dy) for dx, dy in ROAD), 300.0),
    # A neighbourhood of Amsterdam bounded by a railway and a canal: 2 km², one bay.
    "neighbourhood": Polygon(
        (
            (
                (4.8781, 52.3642),
                (4.9024, 52.3648),
                (4.9071, 52.3723),
                (4.8966, 52.3741),
                (4.8932, 52.3700),
                (4.8874, 52.3770),
                (4.8769, 52.3752),
                (4.8781, 52.3642),
            ),
        )
    ),
    # A municipality the size of Utrecht's (100 km²) around it, a lake left out of it.
    "municipality": Polygon(
        (
            (
                (5.0279, 52.0359),
                (5.0920, 52.0279),
                (5.1561, 52.0399),
                (5.1801, 52.0720),
                (5.1761, 52.1121),
                (5.1401, 52.1361),
                (5.0840, 52.1321),
                (5.0439, 52.1121),
                (5.0239, 52.0760),
                (5.0279, 52.0359),
            ),
            (
                (5.0760, 52.0960),
                (5.0920, 52.0960),
                (5.0920, 52.1081),
                (5.0760, 52.1081),
                (5.0760, 52.0960),
            ),
        )
    ),
}


@dataclass(frozen=True)
class City:
    """A Gaussian cluster of homes: centre, relative weight (≈ population), sigma in km."""

    name: str
    lat: float
    lon: float
    weight: float
    sigma_km: float


CITIES = (
    City("Amsterdam", 52.3731, 4.8926, 920, 4.0),
    City("Rotterdam", 51.9225, 4.4792, 660, 4.0),
    City("Den Haag", 52.0705, 4.3007, 560, 3.5),
    City("Utrecht", 52.0907, 5.1214, 370, 3.0),
    City("Eindhoven", 51.4416, 5.4697, 240, 3.0),
    City("Groningen", 53.2194, 6.5665, 240, 2.5),
    City("Tilburg", 51.5555, 5.0913, 225, 2.5),
    City("Almere", 52.3508, 5.2647, 220, 3.0),
    City("Breda", 51.5719, 4.7683, 185, 2.5),
    City("Nijmegen", 51.8126, 5.8372, 180, 2.5),
    City("Apeldoorn", 52.2112, 5.9699, 165, 2.5),
    City("Arnhem", 51.9851, 5.8987, 165, 2.5),
    City("Haarlem", 52.3874, 4.6462, 165, 2.0),
    City("Enschede", 52.2215, 6.8937, 160, 2.5),
    City("Amersfoort", 52.1561, 5.3878, 160, 2.0),
    City("Zaanstad", 52.4391, 4.8275, 155, 2.0),
    City("'s-Hertogenbosch", 51.6978, 5.3037, 155, 2.0),
    City("Zwolle", 52.5168, 6.0830, 130, 2.0),
    City("Leiden", 52.1601, 4.4970, 125, 2.0),
    City("Maastricht", 50.8514, 5.6910, 120, 2.0),
    City("Dordrecht", 51.8133, 4.6901, 120, 2.0),
    City("Leeuwarden", 53.2012, 5.7999, 125, 2.0),
)

# Rough land boxes (south, north, west, east) for the countryside; sea and lakes mostly left out.
LAND_BOXES = (
    (52.55, 53.40, 5.45, 7.15),  # Friesland, Groningen, Drenthe
    (51.80, 52.55, 5.60, 7.00),  # Overijssel, Gelderland
    (51.85, 52.45, 4.40, 5.60),  # Zuid-Holland, Utrecht
    (52.45, 52.95, 4.62, 5.05),  # Noord-Holland
    (51.25, 51.80, 4.30, 6.05),  # Noord-Brabant
    (50.78, 51.25, 5.70, 6.05),  # Limburg
    (51.30, 51.65, 3.50, 4.20),  # Zeeland
)


def build_index(participants: int, seed: int) -> tuple[MemoryGeoIndex[PlaceRow], list[PlaceRow]]:
    """The synthetic population, filed in a fresh index; also returned as a flat list."""
    rng = random.Random(seed)
    city_weights = [c.weight for c in CITIES]
    box_weights = [
        (n - s) * (e - w) * math.cos(math.radians((n + s) / 2)) for s, n, w, e in LAND_BOXES
    ]
    index: MemoryGeoIndex[PlaceRow] = MemoryGeoIndex()
    rows: list[PlaceRow] = []
    for number in range(participants):
        pid = f"p{number:07d}"
        if rng.random() < CITY_SHARE:
            home = _near_city(rng, rng.choices(CITIES, city_weights)[0])
        else:
            home = _in_box(rng, rng.choices(LAND_BOXES, box_weights)[0])
        places = [PlaceRow(pid, home[0], home[1], "home")]
        if rng.random() < SECOND_PLACE_SHARE:
            work = _near_city(rng, rng.choices(CITIES, city_weights)[0])
            places.append(PlaceRow(pid, work[0], work[1], "work"))
        for place in places:
            index.add(place)
            rows.append(place)
        if number and number % 250_000 == 0:
            print(f"built {number:,} participants", file=sys.stderr)
    return index, rows


def _near_city(rng: random.Random, city: City) -> tuple[float, float]:
    km_per_deg_lon = KM_PER_DEG_LAT * math.cos(math.radians(city.lat))
    return (
        city.lat + rng.gauss(0.0, city.sigma_km) / KM_PER_DEG_LAT,
        city.lon + rng.gauss(0.0, city.sigma_km) / km_per_deg_lon,
    )


def _in_box(rng: random.Random, box: tuple[float, float, float, float]) -> tuple[float, float]:
    south, north, west, east = box
    return rng.uniform(south, north), rng.uniform(west, east)


def run_case(
    index: MemoryGeoIndex[PlaceRow],
    rows: Sequence[PlaceRow],
    area: Coverable,
    max_queries: int,
) -> dict[str, object]:
    """Plan, read (both rounds) and select for one area; check the result against brute force."""
    timings = []
    for _ in range(PLAN_REPEATS):
        started = time.perf_counter()
        plan = plan_queries(area, max_queries)
        timings.append((time.perf_counter() - started) * 1000)
    index.reset_counters()
    recipients = select_recipients(area, gather(area, index.read, max_queries))

    # Brute force over every place: what the plan must not miss. The box only skips exact tests
    # that cannot pass.
    south, north, west, east = area.bounds()
    places_inside = [
        r
        for r in rows
        if south <= r.lat <= north
        and west <= r.lon <= east
        and area.distance_inside(r.lat, r.lon) is not None
    ]
    expected = {r.participant_id for r in places_inside}
    found = {row.participant_id for _, row in recipients}
    return {
        "queries": index.queries,
        "probes": len(plan.probes),
        "partitions": len({k.partition for k in plan.probes}),
        "items_read": index.items_read,
        "inside": len(recipients),
        "places_inside": len(places_inside),
        "amplification": (
            round(index.items_read / len(places_inside), 3) if places_inside else None
        ),
        "amplification_is": "items_read / places_inside",
        "read_units": index.read_units,
        "plan_ms": round(statistics.median(timings), 2),
        "complete": found == expected,
    }


def peer_figures(peer: PeerTable, circle: Circle, places_inside: int) -> dict[str, object]:
    """The peer's queries, amplification and read units for the same circle."""
    read = peer.measure(circle)
    return {
        "peer_queries": read["queries"],
        "peer_items_read": read["items_read"],
        "peer_amplification": (
            round(read["items_read"] / places_inside, 3) if places_inside else None
        ),
        "peer_read_units": read["read_units"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Build the population, run every case, print a JSON line each; 1 if a recipient is lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--max-queries", type=int, default=DEFAULT_MAX_QUERIES)
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (saves ~1 min)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    index, rows = build_index(args.participants, args.seed)
    print(
        f"index: {args.participants:,} participants, {len(rows):,} places, "
        f"{index.partitions:,} partitions, built in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    peer = None
    if not args.no_peer:
        started = time.perf_counter()
        peer = PeerTable(rows)
        print(f"peer: filed in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    complete = True
    for place, (lat, lon) in PLACES.items():
        for radius_km in RADII_KM:
            circle = Circle(lat, lon, radius_km * 1000)
            result: dict[str, object] = {"place": place, "radius_km": radius_km}
            result |= run_case(index, rows, circle, args.max_queries)
            if peer is not None:
                result |= peer_figures(peer, circle, int(str(result["places_inside"])))
            complete = complete and bool(result["complete"])
            print(json.dumps(result), flush=True)
    for name, area in SHAPES.items():
        result = {"shape": name, "area_km2": round(area.area_m2() / 1e6, 2)}
        result |= run_case(index, rows, area, args.max_queries)
        complete = complete and bool(result["complete"])
        print(json.dumps(result), flush=True)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
