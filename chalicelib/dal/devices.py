"""App installs and their current location in the geo index; sightings they report."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.dal.models import Device, Participant, Place, Sighting
from chalicelib.dal.participants import get_participant
from chalicelib.domain.devices import NewSighting
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.geo import place_cell, place_sort_key
from chalicelib.domain.model import Channel

LOCATION_TTL = timedelta(hours=2)  # a current location older than this is not used, then deleted
SIGHTING_TTL = timedelta(days=90)
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
    )
    device.save(condition=Device.device_id.does_not_exist())
    return device, secret


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


def unlink_participant(participant_id: str) -> int:
    """A participant left: their installs carry on anonymously, their current locations go.

    The locations carry the participant's phone number, so they must not outlive them.
    """
    unlinked = 0
    for device in of_participant(participant_id):
        device.participant_id = None
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
