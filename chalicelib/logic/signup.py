"""Signing up: check and resolve a request, send its code, and join once it is verified."""

from __future__ import annotations

import json
from datetime import datetime

from chalicelib.adapters.pdok import GeocoderUnavailable
from chalicelib.dal import municipalities, participants, verifications
from chalicelib.dal.records import VerificationRecord
from chalicelib.domain.errors import InvalidInput, NotFound, TooManyRequests
from chalicelib.domain.outlines import municipality_at
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.signup import (
    AddressInput,
    Place,
    QuietHours,
    SignupRequest,
    places_from_json,
    places_to_json,
)
from chalicelib.logic import codes
from chalicelib.logic.ports import Geocoder, Services
from chalicelib.logs import log_event


def resolve_places(
    places: tuple[AddressInput | Place, ...], geocoder: Geocoder
) -> tuple[Place, ...]:
    """Look addresses up in the BAG and give every place its municipality."""
    known = municipalities.areas()
    resolved = []
    for i, place in enumerate(places):
        if isinstance(place, Place):
            resolved.append(
                Place(
                    place.label,
                    place.lat,
                    place.lon,
                    municipality=municipality_at(known, place.lat, place.lon),
                )
            )
            continue
        try:
            found = geocoder.lookup(place.postcode, place.house_number, place.addition)
        except GeocoderUnavailable:
            log_event("geocoder_unavailable")
            raise TooManyRequests(
                "geocoder_unavailable",
                "Addresses cannot be looked up right now; try again in a few minutes.",
                retry_after=60,
            ) from None
        if found is None:
            raise InvalidInput(
                "address_not_found",
                "This address does not exist; check the postcode and house number.",
                f"places[{i}].postcode",
            )
        resolved.append(
            Place(
                place.label,
                found.lat,
                found.lon,
                found.postcode,
                found.house_number,
                found.addition,
                found.municipality,
            )
        )
    return tuple(resolved)


def start_signup(
    request: SignupRequest, source: str, services: Services, now: datetime
) -> tuple[str, int]:
    """Check and resolve a signup, send its code; return (signup id, seconds the code lasts).

    Whether the phone already takes part is never revealed: verifying then updates them.
    """
    codes.limit_source(source, now)
    try:
        municipalities.get_municipality(request.municipality)
    except NotFound:
        raise InvalidInput(
            "unknown_municipality",
            f"Municipality {request.municipality} does not take part (yet).",
            "municipality",
        ) from None
    if not is_mobile(request.phone) and services.voice is None:
        # The code would have to be read out by a call; that arrives with the voice channel.
        raise InvalidInput(
            "voice_not_available",
            "Calls are not available yet, so a landline cannot receive its code; "
            "sign up with a mobile number.",
            "phone",
        )
    places = resolve_places(request.places, services.geocoder)
    codes.limit_phone(request.phone, now)  # after validation: a typo does not cost one of three
    codes.spend_code_budget(services, now)
    code = verifications.new_code()
    pending = {
        "municipality": request.municipality,
        "language": request.language.value,
        "channel": request.channel.value,
        "places": places_to_json(places),
        "quiet_hours": _quiet_json(request.quiet_hours),
    }
    record = verifications.create("signup", request.phone, code, now, request=json.dumps(pending))
    codes.send_code(
        services, "signup", request.phone, request.language, code, record.verification_id
    )
    log_event("signup_started", signup_id=record.verification_id, municipality=request.municipality)
    return record.verification_id, int(verifications.CODE_VALID.total_seconds())


def verify_signup(signup_id: str, code: str, now: datetime) -> str:
    """Complete a signup with its code; the person now receives alerts. Returns their id."""
    record = codes.redeem("signup", signup_id, code, now)
    with codes.given_back_if_failed(record):
        pid = _join(record, now)
    return pid


def _join(record: VerificationRecord, now: datetime) -> str:
    """Save the participant a verified signup describes (or update who has the phone)."""
    pending = json.loads(record.request or "{}")
    quiet = pending["quiet_hours"]
    pid = participants.save_signup(
        record.phone,
        pending["language"],
        pending["channel"],
        places_from_json(pending["places"]),
        QuietHours(quiet["from"], quiet["to"]) if quiet else None,
        pending["municipality"],
        now,
    )
    log_event("signup_verified", participant_id=pid, municipality=pending["municipality"])
    return pid


def _quiet_json(quiet: QuietHours | None) -> dict[str, str] | None:
    return {"from": quiet.start, "to": quiet.end} if quiet else None
