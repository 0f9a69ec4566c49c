"""The vocabulary of an action, shared by validation, messages and storage."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: the API's and the tables' time format."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Incident(StrEnum):
    """What happened: decides the wording of the alert."""

    BURGLARY = "burglary"
    ROBBERY = "robbery"
    HIT_AND_RUN = "hit_and_run"
    MISSING_PERSON = "missing_person"
    SHOPLIFTING = "shoplifting"
    OTHER = "other"


class Outcome(StrEnum):
    """How an action ended: decides the wording of the result message."""

    FOUND = "found"
    ARRESTED = "arrested"
    NOT_FOUND = "not_found"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # set by the scheduled closer, never by a caller


class Language(StrEnum):
    """The language a participant reads their messages in."""

    NL = "nl"
    EN = "en"


class Channel(StrEnum):
    """How a participant is reached."""

    SMS = "sms"
    VOICE = "voice"
    PUSH = "push"  # the app's own channel: never a dispatch choice, used for app devices
