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


class IfIncomplete(StrEnum):
    """What POST /actions does when the expected reach does not fit the action's duration."""

    SEND = "send"  # start it anyway: the people at the end of the list are cancelled
    REJECT = "reject"  # start nothing and answer 409 reach_exceeds_duration


class ActionStatus(StrEnum):
    """Where an action is in its life: only an active action alerts, updates or takes photos."""

    ACTIVE = "active"
    CLOSED = "closed"  # by dispatch or, at its end time, by the sweep (outcome expired)


class Kind(StrEnum):
    """Which message of an action a delivery step is about."""

    ALERT = "alert"
    RESULT = "result"
    UPDATE = "update"  # one of the action's updates; which one travels with the work


class DeliveryStatus(StrEnum):
    """One message to one person, as the ledger records it.

    queued -> sending -> sent | failed | unknown; queued -> cancelled when the action closed
    before an alert went out; queued -> skipped for a result or update whose alert did not
    knowably go out (or, for an update, when the action closed first).
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good: it did not go out
    UNKNOWN = "unknown"  # it may have gone out: never sent again
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Fanout(StrEnum):
    """Fan-out work the targeting queue carries; an action's `pending` holds TARGET or RESULTS
    while that work is outstanding."""

    TARGET = "target"  # claim everyone in the area and queue their alerts
    RESULTS = "results"  # queue the result for everyone alerted
    UPDATE = "update"  # queue one update for everyone alerted


class Stage(StrEnum):
    """Which public state of an action a bulletin or a social post is about."""

    START = "start"
    UPDATE = "update"
    RESULT = "result"


class PostState(StrEnum):
    """A social post in the action's post ledger, once it has an id there.

    posted -> deleted when the action is redacted (a network's 404 counts as deleted);
    posted -> delete_failed while the network refuses or does not answer (the queue tries again).
    """

    POSTED = "posted"
    DELETE_FAILED = "delete_failed"
    DELETED = "deleted"


class CallOutcome(StrEnum):
    """How an alert call went, as the ledger keeps it (a delivery's alert_outcome)."""

    ANSWERED = "answered"  # a person or a voicemail took it
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the number cannot be called


class ReceiptOutcome(StrEnum):
    """What a provider's receipt says became of one message (docs/architecture.md, the ledger)."""

    DELIVERED = "delivered"  # the carrier took it, or the call was placed
    FAILED = "failed"  # it did not reach the phone, for good
