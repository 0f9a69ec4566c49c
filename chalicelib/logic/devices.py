"""The app's installs: registration (attested, limited per address), locations, sightings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from chalicelib.adapters.attestation import AttestationRefused, AttestationUnavailable
from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.push import EndpointGone
from chalicelib.dal import actions, deliveries, ratelimits
from chalicelib.dal import devices as device_store
from chalicelib.dal.verifications import session_participant
from chalicelib.domain.devices import (
    Fix,
    NewDevice,
    address_bucket,
    check_plausible_move,
    parse_position,
    parse_sighting,
    sighting_view,
)
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from chalicelib.domain.model import ActionStatus, DeliveryStatus
from chalicelib.logic.ports import Attestation, PushRegistry
from chalicelib.logs import log_event

HOUR_S = 3600
REGISTRATIONS_PER_ADDRESS_PER_HOUR = 10
LOCATION_UPDATES_PER_HOUR = 60
SIGHTINGS_PER_HOUR = 10  # per device
# Per participant and action: all their installs together. A witness following someone reports
# every few minutes at most; 20 is one every 3 minutes for a whole hour, a phone and a tablet
# both at their own cap. So one person's many installs take at most a tenth of the action's 200.
SIGHTINGS_PER_PARTICIPANT_PER_HOUR = 20
SIGHTINGS_PER_ACTION_PER_HOUR = 200  # what one dispatcher can still read during a live search
# An alert whose send was ambiguous may well have arrived: its reader may report what they saw.
ALERTED = frozenset({DeliveryStatus.SENT, DeliveryStatus.UNKNOWN})


class SightingsPage(TypedDict):
    """A page of an action's sightings for dispatch, and the next page's token."""

    sightings: list[dict[str, Any]]
    next: str | None


@dataclass(frozen=True)
class DeviceServices:
    """The outside world the app's routes need."""

    push: PushRegistry | None  # None where this deployment has no platform application
    attestation: Attestation | None  # None: attestation is switched off (ATTESTATION=off)


def _limit(scope: str, subject: str, limit: int, now: datetime, code: str, what: str) -> None:
    """Count one request in an hourly window; the 429 names the limit that was reached."""
    try:
        ratelimits.hit(scope, subject, limit, HOUR_S, now, code)
    except TooManyRequests as exc:
        retry_after = exc.params["retry_after"]
        raise TooManyRequests(
            code,
            f"At most {limit} {what} per hour; try again in {retry_after} seconds.",
            retry_after=retry_after,
            limit=limit,
        ) from None


def session_owner(authorization: str | None, now: datetime) -> str | None:
    """The participant of a Bearer session token, if one is sent (then it must be valid)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return session_participant(token.strip() if scheme.lower() == "bearer" else None, now)


def _attest(request: NewDevice, attestation: Attestation | None, now: datetime) -> None:
    if attestation is None:
        return
    if request.attestation is None:
        raise Unauthorized(
            "attestation_required",
            "Registration needs an attestation token from the app (field attestation): "
            "Play Integrity on Android, App Attest on iOS.",
            "attestation",
        )
    try:
        attestation.verify(request.platform, request.attestation, request.push_token, now)
    except AttestationRefused as refused:
        log_event("device_attestation_refused", platform=request.platform, reason=refused.reason)
        raise Forbidden(
            "attestation_failed",
            "The attestation token does not vouch for this app and push token, or is older "
            "than 10 minutes; request a new one and register again.",
            "attestation",
        ) from None
    except AttestationUnavailable as down:
        # Google could not be asked: our outage, not the app's fault; the app retries later.
        log_event("device_attestation_unavailable", platform=request.platform, reason=str(down))
        raise ServiceUnavailable(
            "attestation_unavailable",
            "The app's attestation cannot be checked right now; try again in a few minutes.",
            retry_after=60,
        ) from None


def register(
    request: NewDevice,
    authorization: str | None,
    source: str,
    services: DeviceServices,
    now: datetime,
) -> tuple[str, str]:
    """Register an install for push; (device id, its secret, shown once).

    Every attempt counts toward the address's limit, attested or not, so a script cannot
    spend the verifier's quota or probe it freely.
    """
    _limit(
        "devices-from",
        address_bucket(source),
        REGISTRATIONS_PER_ADDRESS_PER_HOUR,
        now,
        "too_many_devices",
        "device registrations per address",
    )
    participant_id = session_owner(authorization, now)
    push = services.push
    if push is None or request.platform not in push.platform_application_arns:
        raise InvalidInput(
            "push_not_available", "Push notifications are not available here.", "platform"
        )
    _attest(request, services.attestation, now)
    try:
        endpoint = push.register(request.platform, request.push_token)
    except EndpointGone:
        raise InvalidInput(
            "invalid_push_token", "This push token is refused.", "push_token"
        ) from None
    except SendFailed as exc:
        log_event("device_register_failed", code=exc.code)
        raise
    device, secret = device_store.create_device(
        request.platform, endpoint, request.language, participant_id, now
    )
    log_event("device_registered", device_id=device.device_id, linked=int(bool(participant_id)))
    return device.device_id, secret


def update_location(
    device_id: str, secret: str | None, body: Mapping[str, Any], now: datetime
) -> int:
    """Replace the device's current location; the seconds it counts for."""
    device = device_store.authenticate(device_id, secret)
    lat, lon = parse_position(body)
    _limit(
        "device-location",
        device_id,
        LOCATION_UPDATES_PER_HOUR,
        now,
        "too_many_updates",
        "location updates per device",
    )
    last = None
    if device.located_at and device.located_lat is not None and device.located_lon is not None:
        last = Fix(float(device.located_lat), float(device.located_lon), device.located_at)
    check_plausible_move(last, Fix(lat, lon, now))
    device_store.set_location(device, lat, lon, now)
    return int(device_store.LOCATION_TTL.total_seconds())


def delete(device_id: str, secret: str | None, push: PushRegistry | None) -> None:
    """Remove the install, its location and its push endpoint."""
    device = device_store.authenticate(device_id, secret)
    device_store.delete_device(device)
    if push is not None and device.endpoint_arn:
        push.delete(str(device.endpoint_arn))
    log_event("device_deleted", device_id=device_id)


def report_sighting(
    action_id: str,
    device_id: str | None,
    secret: str | None,
    body: Mapping[str, Any],
    now: datetime,
) -> str:
    """Store a sighting from a device that was alerted for the action; its id."""
    device = device_store.authenticate(device_id, secret)
    action = actions.get_action(action_id)
    if action.status != ActionStatus.ACTIVE:
        raise Conflict("action_not_active", "This action is closed; no sightings are taken.")
    sighting = parse_sighting(body, datetime.fromisoformat(str(action.created_at)), now)
    # Checked before any limit counts: devices that were not alerted cannot use up the action's
    # budget and so crowd out the people who were.
    recipients = [f"device:{device.device_id}"]
    if device.participant_id:
        recipients.append(str(device.participant_id))
    if not any(d.alert_status in ALERTED for d in deliveries.load(action_id, recipients)):
        raise Forbidden(
            "not_alerted",
            "Only a device (or its participant) that was alerted for this action can report "
            "sightings for it.",
        )
    _limit(
        "sighting",
        device.device_id,
        SIGHTINGS_PER_HOUR,
        now,
        "too_many_sightings",
        "sightings per device",
    )
    # Keyed by action and person (hashed in the store): 20 linked installs share one budget.
    _limit(
        "sightings-by",
        f"{action_id}#{device_store.location_owner(device)}",
        SIGHTINGS_PER_PARTICIPANT_PER_HOUR,
        now,
        "too_many_sightings",
        "sightings per participant for one action",
    )
    _limit(
        "sightings-of",
        action_id,
        SIGHTINGS_PER_ACTION_PER_HOUR,
        now,
        "too_many_sightings",
        "sightings per action",
    )
    stored = device_store.add_sighting(action_id, device.device_id, sighting, now)
    log_event("sighting_reported", action_id=action_id, device_id=device.device_id)
    return str(stored.sighting_id)


def list_sightings(action_id: str, limit: int, page: str | None) -> SightingsPage:
    """Dispatch: a page of an action's sightings, newest received first, from its centre."""
    action = actions.get_action(action_id)
    centre = (float(action.lat), float(action.lon))
    found, next_page = device_store.sightings_page(action_id, limit, page)
    return SightingsPage(
        sightings=[
            sighting_view(
                centre, s.seen_at, s.received_at, float(s.lat), float(s.lon), s.text or None
            )
            for s in found
        ],
        next=next_page,
    )
