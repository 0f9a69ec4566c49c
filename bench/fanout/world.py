"""The world of a run: the workload's parameters, an emulated account with production's tables,
and the people in it."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

from bench import dynamo_direct, moto_gsi, moto_parsers
from bench.fanout.faults import FaultRates
from chalicelib import runtime as runtime_module
from chalicelib.dal.devices import HERE, LOCATION_TTL
from chalicelib.dal.models import Device, Participant, Place
from chalicelib.dal.participants import (
    NewParticipant,
    NewPlace,
    upsert_participants,
)
from chalicelib.domain.geo.keys import place_cell, place_sort_key
from chalicelib.domain.geo.shapes import Circle
from chalicelib.domain.model import Channel
from chalicelib.domain.requests import DEFAULT_DURATION
from chalicelib.settings import Settings
from tools import moto_atomic
from tools.emulator import create_resources, stage_environment

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # daytime: no quiet hours in play
# The app-first mix Burgernet has today, for the 100,000-person action: 70 % push, 25 % SMS.
APP_FIRST = {"sms_share": 0.25, "voice_share": 0.05}
SMALL_CENTRE = (52.3731, 4.8926)  # the fairness row's second action: Dam, Amsterdam


@dataclass(frozen=True)
class Params:
    """The workload, the providers and the latencies of one run."""

    sms_rate: float = 10.0
    people: int = 20_000
    sms_share: float = 0.70
    voice_share: float = 0.10  # the rest are app installs (push)
    duration_min: int = DEFAULT_DURATION  # the action's, as a dispatcher leaves it by default
    radius_m: float = 3_000.0
    seed: int = 7
    sms_burst_s: float = 1.0  # the SMS provider's bucket holds this many seconds of its rate
    push_rate: float = 2500.0  # PUSH_PER_SECOND's default (docs/deploy.md has the arithmetic)
    push_burst_s: float = 1.0
    call_starts_per_s: float = 2.0
    call_start_burst: float = 5.0  # Connect API throttling: rate 2/s, burst 5
    lines: int = 10
    call_s: tuple[float, float] = (20.0, 60.0)
    unanswered: float = 0.30
    faults: FaultRates = field(default_factory=FaultRates)
    # CPU one send takes on the sending path at one full vCPU, moto excluded, by channel:
    # measured on the bench's machine with `python -m bench.fanout.cpu` (docs/benchmarks.md).
    cpu_ms: Mapping[str, float] = field(
        default_factory=lambda: {"sms": 6.0, "voice": 25.7, "push": 6.2}
    )
    ledger_ms: float = 5.0
    sqs_ms: float = 10.0
    sms_ms: float = 20.0
    push_ms: float = 20.0
    connect_ms: float = 100.0
    invoke_ms: float = 10.0
    event_ms: float = 500.0
    close_at_s: float | None = None  # a dispatcher's close; default: the sweep's, at the end
    sweep_every_s: float = 60.0  # the sweeper's schedule
    small_action: int = 0  # people in a second action, started `small_at_s` in (fairness)
    small_at_s: float = 60.0
    drop_in_targeting: int = 0  # people targeting silently leaves out (tests the loss count)
    exact_polls: bool = False
    max_sim_s: float = 24 * 3600.0


@contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (None: unset) environment variables for a block, and put the old ones back."""
    old = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def world(params: Params) -> Iterator[Settings]:
    """A fresh emulated account with production's tables, and the settings of this run."""
    env: dict[str, str | None] = {
        **stage_environment("test"),
        "GEOCODER_URL": "http://127.0.0.1:9/unused",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": None,  # in-process moto, whatever the shell says
        "AWS_PROFILE": None,
        "CHANNELS": "sms,voice",
        "VOICE_BACKEND": "local",
        "SMS_PER_SECOND": str(params.sms_rate),
        "PUSH_PER_SECOND": str(params.push_rate),
        "VOICE_STARTS_PER_SECOND": str(params.call_starts_per_s),
        "VOICE_MAX_CONCURRENT": str(params.lines),
    }
    with _environment(env), mock_aws(), ExitStack() as patches:
        # Each DynamoDB request whole, as in DynamoDB, for the claim threads; the rest are speed.
        patches.enter_context(moto_atomic.atomic())
        patches.enter_context(_moto_index())
        patches.enter_context(moto_gsi.indexed())
        patches.enter_context(dynamo_direct.direct())
        patches.enter_context(moto_parsers.cached())
        patches.enter_context(_known_accounts())
        create_resources(boto3.client("cloudformation", region_name=REGION))
        runtime_module.reset()
        try:
            yield runtime_module.runtime().settings
        finally:
            runtime_module.reset()


@contextmanager
def _known_accounts() -> Iterator[None]:
    """moto looks an account's backends up under a process-wide lock on every request, and checks
    the BackendDict against a list of every other one by equality; an account already there needs
    neither (the sampled profile of a run showed a third of moto's time there, most of it waiting
    on that lock). The answer is the same dict entry."""
    from moto.core.base_backend import BackendDict

    looked_up = BackendDict.__getitem__

    def known(self: BackendDict[Any], account_id: str) -> Any:
        found = dict.get(self, account_id)
        return looked_up(self, account_id) if found is None else found

    with mock.patch.object(BackendDict, "__getitem__", known):
        yield


@contextmanager
def _moto_index() -> Iterator[None]:
    """tools/moto_index.py's partition index for moto's Query, where this checkout has it."""
    try:
        from tools import moto_index
    except ImportError:
        yield
        return
    with moto_index.indexed():
        yield


@contextmanager
def _stored_directly() -> Iterator[None]:
    """The people's batch writes go straight into moto's tables, as moto's own BatchWriteItem
    handler puts them, without the HTTP round trip through botocore and moto's responses (the
    bench's own overhead: storing 20,300 people that way took 246 s). The items are the ones the
    real code builds; only the transport is skipped, and only while the bench stores its world."""
    from moto.dynamodb.models import dynamodb_backends
    from pynamodb.connection.base import Connection

    dispatch = Connection.dispatch

    def direct(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        if operation_name != "BatchWriteItem":
            return dispatch(self, operation_name, operation_kwargs)
        backend = dynamodb_backends[ACCOUNT][REGION]
        for table_name, requests in operation_kwargs["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    backend.put_item(table_name, request["PutRequest"]["Item"])
                else:
                    backend.delete_item(table_name, request["DeleteRequest"]["Key"])
        return {"UnprocessedItems": {}}

    with mock.patch.object(Connection, "dispatch", direct):
        yield


def phones_in_moto() -> dict[str, str]:
    """What `phone_directory` answers, read from moto's participants table in place (its scan
    through moto's request handling took 10 s of 12 for 5,000 people)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[ACCOUNT][REGION].get_table(str(Participant.Meta.table_name))
    return {
        str(item.attrs["phone"].value): str(item.attrs["participant_id"].value)
        for item in table.all_items()
        if "phone" in item.attrs
    }


@dataclass(frozen=True)
class Workload:
    """Who is inside the circle, by channel: participant id -> their address."""

    circle: Circle
    phones: dict[str, str]  # SMS and voice participants
    endpoints: dict[str, str]  # app installs: "device:<id>" -> endpoint ARN
    channel_of: dict[str, Channel]
    due: dict[str, Channel]  # who must be alerted, on which channel (the bench's own truth)


def due_channel(
    position: tuple[float, float], preferred: Channel, phone: str, circle: Circle
) -> Channel | None:
    """The channel the domain's rules owe this person an alert on, or None.

    Computed from what the bench generated, not from the ledger: inside the area, their preferred
    channel; the action offers SMS and voice, and the app is reached by push; nobody here has
    quiet hours (the action starts at 13:00 in Amsterdam), so a voice participant is called.
    """
    if circle.distance_inside(*position) is None:
        return None
    if preferred is Channel.VOICE or preferred is Channel.SMS:
        return preferred if phone else None
    return Channel.PUSH if preferred is Channel.PUSH else None


def populate(
    params: Params,
    now: datetime,
    centre: tuple[float, float] = CENTRE,
    people_n: int | None = None,
    shares: tuple[float, float] | None = None,
    numbers: int = 0,
) -> Workload:
    """Store the people: SMS and voice participants as an import does, app installs as devices
    with a current location (the items `devices.set_location` writes)."""
    rng = random.Random(f"{params.seed}:{centre}")
    circle = Circle(centre[0], centre[1], params.radius_m)
    total = params.people if people_n is None else people_n
    sms_share, voice_share = shares or (params.sms_share, params.voice_share)
    n_sms = round(total * sms_share)
    n_voice = round(total * voice_share)
    n_push = total - n_sms - n_voice
    positions: dict[str, tuple[float, float]] = {}  # phone or owner -> where they are

    def somewhere() -> tuple[float, float]:
        # Uniform in a disc a little inside the circle, so rounding never leaves anyone out.
        r = 0.97 * params.radius_m * math.sqrt(rng.random())
        a = rng.uniform(0.0, 2 * math.pi)
        lat = centre[0] + r * math.cos(a) / 111_195.0
        lon = centre[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(centre[0])))
        return lat, lon

    def language() -> str:
        return "en" if rng.random() < 0.1 else "nl"

    people: list[NewParticipant] = []
    for i in range(n_sms):
        phone = f"+316{10_000_000 + numbers + i}"
        positions[phone] = somewhere()
        people.append(NewParticipant(phone, language(), "sms", [_home(positions[phone])]))
    for i in range(n_voice):
        # Half landlines (Utrecht, 030), half mobiles that chose to be called.
        n = numbers + i
        phone = f"+3130{1_000_000 + n}" if i % 2 == 0 else f"+316{60_000_000 + n}"
        positions[phone] = somewhere()
        people.append(NewParticipant(phone, language(), "voice", [_home(positions[phone])]))
    endpoints: dict[str, str] = {}
    with (
        _stored_directly(),
        Device.batch_write() as device_batch,
        Place.batch_write() as place_batch,
    ):
        for start in range(0, len(people), 1_000):
            upsert_participants(people[start : start + 1_000], now, directory={})
        for _ in range(n_push):
            device_id = f"{rng.getrandbits(128):032x}"
            lat, lon = somewhere()
            owner = f"device:{device_id}"
            positions[owner] = (lat, lon)
            arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/GCM/burgernet-fcm/{device_id}"
            lang = language()
            place = Place(
                place_cell(lat, lon),
                place_sort_key(lat, lon, owner, f"{HERE}.{device_id}"),
                participant_id=owner,
                label=HERE,
                lat=lat,
                lon=lon,
                phone="",
                language=lang,
                channel=Channel.PUSH.value,
                device_id=device_id,
                expires=now + LOCATION_TTL,
            )
            device_batch.save(
                Device(
                    device_id,
                    secret_hash="0" * 64,
                    platform="fcm",
                    endpoint_arn=arn,
                    participant_id=None,
                    language=lang,
                    location_cell=place.cell,
                    location_sk=place.sk,
                    created_at=now,
                )
            )
            place_batch.save(place)
            endpoints[owner] = arn
    directory = phones_in_moto()  # phone -> participant id
    phones = {directory[p.phone]: p.phone for p in people}
    channel_of = {directory[p.phone]: Channel(p.channel) for p in people}
    channel_of.update({owner: Channel.PUSH for owner in endpoints})
    due: dict[str, Channel] = {}
    for p in people:
        channel = due_channel(positions[p.phone], Channel(p.channel), p.phone, circle)
        if channel is not None:
            due[directory[p.phone]] = channel
    for owner in endpoints:
        channel = due_channel(positions[owner], Channel.PUSH, "", circle)
        if channel is not None:
            due[owner] = channel
    return Workload(circle, phones, endpoints, channel_of, due)


def _home(position: tuple[float, float]) -> NewPlace:
    return NewPlace("home", position[0], position[1])
