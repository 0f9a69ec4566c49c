"""App installs and their current location in the geo index; sightings they report."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dal.models import Device, Participant, Place, Sighting
from chalicelib.dal.paging import decode_page, encode_page
from chalicelib.dal.participants import get_participant
from chalicelib.domain.devices import NewSighting
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.geo.keys import place_cell, place_sort_key
from chalicelib.domain.model import Channel

LOCATION_TTL = timedelta(hours=2)  # a current location older than this is not used, then deleted
ANONYMOUS_TTL = timedelta(days=30)  # an install with no person that stops updating goes
SIGHTING_TTL = timedelta(days=90)
SIGHTING_PAGE_KEY = ("sighting_id",)  # the action is the query's own
HERE = "here"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def location_owner(device: Device) -> str:
    """The participant id its location is filed under: the linked person, or the install."""
    return str(device.participant_id) if device.participant_id else f"device:{device.device_id}"


def create_device(
    platform: str, endpoint_arn: str, language: str, participant_id: str | None, now: datetime
) -> tuple[Device, str]:
    """A new install and its secret (only the secret's hash is stored)."""
    secret = secrets.token_urlsafe(32)
    device = Device(
        str(uuid.uuid4()),
        secret_hash=_hash(secret),
        platform=platform,
        endpoint_arn=endpoint_arn,
        participant_id=participant_id,
        language=language,
        created_at=now,
        expires=_expiry(participant_id, now),
    )
    device.save(condition=Device.device_id.does_not_exist())
    return device, secret


def _expiry(participant_id: str | None, now: datetime) -> datetime | None:
    """A linked install lives as long as its person; an anonymous one until it falls silent."""
    return None if participant_id else now + ANONYMOUS_TTL


def authenticate(device_id: str | None, secret: str | None) -> Device:
    """The device if the secret is its own; Unauthorized otherwise (the same for unknown ids)."""
    if device_id and secret:
        try:
            device = Device.get(device_id, consistent_read=True)
        except DoesNotExist:
            device = None
        if device is not None and hmac.compare_digest(device.secret_hash, _hash(secret)):
            return device
    raise Unauthorized("unauthorized", "Unknown device or wrong device secret.")


def set_location(device: Device, lat: float, lon: float, now: datetime) -> None:
    """Replace the device's current place in the geo index (no history), valid for two hours.

    A linked device's place carries the participant's id, phone, language and quiet hours, so
    the ledger's one claim per person also covers their registered places.
    """
    person: Participant | None = None
    if device.participant_id:
        person = get_participant(str(device.participant_id))
        if person is None:
            device.participant_id = None  # the person left: the install carries on anonymously
    owner = location_owner(device)
    # The label part of the key names the device, so two devices of one person never collide.
    item = Place(
        place_cell(lat, lon),
        place_sort_key(lat, lon, owner, f"{HERE}.{device.device_id}"),
        participant_id=owner,
        label=HERE,
        lat=lat,
        lon=lon,
        phone=person.phone if person else "",
        language=person.language if person else device.language,
        channel=Channel.PUSH.value,
        quiet_from=person.quiet_from if person else None,
        quiet_to=person.quiet_to if person else None,
        device_id=device.device_id,
        expires=now + LOCATION_TTL,
    )
    old = (device.location_cell, device.location_sk)
    device.location_cell, device.location_sk = item.cell, item.sk
    device.located_at, device.located_lat, device.located_lon = now, lat, lon
    device.expires = _expiry(device.participant_id, now)
    with TransactWrite(connection=Device._get_connection().connection) as tx:
        tx.save(item)
        if old[0] and old[1] and old != (item.cell, item.sk):
            tx.delete(Place(old[0], old[1]))
        tx.save(device)


def delete_device(device: Device) -> None:
    """Remove the install and its current location, at once."""
    with TransactWrite(connection=Device._get_connection().connection) as tx:
        tx.delete(device)
        if device.location_cell and device.location_sk:
            tx.delete(Place(device.location_cell, device.location_sk))


def unlink_participant(participant_id: str, now: datetime | None = None) -> int:
    """A participant left: their installs carry on anonymously, their current locations go.

    The locations carry the participant's phone number, so they must not outlive them. From now
    on the installs expire like any anonymous one.
    """
    unlinked = 0
    for device in of_participant(participant_id):
        device.participant_id = None
        device.expires = _expiry(None, now or datetime.now(UTC))
        _save_without_location(device)
        unlinked += 1
    return unlinked


def of_participant(participant_id: str) -> list[Device]:
    """The app installs linked to a participant."""
    ids = [key.device_id for key in Device.by_participant.query(participant_id)]
    return list(Device.batch_get(ids, consistent_read=True)) if ids else []


def endpoints(device_ids: Sequence[str]) -> dict[str, str]:
    """device id -> push endpoint ARN, for those devices that (still) have one."""
    ids = list(dict.fromkeys(device_ids))
    if not ids:
        return {}
    return {
        str(d.device_id): str(d.endpoint_arn)
        for d in Device.batch_get(ids, consistent_read=True)
        if d.endpoint_arn
    }


def forget_endpoint(device_id: str) -> str | None:
    """The endpoint is gone: drop it and the device's location (it cannot be reached there).

    Returns the endpoint ARN that was dropped, for deleting it at SNS too.
    """
    try:
        device = Device.get(device_id, consistent_read=True)
    except DoesNotExist:
        return None
    arn = device.endpoint_arn
    device.endpoint_arn = None
    _save_without_location(device)
    return str(arn) if arn else None


def _save_without_location(device: Device) -> None:
    """Save the device and remove its current place from the geo index, in one transaction."""
    cell, sk = device.location_cell, device.location_sk
    device.location_cell = device.location_sk = None
    device.located_at = device.located_lat = device.located_lon = None
    with TransactWrite(connection=Device._get_connection().connection) as tx:
        tx.save(device)
        if cell and sk:
            tx.delete(Place(cell, sk))


def add_sighting(action_id: str, device_id: str, seen: NewSighting, now: datetime) -> Sighting:
    """Store a sighting; its sort key starts with the time received, so key order is arrival."""
    sighting = Sighting(
        action_id,
        f"{now.isoformat()}#{uuid.uuid4()}",
        device_id=device_id,
        seen_at=seen.seen_at,
        received_at=now,
        lat=seen.lat,
        lon=seen.lon,
        text=seen.text,
        expires=now + SIGHTING_TTL,
    )
    sighting.save()
    return sighting


def sightings(action_id: str) -> list[Sighting]:
    """Every sighting of an action, newest received first."""
    return list(Sighting.query(action_id, scan_index_forward=False))


def sightings_page(
    action_id: str, limit: int, page: str | None
) -> tuple[list[Sighting], str | None]:
    """One page of an action's sightings, newest received first, and the next page's token."""
    results = Sighting.query(
        action_id,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=decode_page(page, SIGHTING_PAGE_KEY, {"action_id": action_id}),
    )
    found = list(results)
    last = results.last_evaluated_key
    return found, (encode_page(last, SIGHTING_PAGE_KEY) if last else None)


def strip_sighting_texts(action_id: str) -> int:
    """Remove the free text of an action's sightings (its retention ended); how many had one."""
    stripped = 0
    for found in Sighting.query(action_id, filter_condition=Sighting.text.exists()):
        found.update(actions=[Sighting.text.remove()])
        stripped += 1
    return stripped


def sightings_by(device_ids: Sequence[str]) -> list[Sighting]:
    """Every sighting these installs reported, oldest first."""
    keys = [(k.action_id, k.sighting_id) for d in device_ids for k in Sighting.by_device.query(d)]
    found = list(Sighting.batch_get(keys, consistent_read=True)) if keys else []
    return sorted(found, key=lambda s: str(s.sighting_id))


def anonymise_sightings(device_ids: Sequence[str]) -> int:
    """Cut these installs' sightings from them: no device, no free text; place and time stay.

    Dispatch keeps where and when the person or vehicle was seen, but not by whom.
    """
    cut = 0
    for device_id in device_ids:
        for key in Sighting.by_device.query(device_id):
            try:
                Sighting(key.action_id, key.sighting_id).update(
                    actions=[Sighting.device_id.remove(), Sighting.text.remove()],
                    condition=Sighting.device_id == device_id,  # never recreate one TTL removed
                )
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            cut += 1
    return cut


def current_location(device: Device, now: datetime) -> Place | None:
    """The install's current place in the geo index, while it counts."""
    if not (device.location_cell and device.location_sk):
        return None
    try:
        place = Place.get(device.location_cell, device.location_sk, consistent_read=True)
    except DoesNotExist:
        return None
    return place if place.expires is None or place.expires > now else None
