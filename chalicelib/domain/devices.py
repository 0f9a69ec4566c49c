"""Validation of the app's requests (devices, locations, sightings) and the sighting view."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.geo.service_area import SERVICE_AREA
from chalicelib.domain.geo.sphere import bearing_deg, haversine_m
from chalicelib.domain.model import Language, iso
from chalicelib.domain.validation import check_fields, required

PLATFORMS = ("fcm", "apns")
MAX_TOKEN = 4096
MAX_ATTESTATION = 16 * 1024  # an App Attest object is about 5 KB as base64
MAX_SIGHTING_TEXT = 500
CLOCK_SKEW = timedelta(minutes=2)  # a phone's clock may run a little ahead
MAX_SPEED_KMH = 300  # faster than any car or train here: a move beyond it is a spoofed location
GPS_SLACK_M = 250  # two fixes of a phone that stands still can lie this far apart

# The fields each body takes; the OpenAPI schemas are built from the same tuples.
DEVICE_FIELDS = ("platform", "push_token", "language", "attestation")
LOCATION_FIELDS = ("lat", "lon")
SIGHTING_FIELDS = (*LOCATION_FIELDS, "seen_at", "text")


@dataclass(frozen=True)
class NewDevice:
    """An install asking to be registered."""

    platform: str
    push_token: str
    language: str
    attestation: str | None = None  # the platform's attestation token, when the app sent one


@dataclass(frozen=True)
class NewSighting:
    """A sighting as reported by the app."""

    seen_at: datetime
    lat: float
    lon: float
    text: str | None


def parse_device(body: Mapping[str, Any]) -> NewDevice:
    """Validate POST /devices."""
    check_fields(body, DEVICE_FIELDS)
    platform = required(body, "platform")
    if platform not in PLATFORMS:
        raise InvalidInput(
            "unknown_platform", f"platform must be one of: {', '.join(PLATFORMS)}.", "platform"
        )
    token = required(body, "push_token")
    if not isinstance(token, str) or not 0 < len(token.strip()) <= MAX_TOKEN:
        raise InvalidInput("wrong_type", "push_token must be a non-empty string.", "push_token")
    language = body.get("language", Language.NL.value)
    if language not in tuple(Language):
        raise InvalidInput("unknown_language", "language must be nl or en.", "language")
    attestation = body.get("attestation")
    if attestation is not None and (
        not isinstance(attestation, str) or not 0 < len(attestation) <= MAX_ATTESTATION
    ):
        raise InvalidInput(
            "wrong_type",
            f"attestation must be a non-empty string of at most {MAX_ATTESTATION} characters.",
            "attestation",
        )
    return NewDevice(str(platform), token.strip(), str(language), attestation)


def address_bucket(source: str) -> str:
    """What the per-address limit counts: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber line gets a whole /64; counting single addresses would let it rotate.
    """
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return source
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Fix:
    """Where a device was at a moment."""

    lat: float
    lon: float
    at: datetime


def check_plausible_move(last: Fix | None, now: Fix) -> None:
    """Refuse a location no vehicle could have reached since the device's last one.

    Spoofed devices jump across the country; a phone in a train does not. A small slack lets
    two fixes of a phone standing still disagree.
    """
    if last is None:
        return
    distance = haversine_m(last.lat, last.lon, now.lat, now.lon)
    seconds = max((now.at - last.at).total_seconds(), 0.0)
    if distance - GPS_SLACK_M > MAX_SPEED_KMH / 3.6 * seconds:
        raise InvalidInput(
            "implausible_move",
            f"This location is {distance / 1000:.1f} km from the last one, sent "
            f"{round(seconds)} s ago: faster than {MAX_SPEED_KMH} km/h. Send where the device "
            "is now; a later update from here is accepted once the move is possible.",
            max_speed_kmh=MAX_SPEED_KMH,
        )


def parse_position(
    body: Mapping[str, Any], fields: tuple[str, ...] = LOCATION_FIELDS
) -> tuple[float, float]:
    """Validate lat and lon: numbers inside the service area (the Netherlands)."""
    check_fields(body, fields)
    values = []
    for name in ("lat", "lon"):
        value = required(body, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise InvalidInput("wrong_type", f"{name} must be a number.", name)
        low, high = SERVICE_AREA[name]
        if not low <= value <= high:
            raise InvalidInput(
                "outside_service_area",
                f"{name} {value} is outside the service area (the Netherlands).",
                name,
            )
        values.append(float(value))
    return values[0], values[1]


def parse_sighting(body: Mapping[str, Any], action_created: datetime, now: datetime) -> NewSighting:
    """Validate POST /actions/{id}/sightings: not in the future, not before the action."""
    lat, lon = parse_position(body, SIGHTING_FIELDS)
    raw_seen = body.get("seen_at")
    seen_at = now
    if raw_seen is not None:
        parsed = _time(raw_seen)
        if parsed is None:
            raise InvalidInput(
                "invalid_time", "seen_at must be an ISO 8601 time with a zone.", "seen_at"
            )
        seen_at = parsed
        if seen_at > now + CLOCK_SKEW:
            raise InvalidInput("seen_in_future", "seen_at lies in the future.", "seen_at")
        if seen_at < action_created:
            raise InvalidInput(
                "seen_before_action", "seen_at lies before the action started.", "seen_at"
            )
    text = body.get("text")
    if text is not None:
        if not isinstance(text, str):
            raise InvalidInput("wrong_type", "text must be a string.", "text")
        text = text.strip()
        if len(text) > MAX_SIGHTING_TEXT:
            raise InvalidInput(
                "text_too_long", f"text may have at most {MAX_SIGHTING_TEXT} characters.", "text"
            )
    return NewSighting(seen_at, lat, lon, text or None)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        # In UTC, 0001-01-01T00:00+01:00 falls before year 1: OverflowError, not a time.
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def sighting_view(
    centre: tuple[float, float],
    seen_at: datetime,
    received_at: datetime,
    lat: float,
    lon: float,
    text: str | None,
) -> dict[str, Any]:
    """One sighting for dispatch, with distance and bearing from the incident's centre."""
    return {
        "seen_at": iso(seen_at),
        "received_at": iso(received_at),
        "lat": lat,
        "lon": lon,
        "text": text,
        "distance_m": round(haversine_m(centre[0], centre[1], lat, lon)),
        "bearing_deg": round(bearing_deg(centre[0], centre[1], lat, lon), 1),
    }
