"""PynamoDB models of the tables; `infra/template.json` is their schema's source of truth."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import STRING
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.domain.model import ActionStatus, DeliveryStatus, Fanout, Kind, Outcome, Stage
from chalicelib.settings import Settings

E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=Model)


def copied(record: object, model: type[M]) -> M:
    """A new, unsaved item of `model` with every attribute of `record`, an item of that model the
    dal handed out (as a read-only record): to change and save in its place."""
    if not isinstance(record, model):
        raise TypeError(f"not a {model.__name__} item: {type(record).__name__}")
    return model(**record.attribute_values)


class EnumAttribute(Attribute[E], Generic[E]):
    """A string attribute read back as a member of `enum`: stored as the member's value, so items
    written as plain strings read back unchanged."""

    attr_type = STRING

    def __init__(self, enum: type[E], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enum = enum

    def serialize(self, value: E | str) -> str:
        """The member's value; a string that names no member is refused before it is written."""
        return self.enum(value).value

    def deserialize(self, value: str) -> E:
        """The member stored."""
        return self.enum(value)


class PhoneIndex(GlobalSecondaryIndex["Participant"]):
    """Finds a participant by phone number, so an import or signup never makes two of one person."""

    class Meta:
        index_name = "phone-index"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


class PlaceRef(MapAttribute[str, Any]):
    """A participant's place as kept on the participant, to find its geo-index item again."""

    label = UnicodeAttribute()
    lat = NumberAttribute()
    lon = NumberAttribute()
    cell = UnicodeAttribute()
    sk = UnicodeAttribute()
    postcode = UnicodeAttribute(null=True)  # when the place was given as an address
    house_number = UnicodeAttribute(null=True)
    addition = UnicodeAttribute(null=True)
    municipality = UnicodeAttribute(null=True)  # CBS code of the municipality it lies in


class Participant(Model):
    """A person taking part: how to reach them and where their places are."""

    class Meta:
        table_name: str | None = None

    participant_id = UnicodeAttribute(hash_key=True)
    phone = UnicodeAttribute()  # E.164
    language = UnicodeAttribute()
    channel = UnicodeAttribute()
    places = ListAttribute(of=PlaceRef)
    created_at = UTCDateTimeAttribute()
    quiet_from = UnicodeAttribute(null=True)  # HH:MM, Europe/Amsterdam
    quiet_to = UnicodeAttribute(null=True)
    municipality = UnicodeAttribute(null=True)  # where they signed up
    age_checked = BooleanAttribute(null=True)  # 16 or older at signup; the birth date is not kept
    phone_index = PhoneIndex()


class Place(Model):
    """One geo-index item per place; carries what sending needs so targeting reads nothing else."""

    class Meta:
        table_name: str | None = None

    cell = UnicodeAttribute(hash_key=True)  # geohash precision 5
    sk = UnicodeAttribute(range_key=True)  # geohash precision 9 # participant id # label
    participant_id = UnicodeAttribute()
    label = UnicodeAttribute()
    lat = NumberAttribute()
    lon = NumberAttribute()
    phone = UnicodeAttribute()
    language = UnicodeAttribute()
    channel = UnicodeAttribute()
    quiet_from = UnicodeAttribute(null=True)
    quiet_to = UnicodeAttribute(null=True)
    device_id = UnicodeAttribute(null=True)  # an app's current location, not a registered place
    expires = TTLAttribute(null=True)  # current locations expire; registered places do not


class StatusIndex(GlobalSecondaryIndex["Action"]):
    """Lists actions by status, newest first."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    status = EnumAttribute(ActionStatus, hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PendingIndex(GlobalSecondaryIndex["Action"]):
    """Sparse index of actions with fan-out work outstanding; the scheduler re-drives them."""

    class Meta:
        index_name = "pending-index"
        projection = KeysOnlyProjection()

    pending = EnumAttribute(Fanout, hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class RedactionIndex(GlobalSecondaryIndex["Action"]):
    """Sparse index of closed actions that still hold free text, oldest close first."""

    class Meta:
        index_name = "redaction-index"
        projection = KeysOnlyProjection()

    redaction = UnicodeAttribute(hash_key=True)
    closed_at = UnicodeAttribute(range_key=True)


class RefIndex(GlobalSecondaryIndex["Action"]):
    """Finds an action by its public reference (the page, the CAP message)."""

    class Meta:
        index_name = "ref-index"
        projection = KeysOnlyProjection()

    ref = UnicodeAttribute(hash_key=True)


class Bulletin(MapAttribute[str, Any]):
    """One public state of an action (its start, an update, its result): one CAP message each."""

    # Written by earlier versions; CAP's <identifier> is now derived from the reference and the
    # bulletin's place (domain/cap.py), so it is no longer written and never read.
    identifier = UnicodeAttribute(null=True)
    sent = UnicodeAttribute()  # ISO 8601 UTC
    kind = EnumAttribute(Stage)
    update_id = UnicodeAttribute(null=True)  # for kind update


class ActionUpdate(MapAttribute[str, Any]):
    """A dispatcher's update during an action, with how its messages went."""

    update_id = UnicodeAttribute()
    at = UnicodeAttribute()  # ISO 8601 UTC
    message = UnicodeAttribute(null=True)  # None once redacted
    description = UnicodeAttribute(null=True)  # the new description, if it changed
    queued = BooleanAttribute(default=False)  # its fan-out ran (the sweep re-drives it if not)
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    unknown = NumberAttribute(default=0)


class Photo(MapAttribute[str, Any]):
    """An action's photo, metadata stripped, at two sizes, each at a stable public URL."""

    large = UnicodeAttribute()  # 1280 px
    small = UnicodeAttribute()  # 320 px


class Action(Model):
    """A police request to look out for someone, with its live delivery counters."""

    class Meta:
        table_name: str | None = None

    action_id = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute()
    incident = UnicodeAttribute()
    description = UnicodeAttribute(null=True)  # None once redacted
    lat = NumberAttribute()  # the area's centre: a circle's, a polygon's centroid, a line's middle
    lon = NumberAttribute()
    radius_m = NumberAttribute(null=True)  # a circle's; None for a polygon or corridor
    geometry = UnicodeAttribute(null=True)  # a polygon or corridor: its GeoJSON text, as sent
    channels = ListAttribute(of=UnicodeAttribute)
    public = BooleanAttribute(default=True)  # shown in the feeds, on its page and posted
    exercise = BooleanAttribute(default=False)  # an exercise: CAP status Test
    place = UnicodeAttribute(null=True)  # the area's name, for people (e.g. "Utrecht")
    photo = Photo(null=True)
    bulletins = ListAttribute(of=Bulletin, default=list)  # oldest first
    updates = ListAttribute(of=ActionUpdate, default=list)  # oldest first
    # The social posts made, "<network>:<start|update id|result>" -> the network's post id: a
    # retried message finds its post here and makes no second one (dal/actions.record_post).
    posts = MapAttribute[str, Any](default=dict)
    # Where each of those posts stands once taken back, same keys -> a PostState value; a post
    # with no entry is still posted. Deleted is final: a retried deletion skips it.
    post_states = MapAttribute[str, Any](default=dict)
    status = EnumAttribute(ActionStatus)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()  # ISO 8601 UTC: sortable, and the index range key
    expires_at = UnicodeAttribute()
    closed_at = UnicodeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)  # the caller's identity, or "sweeper" when it expired
    targeted_at = UnicodeAttribute(null=True)  # when targeting finished
    outcome = EnumAttribute(Outcome, null=True)
    result_message = UnicodeAttribute(null=True)
    pending = EnumAttribute(Fanout, null=True)  # TARGET or RESULTS while fan-out is outstanding
    redaction = UnicodeAttribute(null=True)  # "due" from the close until the free text is removed
    redacted_at = UnicodeAttribute(null=True)
    # The trace it started in (an AWSTraceHeader value): its later work (results, re-drives)
    # continues it, so an action is one trace. None when tracing is off.
    trace_header = UnicodeAttribute(null=True)
    targeted = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    cancelled = NumberAttribute(default=0)
    unknown = NumberAttribute(default=0)  # the provider may or may not have sent it (at most once)
    results_sent = NumberAttribute(default=0)
    results_failed = NumberAttribute(default=0)
    results_unknown = NumberAttribute(default=0)
    # Provider refusals while sending (each tried again): how hard an action pushed the quotas.
    throttled_sms = NumberAttribute(default=0)
    throttled_voice = NumberAttribute(default=0)
    throttled_push = NumberAttribute(default=0)
    # When each channel's first alert went out (ISO 8601 UTC), written once by a conditional write.
    first_alert_sms = UnicodeAttribute(null=True)
    first_alert_voice = UnicodeAttribute(null=True)
    first_alert_push = UnicodeAttribute(null=True)
    # The people whose alert ended ambiguously (unknown, or found cut off mid-send) and is not
    # settled yet: the sweep's reconciliation reads only these (docs/architecture.md, the ledger).
    unsettled = UnicodeSetAttribute(null=True)
    # Full passes that set the alert counters from the ledger: a sender's chunk adds its counts
    # only if none ran since it read the action (dal/deliveries.py, counts_per_chunk).
    recounts = NumberAttribute(null=True)
    status_index = StatusIndex()
    pending_index = PendingIndex()
    redaction_index = RedactionIndex()
    ref_index = RefIndex()


class Idempotency(Model):
    """Remembers which action (or update) an Idempotency-Key created, for a day."""

    class Meta:
        table_name: str | None = None

    key = UnicodeAttribute(hash_key=True)  # caller identity # Idempotency-Key
    request_hash = UnicodeAttribute()
    action_id = UnicodeAttribute()
    update_id = UnicodeAttribute(null=True)  # set when the key was an update's
    expires = TTLAttribute()


class ParticipantDeliveries(GlobalSecondaryIndex["Delivery"]):
    """A participant's alerts, for their data export."""

    class Meta:
        index_name = "participant-index"
        projection = AllProjection()

    participant_id = UnicodeAttribute(hash_key=True)
    action_id = UnicodeAttribute(range_key=True)


class ContactIndex(GlobalSecondaryIndex["Delivery"]):
    """Finds the delivery of a call from its Connect contact id (contact events carry only that)."""

    class Meta:
        index_name = "contact-index"
        projection = KeysOnlyProjection()

    contact_id = UnicodeAttribute(hash_key=True)


class CallerIndex(GlobalSecondaryIndex["Delivery"]):
    """Finds the alerts a caller received, by a hash of their number (never the number itself)."""

    class Meta:
        index_name = "caller-index"
        # The action id is no longer a key of the table, so a keys-only index would not carry it.
        projection = IncludeProjection(["action_id"])

    phone_hash = UnicodeAttribute(hash_key=True)
    claimed_at = UTCDateTimeAttribute(range_key=True)


class Delivery(Model):
    """The ledger: one item per (action, person), claimed before anything is sent.

    An action's deliveries are spread over several partition keys (`dal/deliveries.ledger_key`):
    one key would take all of a large action's writes, more than DynamoDB gives one key.
    """

    class Meta:
        table_name: str | None = None

    ledger_key = UnicodeAttribute(hash_key=True)  # "<action id>#<shard>"
    participant_id = UnicodeAttribute(range_key=True)
    action_id = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)  # None once the person is erased
    phone_hash = UnicodeAttribute(null=True)  # for the callback line's look-up
    language = UnicodeAttribute()
    channel = UnicodeAttribute()
    distance_m = NumberAttribute()
    claimed_at = UTCDateTimeAttribute()
    alert_status = EnumAttribute(DeliveryStatus)
    alert_message_id = UnicodeAttribute(null=True)
    alert_at = UTCDateTimeAttribute(null=True)
    result_status = EnumAttribute(DeliveryStatus, null=True)
    result_message_id = UnicodeAttribute(null=True)
    # Update id -> a DeliveryStatus value, per update of the action sent to this person (stored
    # as plain strings). Made empty at the claim, so an update's status can be set on its own.
    update_status = MapAttribute[str, Any](default=dict)
    result_at = UTCDateTimeAttribute(null=True)
    expires = TTLAttribute()
    contact_id = UnicodeAttribute(null=True)  # the latest call's Connect contact id
    contact_kind = EnumAttribute(Kind, null=True)  # which message that call carried
    voice_line = NumberAttribute(null=True)  # the call line that call holds
    voice_attempts = NumberAttribute(null=True)
    alert_outcome = UnicodeAttribute(null=True)  # calls: answered | no_answer | busy | failed
    # Set, in the same conditional write that queues it again, when an ambiguous alert is tried
    # once more after a failure receipt or none in time: never a third time.
    alert_retried = BooleanAttribute(null=True)
    device_id = UnicodeAttribute(null=True)  # push: the app install reached
    endpoint_arn = UnicodeAttribute(null=True)  # push: its SNS platform endpoint
    by_participant = ParticipantDeliveries()
    by_contact = ContactIndex()
    by_caller = CallerIndex()


class Municipality(Model):
    """A municipality: its CBS code, name and area (GeoJSON), for signup and place lookup."""

    class Meta:
        table_name: str | None = None

    code = UnicodeAttribute(hash_key=True)  # GM + 4 digits
    name = UnicodeAttribute()
    area = BinaryAttribute(legacy_encoding=False)  # domain.outlines.to_bytes
    min_lon = NumberAttribute()
    min_lat = NumberAttribute()
    max_lon = NumberAttribute()
    max_lat = NumberAttribute()


class VerificationsOfPhone(GlobalSecondaryIndex["Verification"]):
    """A phone's outstanding codes, so erasure leaves none holding the number."""

    class Meta:
        index_name = "phone-index"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


class Verification(Model):
    """A code sent to a phone to prove possession, and what it unlocks when typed back."""

    class Meta:
        table_name: str | None = None

    verification_id = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()  # signup | login | unsubscribe
    phone = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    valid_until = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)
    participant_id = UnicodeAttribute(null=True)  # login and unsubscribe: whose
    request = UnicodeAttribute(null=True)  # signup: the validated request, as JSON
    expires = TTLAttribute()  # the item itself goes a day later
    by_phone = VerificationsOfPhone()


class SessionsOfParticipant(GlobalSecondaryIndex["Session"]):
    """A participant's sessions (stored by token hash), so erasure can end them all."""

    class Meta:
        index_name = "participant-index"
        projection = KeysOnlyProjection()

    participant_id = UnicodeAttribute(hash_key=True)


class Session(Model):
    """A short-lived token after login; only its hash is stored."""

    class Meta:
        table_name: str | None = None

    token_hash = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute()
    valid_until = UTCDateTimeAttribute()
    expires = TTLAttribute()
    by_participant = SessionsOfParticipant()


class RateCounter(Model):
    """Requests counted in one fixed window for one key (a hashed phone or source address)."""

    class Meta:
        table_name: str | None = None

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires = TTLAttribute()


class DevicesOfParticipant(GlobalSecondaryIndex["Device"]):
    """A participant's app installs."""

    class Meta:
        index_name = "participant-index"
        projection = KeysOnlyProjection()

    participant_id = UnicodeAttribute(hash_key=True)


class Device(Model):
    """An app install: its push endpoint and, for a short while, where it is now."""

    class Meta:
        table_name: str | None = None

    device_id = UnicodeAttribute(hash_key=True)
    secret_hash = UnicodeAttribute()
    platform = UnicodeAttribute()  # fcm | apns
    endpoint_arn = UnicodeAttribute(null=True)  # SNS platform endpoint
    participant_id = UnicodeAttribute(null=True)  # None for an anonymous install
    language = UnicodeAttribute()
    location_cell = UnicodeAttribute(null=True)  # its current geo-index item, to replace it
    location_sk = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # The last accepted location update, to refuse a next one no vehicle could reach.
    located_at = UTCDateTimeAttribute(null=True)
    located_lat = NumberAttribute(null=True)
    located_lon = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)  # anonymous installs only: 30 days after their last sign
    by_participant = DevicesOfParticipant()


class SightingsOfDevice(GlobalSecondaryIndex["Sighting"]):
    """An install's sightings, for its person's data export and erasure."""

    class Meta:
        index_name = "device-index"
        projection = KeysOnlyProjection()

    device_id = UnicodeAttribute(hash_key=True)
    sighting_id = UnicodeAttribute(range_key=True)


class Sighting(Model):
    """A participant's report from the app that they saw the person or vehicle."""

    class Meta:
        table_name: str | None = None

    action_id = UnicodeAttribute(hash_key=True)
    sighting_id = UnicodeAttribute(range_key=True)  # received time + id: newest last
    device_id = UnicodeAttribute(null=True)  # None once its person is erased
    seen_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    lat = NumberAttribute()
    lon = NumberAttribute()
    text = UnicodeAttribute(null=True)
    expires = TTLAttribute()
    by_device = SightingsOfDevice()


# Requests one worker has in flight at most (the ledger's claim threads): botocore's pool must
# hold that many connections, or it opens and drops one for each request over its default 10.
MAX_CONNECTIONS = 16

TABLES: dict[type[Model], str] = {
    Participant: "participants",
    Place: "places",
    Action: "actions",
    Idempotency: "idempotency",
    Delivery: "deliveries",
    Municipality: "municipalities",
    Verification: "verifications",
    Session: "sessions",
    RateCounter: "ratelimits",
    Device: "devices",
    Sighting: "sightings",
}


def bind_models(settings: Settings) -> None:
    """Point every model at its table, region and endpoint (called once per cold start)."""
    for model, table in TABLES.items():
        model.Meta.table_name = getattr(settings.tables, table)
        model.Meta.region = settings.region
        model.Meta.host = settings.endpoint_url
        model.Meta.max_pool_connections = MAX_CONNECTIONS
        model._connection = None  # forget a connection made for other settings
