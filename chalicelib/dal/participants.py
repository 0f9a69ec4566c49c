"""Participants and the geo index of their places."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import chain

from chalicelib.dal.actions import transaction
from chalicelib.dal.models import Participant, Place, PlaceRef
from chalicelib.domain.geo import Circle, KeyRange, place_cell, place_sort_key, plan_queries, select_recipients

QUERY_THREADS = 8  # covering partitions are read in parallel; botocore clients are thread-safe


@dataclass(frozen=True)
class NewPlace:
    """A place as given by an import or signup."""

    label: str
    lat: float
    lon: float


class Upsert(StrEnum):
    """What storing a participant did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def places_in(circle: Circle) -> list[tuple[float, Place]]:
    """Every person with a place inside the circle, once, nearest place first by distance."""
    ranges = plan_queries(circle)
    with ThreadPoolExecutor(max_workers=max(1, min(QUERY_THREADS, len(ranges)))) as pool:
        pages = list(pool.map(_query, ranges))
    return select_recipients(circle, chain.from_iterable(pages))


def _query(r: KeyRange) -> list[Place]:
    return list(Place.query(r.partition, Place.sk.between(r.lower, r.upper)))


def upsert_participant(
    phone: str, language: str, channel: str, places: Sequence[NewPlace], now: datetime
) -> Upsert:
    """Create or update the participant with this phone so it has exactly these places.

    The participant and every geo-index item change in one transaction: all or nothing.
    """
    existing = next(iter(Participant.phone_index.query(phone)), None)
    participant = Participant.get(existing.participant_id) if existing else None
    pid = participant.participant_id if participant else str(uuid.uuid4())
    wanted = [
        PlaceRef(
            label=p.label,
            lat=p.lat,
            lon=p.lon,
            cell=place_cell(p.lat, p.lon),
            sk=place_sort_key(p.lat, p.lon, pid, p.label),
        )
        for p in places
    ]
    if participant and _same(participant, language, channel, wanted):
        return Upsert.UNCHANGED
    stale = [
        (old.cell, old.sk)
        for old in (participant.places if participant else [])
        if (old.cell, old.sk) not in {(w.cell, w.sk) for w in wanted}
    ]
    record = Participant(
        pid,
        phone=phone,
        language=language,
        channel=channel,
        places=wanted,
        created_at=participant.created_at if participant else now,
    )
    with transaction() as tx:
        tx.save(record)
        for ref in wanted:
            tx.save(
                Place(
                    ref.cell,
                    ref.sk,
                    participant_id=pid,
                    label=ref.label,
                    lat=ref.lat,
                    lon=ref.lon,
                    phone=phone,
                    language=language,
                    channel=channel,
                )
            )
        for cell, sk in stale:
            tx.delete(Place(cell, sk))
    return Upsert.UPDATED if participant else Upsert.CREATED


def _same(p: Participant, language: str, channel: str, wanted: Sequence[PlaceRef]) -> bool:
    def key(r: PlaceRef) -> tuple[str, str, float, float]:
        return (r.sk, r.label, float(r.lat), float(r.lon))

    return (
        p.language == language
        and p.channel == channel
        and sorted(map(key, p.places)) == sorted(map(key, wanted))
    )
