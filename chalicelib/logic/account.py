"""A participant's own account: who they are, their preferences, their export, and leaving."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from chalicelib.adapters.errors import SendFailed
from chalicelib.adapters.sms import parse_reply
from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries, devices, participants, verifications
from chalicelib.dal.records import (
    DeliveryRecord,
    DeviceRecord,
    LocationRecord,
    ParticipantRecord,
)
from chalicelib.domain import messages
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import Language, iso
from chalicelib.domain.signup import Preferences, is_stop
from chalicelib.logic import codes
from chalicelib.logic.ports import Geocoder, Services
from chalicelib.logic.signup import resolve_places
from chalicelib.logs import log_event

KEPT = (
    "Alerts are kept for 90 days; an app's location for two hours; sightings for "
    "90 days, their text until 30 days after the action closed. When you leave, your "
    "alerts keep only how they went, without your number. "
    "Your birth date was never stored."
)

# "from" is a keyword, so this one is spelt as a call.
QuietHoursView = TypedDict("QuietHoursView", {"from": str, "to": str | None})


class PlaceView(TypedDict):
    """One of a participant's places."""

    label: str
    lat: float
    lon: float
    postcode: str | None
    house_number: str | None
    addition: str | None
    municipality: str | None


class ParticipantView(TypedDict):
    """A participant as they may see themselves."""

    participant_id: str
    phone: str
    language: str
    channel: str
    municipality: str | None
    quiet_hours: QuietHoursView | None
    places: list[PlaceView]
    joined_at: str


class LocationView(TypedDict):
    """An install's current location, while it counts."""

    lat: float
    lon: float
    until: str | None


class DeviceView(TypedDict):
    """One of a participant's app installs."""

    device_id: str
    platform: str
    registered_at: str
    shares_location: bool
    location: LocationView | None


class DeliveryView(TypedDict):
    """How one action's messages to the participant went."""

    action_id: str
    ref: str | None  # as quoted in the alert itself
    channel: str
    distance_m: int
    alert: str
    alert_at: str | None
    call_outcome: str | None  # calls only: answered | no_answer | busy | failed
    result: str | None
    result_at: str | None


class SightingView(TypedDict):
    """A sighting one of the participant's installs reported."""

    action_id: str
    seen_at: str
    received_at: str
    lat: float
    lon: float
    text: str | None


class Export(TypedDict):
    """Everything stored about a participant."""

    participant: ParticipantView
    age_checked: bool
    alerts: list[DeliveryView]
    devices: list[DeviceView]
    sightings: list[SightingView]
    kept: str


def me(participant_id: str) -> ParticipantRecord:
    """The participant behind a session."""
    participant = participants.get_participant(participant_id)
    if participant is None:
        raise NotFound("not_found", "This participant no longer exists.")
    return participant


def update_preferences(
    participant_id: str, change: Preferences, geocoder: Geocoder
) -> ParticipantRecord:
    """Apply a preference change; places are replaced as a whole, in one transaction."""
    previous = me(participant_id)
    places = resolve_places(change.places, geocoder) if change.places is not None else None
    return participants.update_participant(previous, change, places)


def confirm_unsubscribe(unsubscribe_id: str, code: str, services: Services, now: datetime) -> None:
    """Remove the participant and every place of theirs, then say goodbye by SMS.

    The code is used up first (so it works once) and given back if leaving fails, so a failed
    attempt can be retried with it.
    """
    participant, record = codes.participant_for("unsubscribe", unsubscribe_id, code, now)
    with codes.given_back_if_failed(record):
        leave(participant, "unsubscribe", services)


def leave(participant: ParticipantRecord, how: str, services: Services | None) -> None:
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
    participants.delete_participant(participant)
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
    participant = participants.find_by_phone(phone)
    if participant is None:
        return False
    leave(participant, "stop_reply", None)
    return True


def receive_reply(message: str) -> None:
    """An SMS reply (SNS two-way messaging): STOP removes its sender at once; anything else, or a
    reply that names no sender, changes nothing."""
    reply = parse_reply(message)
    if reply is not None and is_stop(reply.text):
        removed = stop_by_reply(reply.phone)
        log_event("stop_reply", removed=int(removed))


def participant_view(p: ParticipantRecord) -> ParticipantView:
    """A participant as they may see themselves."""
    return ParticipantView(
        participant_id=p.participant_id,
        phone=p.phone,
        language=p.language,
        channel=p.channel,
        municipality=p.municipality,
        quiet_hours={"from": p.quiet_from, "to": p.quiet_to} if p.quiet_from else None,
        places=[
            PlaceView(
                label=r.label,
                lat=float(r.lat),
                lon=float(r.lon),
                postcode=r.postcode,
                house_number=r.house_number,
                addition=r.addition,
                municipality=r.municipality,
            )
            for r in p.places
        ],
        joined_at=iso(p.created_at),
    )


def own_view(participant_id: str) -> ParticipantView:
    """The participant behind a session, as they may see themselves."""
    return participant_view(me(participant_id))


def change_preferences(
    participant_id: str, change: Preferences, geocoder: Geocoder
) -> ParticipantView:
    """Apply a preference change; return the participant as they now see themselves."""
    return participant_view(update_preferences(participant_id, change, geocoder))


def erase(participant_id: str) -> None:
    """Erase the participant behind a session at their own request, with no goodbye SMS."""
    leave(me(participant_id), "erasure", None)


def export(participant_id: str, now: datetime) -> Export:
    """Everything stored about a participant (AVG/GDPR article 15), and nobody else's."""
    participant = me(participant_id)
    delivered = deliveries.of_participant(participant_id)
    refs = action_store.refs([str(d.action_id) for d in delivered])
    apps = devices.of_participant(participant_id)
    return Export(
        participant=participant_view(participant),
        age_checked=bool(participant.age_checked),
        alerts=[_delivery_view(d, refs.get(str(d.action_id))) for d in delivered],
        devices=[_device_view(d, devices.current_location(d, now)) for d in apps],
        sightings=[
            SightingView(
                action_id=s.action_id,
                seen_at=iso(s.seen_at),
                received_at=iso(s.received_at),
                lat=float(s.lat),
                lon=float(s.lon),
                text=s.text,
            )
            for s in devices.sightings_by([str(d.device_id) for d in apps])
        ],
        kept=KEPT,
    )


def _device_view(d: DeviceRecord, place: LocationRecord | None) -> DeviceView:
    return DeviceView(
        device_id=d.device_id,
        platform=d.platform,
        registered_at=iso(d.created_at),
        shares_location=place is not None,
        location=None
        if place is None
        else LocationView(
            lat=float(place.lat),
            lon=float(place.lon),
            until=iso(place.expires) if place.expires else None,
        ),
    )


def _delivery_view(d: DeliveryRecord, ref: str | None) -> DeliveryView:
    return DeliveryView(
        action_id=d.action_id,
        ref=ref,
        channel=d.channel,
        distance_m=int(d.distance_m),
        alert=d.alert_status,
        alert_at=iso(d.alert_at) if d.alert_at else None,
        call_outcome=d.alert_outcome,
        result=d.result_status,
        result_at=iso(d.result_at) if d.result_at else None,
    )
