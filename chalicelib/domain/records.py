"""What logic reads of stored items: read-only Protocols that the dal's models satisfy.

Logic names these, never a pynamodb model; the dal hands its items out and takes them back,
so a write can still refresh the item it was given. Numbers read back as floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.domain.model import ActionStatus, DeliveryStatus, Fanout, Kind, Outcome, Stage


class PhotoRecord(Protocol):
    """An action's photo: its public URLs at two sizes."""

    @property
    def large(self) -> str: ...

    @property
    def small(self) -> str: ...


class BulletinRecord(Protocol):
    """One public state of an action (its start, an update, its result)."""

    @property
    def identifier(self) -> str: ...

    @property
    def sent(self) -> str: ...

    @property
    def kind(self) -> Stage: ...

    @property
    def update_id(self) -> str | None: ...


class UpdateRecord(Protocol):
    """A dispatcher's update during an action, with how its messages went."""

    @property
    def update_id(self) -> str: ...

    @property
    def at(self) -> str: ...

    @property
    def message(self) -> str | None: ...

    @property
    def description(self) -> str | None: ...

    @property
    def queued(self) -> bool: ...

    @property
    def sent(self) -> float: ...

    @property
    def failed(self) -> float: ...

    @property
    def unknown(self) -> float: ...


class ActionRecord(Protocol):
    """A stored action with its live counters (times are ISO 8601 UTC strings)."""

    @property
    def action_id(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def incident(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...

    @property
    def radius_m(self) -> float | None: ...

    @property
    def geometry(self) -> str | None: ...

    @property
    def channels(self) -> Sequence[object]: ...

    @property
    def public(self) -> bool: ...

    @property
    def exercise(self) -> bool: ...

    @property
    def place(self) -> str | None: ...

    @property
    def photo(self) -> PhotoRecord | None: ...

    @property
    def bulletins(self) -> Sequence[BulletinRecord]: ...

    @property
    def updates(self) -> Sequence[UpdateRecord]: ...

    @property
    def status(self) -> ActionStatus: ...

    @property
    def created_by(self) -> str: ...

    @property
    def created_at(self) -> str: ...

    @property
    def expires_at(self) -> str: ...

    @property
    def closed_at(self) -> str | None: ...

    @property
    def closed_by(self) -> str | None: ...

    @property
    def targeted_at(self) -> str | None: ...

    @property
    def outcome(self) -> Outcome | None: ...

    @property
    def result_message(self) -> str | None: ...

    @property
    def pending(self) -> Fanout | None: ...

    @property
    def redacted_at(self) -> str | None: ...

    @property
    def trace_header(self) -> str | None: ...

    @property
    def targeted(self) -> float: ...

    @property
    def sent(self) -> float: ...

    @property
    def failed(self) -> float: ...

    @property
    def cancelled(self) -> float: ...

    @property
    def unknown(self) -> float: ...

    @property
    def results_sent(self) -> float: ...

    @property
    def results_failed(self) -> float: ...

    @property
    def results_unknown(self) -> float: ...

    @property
    def throttled_sms(self) -> float: ...

    @property
    def throttled_voice(self) -> float: ...

    @property
    def throttled_push(self) -> float: ...


class DeliveryRecord(Protocol):
    """One person's ledger entry for one action."""

    @property
    def action_id(self) -> str: ...

    @property
    def participant_id(self) -> str: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def language(self) -> str: ...

    @property
    def channel(self) -> str: ...

    @property
    def alert_status(self) -> DeliveryStatus: ...

    @property
    def alert_at(self) -> datetime | None: ...

    @property
    def result_status(self) -> DeliveryStatus | None: ...

    @property
    def contact_kind(self) -> Kind | None: ...

    @property
    def voice_line(self) -> float | None: ...

    @property
    def voice_attempts(self) -> float | None: ...

    @property
    def device_id(self) -> str | None: ...

    @property
    def endpoint_arn(self) -> str | None: ...


class PlaceRecord(Protocol):
    """A place in the geo index, with what sending needs of its person."""

    @property
    def participant_id(self) -> str: ...

    @property
    def phone(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def channel(self) -> str: ...

    @property
    def quiet_from(self) -> str | None: ...

    @property
    def quiet_to(self) -> str | None: ...

    @property
    def device_id(self) -> str | None: ...
