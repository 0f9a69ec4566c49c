"""Validation of the dispatch API's inputs: JSON in, typed requests out, or a clear InvalidInput."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import messages
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.geo.geojson import parse_action_area, to_geojson
from chalicelib.domain.geo.shapes import Circle, Shape
from chalicelib.domain.model import Channel, IfIncomplete, Incident, Outcome
from chalicelib.domain.validation import (
    check_fields,
    choice,
    flag,
    integer,
    required,
    text,
)

MAX_DISPATCH_BODY_BYTES = 64 * 1024  # an area of 500 vertices is about 21 KB of JSON
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 5, 480, 60
MAX_PLACE = 80  # characters of an area's name
MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT = 100, 25

CLOSE_OUTCOMES = tuple(o for o in Outcome if o is not Outcome.EXPIRED)

# The fields each body and query takes; the OpenAPI schemas are built from the same tuples.
ACTION_FIELDS = (
    "incident",
    "description",
    "area",
    "duration_minutes",
    "channels",
    "public",
    "exercise",
    "place",
    "if_incomplete",
)
UPDATE_FIELDS = ("message", "description")
CLOSE_FIELDS = ("outcome", "message")
# An estimate takes what changes who is reached on which channel, and when they are cut off.
REACH_FIELDS = ("area", "incident", "channels", "duration_minutes")
LIST_FIELDS = ("status",)
PAGE_FIELDS = ("limit", "next")


@dataclass(frozen=True)
class ActionRequest:
    """A validated request to start an action."""

    incident: Incident
    description: str
    area: Shape
    duration_minutes: int
    channels: tuple[Channel, ...]
    public: bool = True  # shown in the public feeds, on its page and on social networks
    exercise: bool = False  # a drill: its public messages say so (CAP status Test)
    place: str | None = None  # the area's name for people; else the municipality's
    # A condition on starting, not part of the action: left out of the fingerprint, so a retry
    # of a started action with another value still gets that action back.
    if_incomplete: IfIncomplete = IfIncomplete.SEND

    def fingerprint(self) -> str:
        """A stable text of the request, to tell a retry from a different request."""
        return json.dumps(
            {
                "incident": self.incident.value,
                "description": self.description,
                "area": (
                    [self.area.lat, self.area.lon, self.area.radius_m]
                    if isinstance(self.area, Circle)
                    else to_geojson(self.area)
                ),
                "duration_minutes": self.duration_minutes,
                "channels": sorted(c.value for c in self.channels),
                "public": self.public,
                "exercise": self.exercise,
                "place": self.place,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class ReachRequest:
    """A validated POST /reach body: the area, and what an action there would be started with."""

    area: Shape
    channels: tuple[Channel, ...]
    duration_minutes: int = DEFAULT_DURATION
    incident: Incident | None = None  # none: quiet hours apply (all but a missing person)


@dataclass(frozen=True)
class UpdateRequest:
    """A validated update during an action: a message, and perhaps a new description."""

    message: str
    description: str | None = None


@dataclass(frozen=True)
class CloseRequest:
    """A validated request to close an action."""

    outcome: Outcome
    message: str | None


def parse_action_request(
    body: Mapping[str, Any], available: Sequence[Channel], callback_number: str
) -> ActionRequest:
    """Validate a POST /actions body against the channels this deployment has."""
    check_fields(body, ACTION_FIELDS)
    incident = choice(required(body, "incident"), "incident", Incident, list(Incident))
    description = _description(required(body, "description"), incident, callback_number)
    area = parse_action_area(required(body, "area"))
    duration_minutes = _duration(body)
    channels = _channels(body, available)
    place = body.get("place")
    if place is not None:
        place = text(place, "place")
        if not 1 <= len(place) <= MAX_PLACE:
            raise InvalidInput(
                "invalid_place",
                f"place must be the area's name in 1–{MAX_PLACE} characters, e.g. "
                '"Utrecht, Binnenstad".',
                "place",
            )
    return ActionRequest(
        incident,
        description,
        area,
        duration_minutes,
        channels,
        public=flag(body, "public", default=True),
        exercise=flag(body, "exercise", default=False),
        place=place,
        if_incomplete=choice(
            body.get("if_incomplete", IfIncomplete.SEND.value),
            "if_incomplete",
            IfIncomplete,
            list(IfIncomplete),
            "if_incomplete",
        ),
    )


def _duration(body: Mapping[str, Any]) -> int:
    duration = body.get("duration_minutes", DEFAULT_DURATION)
    return integer(duration, "duration_minutes", MIN_DURATION, MAX_DURATION, " min")


def _channels(body: Mapping[str, Any], available: Sequence[Channel]) -> tuple[Channel, ...]:
    raw_channels = body.get("channels", [c.value for c in available])
    if not isinstance(raw_channels, list) or not raw_channels:
        raise InvalidInput(
            "wrong_type",
            f"channels must be a non-empty list; available: {', '.join(available)}.",
            "channels",
        )
    return tuple(
        dict.fromkeys(choice(c, "channels", Channel, available, "channel") for c in raw_channels)
    )


def _description(value: Any, incident: Incident, callback_number: str) -> str:
    """The description of whom to look out for: it must fit the alert it goes into."""
    description = text(value, "description")
    if not messages.to_gsm7(description).strip(" ?"):  # nothing a reader would see
        raise InvalidInput(
            "empty_description",
            "description is empty; describe the person or vehicle to look out for.",
            "description",
        )
    overflow = messages.description_overflow(incident, description, callback_number)
    if overflow:
        raise InvalidInput(
            "description_too_long",
            f"description is {overflow} characters too long: the alert must fit in "
            f"{messages.MAX_SEGMENTS} SMS segments in every language.",
            "description",
        )
    return description


def parse_update_request(
    body: Mapping[str, Any], incident: Incident, callback_number: str
) -> UpdateRequest:
    """Validate a POST /actions/{id}/updates body for an action of this incident."""
    check_fields(body, UPDATE_FIELDS)
    message = text(required(body, "message"), "message")
    if not messages.to_gsm7(message).strip(" ?"):
        raise InvalidInput(
            "empty_message", "message is empty; say what changed or what to look for.", "message"
        )
    overflow = messages.update_message_overflow(incident, message, callback_number)
    if overflow:
        raise InvalidInput(
            "message_too_long",
            f"message is {overflow} characters too long: the update must fit in "
            f"{messages.MAX_SEGMENTS} SMS segments in every language.",
            "message",
        )
    description = body.get("description")
    if description is not None:
        description = _description(description, incident, callback_number)
    return UpdateRequest(message, description)


def parse_close_request(body: Mapping[str, Any]) -> CloseRequest:
    """Validate a POST /actions/{id}/close body."""
    check_fields(body, CLOSE_FIELDS)
    outcome = choice(required(body, "outcome"), "outcome", Outcome, CLOSE_OUTCOMES)
    message = body.get("message")
    if message is not None:
        message = text(message, "message") or None
    if message:
        overflow = messages.result_message_overflow(outcome, message)
        if overflow:
            raise InvalidInput(
                "message_too_long",
                f"message is {overflow} characters too long: the result must fit in "
                f"{messages.MAX_SEGMENTS} SMS segments in every language.",
                "message",
            )
    return CloseRequest(outcome, message)


def parse_reach_request(body: Mapping[str, Any], available: Sequence[Channel]) -> ReachRequest:
    """Validate a POST /reach body: its fields follow POST /actions' rules."""
    check_fields(body, REACH_FIELDS)
    area = parse_action_area(required(body, "area"))
    incident = body.get("incident")
    return ReachRequest(
        area,
        _channels(body, available),
        _duration(body),
        None if incident is None else choice(incident, "incident", Incident, list(Incident)),
    )


def parse_list_query(params: Mapping[str, str] | None) -> tuple[str, int, str | None]:
    """Validate GET /actions query parameters: status, limit and the page token."""
    params = params or {}
    limit, page = parse_page_query(params, LIST_FIELDS)
    status = params.get("status", "active")
    if status not in ("active", "closed"):
        raise InvalidInput(
            "unknown_status", f"Unknown status {status!r}; allowed: active, closed.", "status"
        )
    return status, limit, page


def parse_page_query(
    params: Mapping[str, str] | None, extra: tuple[str, ...] = ()
) -> tuple[int, str | None]:
    """Validate a list route's `limit` and `next` (and refuse parameters other than `extra`)."""
    params = params or {}
    check_fields(params, (*extra, *PAGE_FIELDS))
    raw_limit = params.get("limit", str(DEFAULT_LIST_LIMIT))
    digits = raw_limit.lstrip("0")
    # The length first: int() refuses a string of more than 4,300 digits with a ValueError.
    if (
        not (raw_limit.isascii() and raw_limit.isdigit())
        or len(digits) > len(str(MAX_LIST_LIMIT))
        or not 1 <= int(digits or "0") <= MAX_LIST_LIMIT
    ):
        shown = raw_limit if len(raw_limit) <= 20 else f"{raw_limit[:20]}…"
        raise InvalidInput(
            "out_of_range", f"limit is {shown!r}; allowed is 1–{MAX_LIST_LIMIT}.", "limit"
        )
    return int(digits), params.get("next")
