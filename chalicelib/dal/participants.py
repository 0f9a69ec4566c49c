"""Participants and the geo index of their places."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.dal.models import Participant, Place, PlaceRef, copied
from chalicelib.dal.records import ParticipantRecord
from chalicelib.domain import signup
from chalicelib.domain.geo.keys import KeyRange, place_cell, place_sort_key
from chalicelib.domain.geo.planning import gather, select_recipients
from chalicelib.domain.geo.shapes import Shape
from chalicelib.tracing import carried

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


def places_in(area: Shape, now: datetime | None = None) -> list[tuple[float, Place]]:
    """Every person with a place inside the area, once, nearest place first (`select_recipients`).

    An app's current location past its `expires` is left out: DynamoDB's TTL deletes it late.
    """
    moment = now or datetime.now(UTC)
    rows = gather(area, _read)
    return select_recipients(area, (p for p in rows if p.expires is None or p.expires > moment))


def _read(ranges: Sequence[KeyRange]) -> list[tuple[list[Place], str | None]]:
    with ThreadPoolExecutor(max_workers=max(1, min(QUERY_THREADS, len(ranges)))) as pool:
        return list(pool.map(carried(_query), ranges))


def _query(r: KeyRange) -> tuple[list[Place], str | None]:
    """One Query; for one with a limit, the sort key it stopped at (None if it read everything)."""
    start = {"cell": {"S": r.partition}, "sk": {"S": r.after}} if r.after else None
    results = Place.query(
        r.partition, Place.sk.between(r.lower, r.upper), limit=r.limit, last_evaluated_key=start
    )
    places = list(results)
    stopped = results.last_evaluated_key if r.limit is not None else None
    return places, (str(stopped["sk"]["S"]) if stopped else None)


@dataclass(frozen=True)
class NewParticipant:
    """A person as given by an import: how to reach them and exactly which places they have."""

    phone: str
    language: str
    channel: str
    places: Sequence[NewPlace]


def upsert_participants(
    people: Sequence[NewParticipant], now: datetime, directory: Mapping[str, str] | None = None
) -> list[Upsert]:
    """Create or update each person (by phone) so they have exactly the given places.

    Batched for bulk imports, and safe to re-run after a crash at any point: a new person's
    record is written first without places (so a re-run finds the same id, never a second one),
    then the place items are written and removed, then the record with its places last (so a
    re-run sees the record still differs and redoes the person; every write is idempotent).
    A bulk import passes the `directory` (phone -> participant id) read once with
    `phone_directory`.
    """
    existing = _existing_by_phone([p.phone for p in people], directory)
    results: list[Upsert] = []
    newcomers: list[Participant] = []
    records: list[Participant] = []
    puts: list[Place] = []
    deletes: list[Place] = []
    for person in people:
        current = existing.get(person.phone)
        pid = current.participant_id if current else str(uuid.uuid4())
        wanted = [_place_ref(pid, p) for p in person.places]
        if current and _same(current, person.language, person.channel, wanted):
            results.append(Upsert.UNCHANGED)
            continue
        keep = {(w.cell, w.sk) for w in wanted}
        deletes.extend(
            Place(old.cell, old.sk)
            for old in (current.places if current else [])
            if (old.cell, old.sk) not in keep
        )
        puts.extend(_place_item(pid, person, ref, current) for ref in wanted)
        if current is None:
            newcomers.append(_record(pid, person, [], None, now))
        records.append(_record(pid, person, wanted, current, now))
        results.append(Upsert.UPDATED if current else Upsert.CREATED)
    with Participant.batch_write() as participants:
        for record in newcomers:
            participants.save(record)
    with Place.batch_write() as places:
        for item in puts:
            places.save(item)
        for item in deletes:
            places.delete(item)
    with Participant.batch_write() as participants:
        for record in records:
            participants.save(record)
    return results


def upsert_participant(
    phone: str, language: str, channel: str, places: Sequence[NewPlace], now: datetime
) -> Upsert:
    """Create or update one participant (see upsert_participants)."""
    return upsert_participants([NewParticipant(phone, language, channel, places)], now)[0]


def phone_directory() -> dict[str, str]:
    """Every participant's phone -> id, from one scan of the keys-only phone index.

    For bulk imports: 1.5 million entries are about 100 MB, a few cents of read units, where
    one query per imported person would cost a round trip each.
    """
    return {p.phone: p.participant_id for p in Participant.phone_index.scan()}


def _existing_by_phone(
    phones: Sequence[str], directory: Mapping[str, str] | None
) -> dict[str, Participant]:
    ids = []
    for phone in phones:
        if directory is not None:
            pid = directory.get(phone)
        else:
            hit = next(iter(Participant.phone_index.query(phone)), None)
            pid = hit.participant_id if hit else None
        if pid is not None:
            ids.append(pid)
    found = Participant.batch_get(list(ids), consistent_read=True) if ids else []
    return {p.phone: p for p in found}


def _record(
    pid: str,
    person: NewParticipant,
    places: list[PlaceRef],
    current: Participant | None,
    now: datetime,
) -> Participant:
    # What an import does not know (signup details, quiet hours) stays as it was.
    return Participant(
        pid,
        phone=person.phone,
        language=person.language,
        channel=person.channel,
        places=places,
        created_at=current.created_at if current else now,
        quiet_from=current.quiet_from if current else None,
        quiet_to=current.quiet_to if current else None,
        municipality=current.municipality if current else None,
        age_checked=current.age_checked if current else None,
    )


def _place_ref(pid: str, place: NewPlace) -> PlaceRef:
    return place_ref(pid, place.label, place.lat, place.lon)


def _place_item(
    pid: str, person: NewParticipant | Participant, ref: PlaceRef, quiet: Participant | None = None
) -> Place:
    # Each geo-index item carries what targeting needs, so alerts need no second read.
    quiet = quiet or (person if isinstance(person, Participant) else None)
    return Place(
        ref.cell,
        ref.sk,
        participant_id=pid,
        label=ref.label,
        lat=ref.lat,
        lon=ref.lon,
        phone=person.phone,
        language=person.language,
        channel=person.channel,
        quiet_from=quiet.quiet_from if quiet else None,
        quiet_to=quiet.quiet_to if quiet else None,
    )


def find_by_phone(phone: str) -> Participant | None:
    """The participant with this phone, if any."""
    hit = next(iter(Participant.phone_index.query(phone)), None)
    return Participant.get(hit.participant_id, consistent_read=True) if hit else None


def get_participant(participant_id: str) -> Participant | None:
    """The participant with this id, if any."""
    try:
        return Participant.get(participant_id, consistent_read=True)
    except DoesNotExist:
        return None


def place_ref(pid: str, label: str, lat: float, lon: float, **address: str | None) -> PlaceRef:
    """A place of participant `pid`, with its geo-index keys (and its address, if given)."""
    return PlaceRef(
        label=label,
        lat=lat,
        lon=lon,
        cell=place_cell(lat, lon),
        sk=place_sort_key(lat, lon, pid, label),
        **address,
    )


def save_signup(
    phone: str,
    language: str,
    channel: str,
    places: Sequence[signup.Place],
    quiet: signup.QuietHours | None,
    municipality: str,
    now: datetime,
) -> str:
    """Save the participant a verified signup describes (or update who has the phone); their id."""
    previous = find_by_phone(phone)
    pid = previous.participant_id if previous else str(uuid.uuid4())
    participant = Participant(
        pid,
        phone=phone,
        language=language,
        channel=channel,
        places=_refs(pid, places),
        created_at=previous.created_at if previous else now,
        quiet_from=quiet.start if quiet else None,
        quiet_to=quiet.end if quiet else None,
        municipality=municipality,
        age_checked=True,
    )
    save_participant(participant, previous)
    return pid


def update_participant(
    previous: ParticipantRecord,
    change: signup.Preferences,
    places: Sequence[signup.Place] | None,
) -> Participant:
    """Apply a preference change; `places` (resolved) replace the old ones, in one transaction."""
    updated = copied(previous, Participant)
    if change.language:
        updated.language = change.language.value
    if change.channel:
        updated.channel = change.channel.value
    if change.quiet_hours:
        updated.quiet_from, updated.quiet_to = change.quiet_hours.start, change.quiet_hours.end
    elif change.clear_quiet_hours:
        updated.quiet_from = updated.quiet_to = None
    if places is not None:
        updated.places = _refs(previous.participant_id, places)
    save_participant(updated, previous)
    return updated


def _refs(pid: str, places: Sequence[signup.Place]) -> list[PlaceRef]:
    return [
        place_ref(
            pid,
            p.label,
            p.lat,
            p.lon,
            postcode=p.postcode,
            house_number=p.house_number,
            addition=p.addition,
            municipality=p.municipality,
        )
        for p in places
    ]


def save_participant(record: Participant, previous: ParticipantRecord | None) -> None:
    """Write one participant and its geo-index items in one transaction: all of it, or none.

    `previous` is the stored state being replaced (None for a new participant).
    """
    keep = {(p.cell, p.sk) for p in record.places}
    with TransactWrite(connection=Participant._get_connection().connection) as tx:
        tx.save(record)
        for ref in record.places:
            tx.save(_place_item(record.participant_id, record, ref))
        for old in previous.places if previous else []:
            if (old.cell, old.sk) not in keep:
                tx.delete(Place(old.cell, old.sk))


def delete_participant(participant: ParticipantRecord) -> None:
    """Remove a participant and every place of theirs from the geo index, in one transaction."""
    with TransactWrite(connection=Participant._get_connection().connection) as tx:
        tx.delete(Participant(participant.participant_id))  # a delete needs only the key
        for ref in participant.places:
            tx.delete(Place(ref.cell, ref.sk))


def _same(p: Participant, language: str, channel: str, wanted: Sequence[PlaceRef]) -> bool:
    def key(r: PlaceRef) -> tuple[str, str, float, float]:
        return (r.sk, r.label, float(r.lat), float(r.lon))

    return (
        p.language == language
        and p.channel == channel
        and sorted(map(key, p.places)) == sorted(map(key, wanted))
    )
