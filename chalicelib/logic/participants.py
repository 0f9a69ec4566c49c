"""The participant lifecycle: signup, login, preferences, export, leaving."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
from chalicelib.domain.errors import (
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from chalicelib.domain.model import Language, iso
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.signup import (
    AddressInput,
    Place,
    Preferences,
    QuietHours,
    SignupRequest,
    is_stop,
    places_from_json,
    places_to_json,
)
from chalicelib.logic.ports import Voice
from chalicelib.logs import log_event
from chalicelib.queues import WorkQueue

CODES_PER_PHONE_PER_HOUR = 3
CODES_PER_ADDRESS_PER_HOUR = 20  # a household, an office or a library behind one address
CHECKS_PER_ADDRESS_PER_10_MIN = 30
# Guesses a phone may get wrong over all its requests in a day: two requests' worth, so a
# script cannot try 5 codes on each of many fresh requests.
WRONG_CODES_PER_PHONE_PER_DAY = 10
DAY_S = 86_400


@dataclass(frozen=True)
class Services:
    """The outside world the participant routes need."""

    geocoder: PdokGeocoder
    sms: SnsSms
    voice: Voice | None  # reads codes out to landlines; None where this deployment does not call
    codes: WorkQueue  # login and unsubscribe codes, sent by the code_sender worker
    codes_per_hour: int  # the overall budget of codes (CODES_PER_HOUR)


def _limit_source(source: str, now: datetime) -> None:
    ratelimits.hit("codes-from", source, CODES_PER_ADDRESS_PER_HOUR, 3600, now, "too_many_requests")


def _limit_phone(phone: str, now: datetime) -> None:
    ratelimits.hit("codes-to", phone, CODES_PER_PHONE_PER_HOUR, 3600, now, "too_many_codes")


def _spend_code_budget(services: Services, now: datetime) -> None:
    """Take one code from the hour's budget of the whole service; 503 once it is spent.

    Counted where the code is asked for, member or not, so the answer stays the same for all.
    """
    try:
        ratelimits.hit("codes-all", "all", services.codes_per_hour, 3600, now, "codes_unavailable")
    except TooManyRequests as exc:
        # The ops alarm counts these (infra/template.json, CodeBudgetExhaustedAlarm).
        log_event("code_budget_exhausted", logging.WARNING, budget=services.codes_per_hour)
        retry_after = int(exc.params["retry_after"])
        raise ServiceUnavailable(
            "codes_unavailable",
            f"No codes can be sent right now; try again in {retry_after} seconds.",
            retry_after=retry_after,
        ) from None


def _redeem(purpose: str, verification_id: str, code: str, now: datetime) -> Verification:
    """The verification this right code belongs to, used up (it works once).

    Each guess is counted before it is judged: against its request (5) and its phone (10 wrong
    a day, whatever the request); a right code is given back to the phone's count.
    """
    record = verifications.count_attempt(verification_id, purpose, now)
    try:
        ratelimits.hit(
            "wrong-codes",
            str(record.phone),
            WRONG_CODES_PER_PHONE_PER_DAY,
            DAY_S,
            now,
            "too_many_wrong_codes",
        )
    except TooManyRequests as exc:
        raise TooManyRequests(
            exc.code,
            f"Too many wrong codes for this phone; try again in {exc.params['retry_after']} "
            "seconds.",
            "code",
            retry_after=exc.params["retry_after"],
        ) from None
    if not verifications.matches(record, code):
        raise verifications.wrong_code(record)
    ratelimits.give_back("wrong-codes", str(record.phone), DAY_S, now)
    verifications.consume(record)
    return record


def limit_checks(source: str, now: datetime) -> None:
    """Guard the code-checking routes against guessing from one address."""
    ratelimits.hit("checks", source, CHECKS_PER_ADDRESS_PER_10_MIN, 600, now, "too_many_requests")


def _deliver_code(
    services: Services, purpose: str, phone: str, language: Language, code: str, reference: str
) -> None:
    """By SMS to a mobile; a landline gets a call that reads the code out, digit by digit."""
    text = messages.render_code(purpose, code, language)
    if is_mobile(phone) or services.voice is None:
        services.sms.send(phone, text)
    else:
        spoken = text.replace(code, ", ".join(code))
        services.voice.call(phone, spoken, language, f"code:{reference}")


def _send_code(
    services: Services, purpose: str, phone: str, language: Language, code: str, reference: str
) -> None:
    """Deliver a code while the asker waits; a failure is a 429 to try again shortly."""
    try:
        _deliver_code(services, purpose, phone, language, code, reference)
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
    _spend_code_budget(services, now)
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
    record = _redeem("signup", signup_id, code, now)
    with _given_back_if_failed(record):
        pid = _join(record, now)
    return pid


def _join(record: Verification, now: datetime) -> str:
    """Save the participant a verified signup describes (or update who has the phone)."""
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
    log_event("signup_verified", participant_id=pid, municipality=pending["municipality"])
    return pid


def start_code_login(
    purpose: str, phone: str, language: Language, source: str, services: Services, now: datetime
) -> tuple[str, int]:
    """Ask for a login or unsubscribe code to be sent to a participant's phone.

    Member or not, the same work happens here (a verification, one queued job) and the same
    answer goes back; only the code_sender worker finds out whether the phone takes part.
    """
    _limit_source(source, now)
    _limit_phone(phone, now)
    _spend_code_budget(services, now)
    record = verifications.create(purpose, phone, None, now)
    services.codes.send(
        [{"kind": purpose, "verification_id": record.verification_id, "language": language.value}]
    )
    return record.verification_id, int(verifications.CODE_VALID.total_seconds())


def send_member_code(item: dict[str, Any], services: Services, now: datetime) -> bool:
    """The code_sender worker: give a queued login or unsubscribe its code, members only.

    A non-member's verification keeps a code nobody knows, so checking it answers exactly as
    a member's does. Whether a code went out is never logged with the number (nor the code).
    """
    purpose, verification_id = str(item["kind"]), str(item["verification_id"])
    record = verifications.pending(verification_id, now)
    participant = find_by_phone(str(record.phone)) if record is not None else None
    if record is None or participant is None:
        return False
    code = verifications.new_code()
    if not verifications.set_code(record, code, str(participant.participant_id)):
        return False
    language = Language(participant.language or item.get("language") or Language.NL.value)
    try:
        _deliver_code(services, purpose, str(record.phone), language, code, verification_id)
    except SendFailed as exc:
        log_event("code_not_sent", purpose=purpose, code=exc.code)
        if exc.retryable:
            raise  # nothing went out: SQS brings the job back, with a new code then
        return False
    return True


def _participant_for(
    purpose: str, verification_id: str, code: str, now: datetime
) -> tuple[Participant, Verification]:
    record = _redeem(purpose, verification_id, code, now)
    participant = get_participant(record.participant_id) if record.participant_id else None
    if participant is None:
        raise NotFound("not_found", "Unknown or finished request; start again.", "code")
    return participant, record


@contextmanager
def _given_back_if_failed(record: Verification) -> Iterator[None]:
    """Give a used code back when the work it unlocked fails, so the person can retry it."""
    try:
        yield
    except Exception:
        verifications.give_back(record)
        raise


def verify_login(login_id: str, code: str, now: datetime) -> tuple[str, int]:
    """Exchange a login code for a short-lived token; returns (token, seconds it lasts)."""
    participant, record = _participant_for("login", login_id, code, now)
    with _given_back_if_failed(record):
        token = verifications.start_session(participant.participant_id, now)
    return token, int(verifications.SESSION_VALID.total_seconds())


def confirm_unsubscribe(unsubscribe_id: str, code: str, services: Services, now: datetime) -> None:
    """Remove the participant and every place of theirs, then say goodbye by SMS.

    The code is used up first (so it works once) and given back if leaving fails, so a failed
    attempt can be retried with it.
    """
    participant, record = _participant_for("unsubscribe", unsubscribe_id, code, now)
    with _given_back_if_failed(record):
        leave(participant, "unsubscribe", services)


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


def receive_reply(phone: str, text: str) -> None:
    """An SMS reply from `phone`: STOP removes its sender at once; anything else changes nothing."""
    if is_stop(text):
        removed = stop_by_reply(phone)
        log_event("stop_reply", removed=int(removed))


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


def own_view(participant_id: str) -> dict[str, Any]:
    """The participant behind a session, as they may see themselves."""
    return participant_view(me(participant_id))


def change_preferences(
    participant_id: str, change: Preferences, geocoder: PdokGeocoder
) -> dict[str, Any]:
    """Apply a preference change; return the participant as they now see themselves."""
    return participant_view(update_preferences(participant_id, change, geocoder))


def erase(participant_id: str) -> None:
    """Erase the participant behind a session at their own request, with no goodbye SMS."""
    leave(me(participant_id), "erasure", None)


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


def session_participant(token: str | None, now: datetime) -> str:
    """Whose session a bearer token is, or Unauthorized (the handlers' way to the sessions)."""
    return verifications.session_participant(token, now)
