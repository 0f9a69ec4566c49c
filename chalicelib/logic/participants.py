"""The participant lifecycle: signup, login, preferences, export, leaving."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.pdok import GeocoderUnavailable, PdokGeocoder
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries, devices, municipalities, ratelimits, verifications
from chalicelib.dal.models import Delivery, Device, Participant, Verification
from chalicelib.dal.participants import (
    delete_participant,
    find_by_phone,
    get_participant,
    place_ref,
    save_participant,
)
from chalicelib.domain import messages
from chalicelib.domain.areas import locate
from chalicelib.domain.errors import InvalidInput, NotFound, TooManyRequests
from chalicelib.domain.model import Language, iso
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.signup import (
    AddressInput,
    Place,
    Preferences,
    QuietHours,
    SignupRequest,
    places_from_json,
    places_to_json,
)
from chalicelib.logic.sending import Voice
from chalicelib.logs import log_event

CODES_PER_PHONE_PER_HOUR = 3
CODES_PER_ADDRESS_PER_HOUR = 20  # a household, an office or a library behind one address
CHECKS_PER_ADDRESS_PER_10_MIN = 30


@dataclass(frozen=True)
class Services:
    """The outside world the participant routes need."""

    geocoder: PdokGeocoder
    sms: SnsSms
    voice: Voice | None  # reads codes out to landlines; None where this deployment does not call


def _limit_source(source: str, now: datetime) -> None:
    ratelimits.hit("codes-from", source, CODES_PER_ADDRESS_PER_HOUR, 3600, now, "too_many_requests")


def _limit_phone(phone: str, now: datetime) -> None:
    ratelimits.hit("codes-to", phone, CODES_PER_PHONE_PER_HOUR, 3600, now, "too_many_codes")


def limit_checks(source: str, now: datetime) -> None:
    """Guard the code-checking routes against guessing from one address."""
    ratelimits.hit("checks", source, CHECKS_PER_ADDRESS_PER_10_MIN, 600, now, "too_many_requests")


def _send_code(
    services: Services, purpose: str, phone: str, language: Language, code: str, reference: str
) -> None:
    """By SMS to a mobile; a landline gets a call that reads the code out, digit by digit."""
    text = messages.render_code(purpose, code, language)
    try:
        if is_mobile(phone) or services.voice is None:
            services.sms.send(phone, text)
        else:
            spoken = text.replace(code, ", ".join(code))
            services.voice.call(phone, spoken, language, f"code:{reference}")
    except SendFailed as exc:
        log_event("code_not_sent", purpose=purpose, code=exc.code)
        raise TooManyRequests(
            "too_many_requests",
            "The code could not be sent now; try again shortly.",
            retry_after=60,
        ) from None


def resolve_places(
    places: tuple[AddressInput | Place, ...], geocoder: PdokGeocoder
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
                    municipality=locate(known, place.lat, place.lon),
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
    _limit_source(source, now)
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
    _limit_phone(request.phone, now)  # after validation: a typo does not cost one of the three
    code = verifications.new_code()
    pending = {
        "municipality": request.municipality,
        "language": request.language.value,
        "channel": request.channel.value,
        "places": places_to_json(places),
        "quiet_hours": _quiet_json(request.quiet_hours),
    }
    record = verifications.create("signup", request.phone, code, now, request=json.dumps(pending))
    _send_code(services, "signup", request.phone, request.language, code, record.verification_id)
    log_event("signup_started", signup_id=record.verification_id, municipality=request.municipality)
    return record.verification_id, int(verifications.CODE_VALID.total_seconds())


def verify_signup(signup_id: str, code: str, now: datetime) -> str:
    """Complete a signup with its code; the person now receives alerts. Returns their id."""
    record = verifications.check(signup_id, "signup", code, now)
    pending = json.loads(record.request or "{}")
    previous = find_by_phone(record.phone)
    pid = previous.participant_id if previous else str(uuid.uuid4())
    quiet = pending["quiet_hours"]
    participant = Participant(
        pid,
        phone=record.phone,
        language=pending["language"],
        channel=pending["channel"],
        places=_refs(pid, places_from_json(pending["places"])),
        created_at=previous.created_at if previous else now,
        quiet_from=quiet["from"] if quiet else None,
        quiet_to=quiet["to"] if quiet else None,
        municipality=pending["municipality"],
        age_checked=True,
    )
    save_participant(participant, previous)
    verifications.finish(record)
    log_event("signup_verified", participant_id=pid, municipality=pending["municipality"])
    return pid


def start_code_login(
    purpose: str, phone: str, language: Language, source: str, services: Services, now: datetime
) -> tuple[str, int]:
    """Send a login or unsubscribe code to a participant's phone.

    Unknown numbers get the same answer (and no SMS), so the answer reveals nothing.
    """
    _limit_source(source, now)
    _limit_phone(phone, now)
    participant = find_by_phone(phone)
    code = verifications.new_code()
    record = verifications.create(
        purpose,
        phone,
        code,
        now,
        participant_id=participant.participant_id if participant else None,
    )
    if participant is not None:
        language = Language(participant.language or language)
        _send_code(services, purpose, phone, language, code, record.verification_id)
    return record.verification_id, int(verifications.CODE_VALID.total_seconds())


def _participant_for(
    purpose: str, verification_id: str, code: str, now: datetime
) -> tuple[Participant, Verification]:
    record = verifications.check(verification_id, purpose, code, now)
    participant = get_participant(record.participant_id) if record.participant_id else None
    if participant is None:
        verifications.finish(record)
        raise NotFound("not_found", "Unknown or finished request; start again.", "code")
    return participant, record


def verify_login(login_id: str, code: str, now: datetime) -> tuple[str, int]:
    """Exchange a login code for a short-lived token; returns (token, seconds it lasts)."""
    participant, record = _participant_for("login", login_id, code, now)
    token = verifications.start_session(participant.participant_id, now)
    verifications.finish(record)
    return token, int(verifications.SESSION_VALID.total_seconds())


def confirm_unsubscribe(unsubscribe_id: str, code: str, services: Services, now: datetime) -> None:
    """Remove the participant and every place of theirs, then say goodbye by SMS.

    The code is used up only once they are gone, so a failed attempt can be retried with it.
    """
    participant, record = _participant_for("unsubscribe", unsubscribe_id, code, now)
    leave(participant, "unsubscribe", services)
    verifications.finish(record)


def leave(participant: Participant, how: str, services: Services | None) -> None:
    """Erase a participant at once (with a goodbye SMS when `services` is given).

    Their deliveries keep only their outcome, their apps' sightings lose who sent them and
    what they wrote, their apps carry on anonymously without a location, and their codes and
    sessions go. The participant record goes last, so a failure half-way can be retried.
    """
    pid = str(participant.participant_id)
    apps = [str(d.device_id) for d in devices.of_participant(pid)]
    sightings = devices.anonymise_sightings(apps)
    devices.unlink_participant(pid)
    stripped = deliveries.strip_participant(pid)
    verifications.forget_phone(str(participant.phone))
    delete_participant(participant)
    sessions = verifications.end_sessions(pid)
    log_event(
        "participant_left",
        participant_id=pid,
        how=how,
        deliveries=stripped,
        sightings=sightings,
        sessions=sessions,
    )
    if services is not None:
        try:
            services.sms.send(
                participant.phone, messages.render_goodbye(Language(participant.language))
            )
        except SendFailed as exc:
            log_event("goodbye_not_sent", code=exc.code)


def stop_by_reply(phone: str) -> bool:
    """A STOP reply: remove whoever has this phone (no code: the reply proves possession)."""
    participant = find_by_phone(phone)
    if participant is None:
        return False
    leave(participant, "stop_reply", None)
    return True


def me(participant_id: str) -> Participant:
    """The participant behind a session."""
    participant = get_participant(participant_id)
    if participant is None:
        raise NotFound("not_found", "This participant no longer exists.")
    return participant


def update_preferences(
    participant_id: str, change: Preferences, geocoder: PdokGeocoder
) -> Participant:
    """Apply a preference change; places are replaced as a whole, in one transaction."""
    previous = me(participant_id)
    updated = Participant(participant_id, **previous.attribute_values)
    if change.language:
        updated.language = change.language.value
    if change.channel:
        updated.channel = change.channel.value
    if change.quiet_hours:
        updated.quiet_from, updated.quiet_to = change.quiet_hours.start, change.quiet_hours.end
    elif change.clear_quiet_hours:
        updated.quiet_from = updated.quiet_to = None
    if change.places is not None:
        updated.places = _refs(participant_id, resolve_places(change.places, geocoder))
    save_participant(updated, previous)
    return updated


def participant_view(p: Participant) -> dict[str, Any]:
    """A participant as they may see themselves."""
    return {
        "participant_id": p.participant_id,
        "phone": p.phone,
        "language": p.language,
        "channel": p.channel,
        "municipality": p.municipality,
        "quiet_hours": {"from": p.quiet_from, "to": p.quiet_to} if p.quiet_from else None,
        "places": [
            {
                "label": r.label,
                "lat": float(r.lat),
                "lon": float(r.lon),
                "postcode": r.postcode,
                "house_number": r.house_number,
                "addition": r.addition,
                "municipality": r.municipality,
            }
            for r in p.places
        ],
        "joined_at": iso(p.created_at),
    }


def export(participant_id: str, now: datetime) -> dict[str, Any]:
    """Everything stored about a participant (AVG/GDPR article 15), and nobody else's."""
    participant = me(participant_id)
    delivered = list(Delivery.by_participant.query(participant_id))
    refs = action_store.refs([str(d.action_id) for d in delivered])
    apps = devices.of_participant(participant_id)
    return {
        "participant": participant_view(participant),
        "age_checked": bool(participant.age_checked),
        "alerts": [_delivery_view(d, refs.get(str(d.action_id))) for d in delivered],
        "devices": [_device_view(d, now) for d in apps],
        "sightings": [
            {
                "action_id": s.action_id,
                "seen_at": iso(s.seen_at),
                "received_at": iso(s.received_at),
                "lat": float(s.lat),
                "lon": float(s.lon),
                "text": s.text,
            }
            for s in devices.sightings_by([str(d.device_id) for d in apps])
        ],
        "kept": "Alerts are kept for 90 days; an app's location for two hours; sightings for "
        "90 days, their text until 30 days after the action closed. When you leave, your "
        "alerts keep only how they went, without your number. "
        "Your birth date was never stored.",
    }


def _device_view(d: Device, now: datetime) -> dict[str, Any]:
    place = devices.current_location(d, now)
    return {
        "device_id": d.device_id,
        "platform": d.platform,
        "registered_at": iso(d.created_at),
        "shares_location": place is not None,
        "location": None
        if place is None
        else {
            "lat": float(place.lat),
            "lon": float(place.lon),
            "until": iso(place.expires) if place.expires else None,
        },
    }


def _delivery_view(d: Delivery, ref: str | None) -> dict[str, Any]:
    return {
        "action_id": d.action_id,
        "ref": ref,  # as quoted in the alert itself
        "channel": d.channel,
        "distance_m": int(d.distance_m),
        "alert": d.alert_status,
        "alert_at": iso(d.alert_at) if d.alert_at else None,
        "call_outcome": d.alert_outcome,  # calls only: answered | no_answer | busy | failed
        "result": d.result_status,
        "result_at": iso(d.result_at) if d.result_at else None,
    }


def _refs(pid: str, places: tuple[Place, ...]) -> list[Any]:
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


def _quiet_json(quiet: QuietHours | None) -> dict[str, str] | None:
    return {"from": quiet.start, "to": quiet.end} if quiet else None
