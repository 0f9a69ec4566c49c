"""Participant lists from municipalities (CSV): rows validated and grouped into people."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.model import Channel, Language
from chalicelib.domain.phones import is_mobile, normalise, recipient

HEADER = ("phone", "lat", "lon", "label", "language", "channel")
MAX_PLACES = 5
LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,29}")


@dataclass(frozen=True)
class RosterPlace:
    """One place of a person, with the CSV line it came from."""

    label: str
    lat: float
    lon: float
    line: int


@dataclass
class Person:
    """Everyone's rows with one phone number, merged."""

    phone: str
    language: Language
    channel: Channel
    places: list[RosterPlace] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported, and why."""

    line: int
    reason: str


def parse_roster(lines: Iterable[str]) -> tuple[list[Person], list[Rejected]]:
    """Validate CSV rows and group them by phone; a person with a rejected row is skipped whole.

    Skipping the whole person keeps an import from removing a place of theirs whose row has a typo.
    """
    reader = csv.reader(lines)
    header = tuple(h.strip().lower() for h in next(reader, ()))
    if header != HEADER:
        raise InvalidInput(
            "bad_header", f"the first line must be {','.join(HEADER)}; found {','.join(header)}"
        )
    people: dict[str, Person] = {}
    rejected: list[Rejected] = []
    spoiled: dict[str, int] = {}  # phone -> the line that spoiled it
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            phone, place, language, channel = _parse_row(row, line)
        except InvalidInput as exc:
            rejected.append(
                Rejected(line, f"{exc.field}: {exc.message}" if exc.field else exc.message)
            )
            spoiled_phone = _phone_or_none(row)
            if spoiled_phone:
                spoiled.setdefault(spoiled_phone, line)
            continue
        person = people.setdefault(phone, Person(phone, language, channel))
        reason = _conflict(person, place, language, channel)
        if reason:
            rejected.append(Rejected(line, reason))
            spoiled.setdefault(phone, line)
            continue
        person.places.append(place)
    for phone, line in spoiled.items():
        dropped = people.pop(phone, None)
        if dropped:
            for place in dropped.places:
                rejected.append(
                    Rejected(place.line, f"skipped: line {line} of the same person was rejected")
                )
    return list(people.values()), sorted(rejected, key=lambda r: r.line)


def _phone_or_none(row: list[str]) -> str | None:
    try:
        return normalise(row[0]) if row else None
    except InvalidInput:
        return None


def _parse_row(row: list[str], line: int) -> tuple[str, RosterPlace, Language, Channel]:
    if len(row) != len(HEADER):
        raise InvalidInput("bad_row", f"expected {len(HEADER)} columns, found {len(row)}")
    raw_phone, raw_lat, raw_lon, raw_label, raw_language, raw_channel = (c.strip() for c in row)
    phone = recipient(raw_phone)
    (lat_lo, lat_hi), (lon_lo, lon_hi) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
    lat = _coordinate(raw_lat, "lat", lat_lo, lat_hi)
    lon = _coordinate(raw_lon, "lon", lon_lo, lon_hi)
    label = raw_label.lower()
    if not LABEL.fullmatch(label):
        raise InvalidInput(
            "bad_label", "must be 1–30 letters, digits, - or _ (e.g. home, work)", "label"
        )
    try:
        language = Language(raw_language.lower() or Language.NL)
    except ValueError:
        raise InvalidInput("bad_language", "must be nl or en", "language") from None
    try:
        channel = Channel(raw_channel.lower() or Channel.SMS)
    except ValueError:
        raise InvalidInput("bad_channel", "must be sms or voice", "channel") from None
    if channel is Channel.SMS and not is_mobile(phone):
        raise InvalidInput(
            "not_mobile", "SMS needs a mobile number; use voice for a landline", "phone"
        )
    return phone, RosterPlace(label, lat, lon, line), language, channel


def _coordinate(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput("bad_number", f"{raw!r} is not a number", name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(
            "outside_service_area", f"{raw} is outside the Netherlands ({low}–{high})", name
        )
    return value


def _conflict(
    person: Person, place: RosterPlace, language: Language, channel: Channel
) -> str | None:
    if language != person.language or channel != person.channel:
        return "language and channel must be the same on every row of one phone number"
    if any(p.label == place.label for p in person.places):
        return f"label {place.label!r} appears twice for the same phone number"
    if len(person.places) >= MAX_PLACES:
        return f"a person can have at most {MAX_PLACES} places"
    return None
