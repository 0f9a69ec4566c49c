"""The process's wiring: settings, models and adapters, built once on first use (cold start)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from chalicelib import aws, tracing
from chalicelib.adapters import social
from chalicelib.adapters.attestation import (
    GoogleIntegrityDecoder,
    GoogleWorkloadToken,
    PlatformAttestation,
    PlayIntegrityVerifier,
    StandInAttestation,
)
from chalicelib.adapters.connect import ConnectVoice, RecordingVoice
from chalicelib.adapters.metrics import EmfMetrics
from chalicelib.adapters.parameters import read_hash_key, read_social_credentials
from chalicelib.adapters.pdok import PdokGeocoder
from chalicelib.adapters.photos import CloudFrontCdn, LambdaResizer, S3Photos
from chalicelib.adapters.push import SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import municipalities, pseudonyms
from chalicelib.dal.models import bind_models
from chalicelib.domain.metrics import Metrics
from chalicelib.domain.model import Channel
from chalicelib.domain.pacing import RateLimiter
from chalicelib.domain.pseudonyms import Pseudonymiser
from chalicelib.logic.devices import DeviceServices
from chalicelib.logic.photos import InProcessResizer, Photos, PhotoShelf
from chalicelib.logic.ports import Attestation, Network, Resizer, Services, Voice
from chalicelib.logic.sending import Sender
from chalicelib.queues import (
    CODES_QUEUE,
    DEAD_LETTER_QUEUES,
    PUSH_QUEUE,
    SENDERS,
    SMS_QUEUE,
    SOCIAL_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
    WorkQueue,
)
from chalicelib.settings import Settings, SettingsError, get_settings


@dataclass(frozen=True)
class Runtime:
    """Everything a handler needs, configured for this deployment."""

    settings: Settings
    targeting: WorkQueue
    queues: dict[Channel, WorkQueue]
    sender: Sender
    services: Services
    push: SnsPush | None  # registers app installs (the sender publishes through it too)
    devices: DeviceServices  # the app's routes: push registration and attestation
    metrics: Metrics
    dead_letters: tuple[WorkQueue, ...]  # read by the sweep, which counts what waits in them
    posts: WorkQueue | None  # the social poster's queue; None where no network is configured
    photos: Photos | None  # the photo route's bucket and resizer, where this stage keeps photos
    shelf: PhotoShelf | None  # the bucket and CDN photos are taken back from (the sweep's)


@cache
def runtime() -> Runtime:
    """This process's runtime; validates the settings on first use."""
    settings = get_settings()
    tracing.init(settings.tracing, settings.stage)
    bind_models(settings)
    # Once per container: every look-up hash (ledger's caller index, rate-limit keys) uses it.
    pseudonyms.bind(Pseudonymiser(read_hash_key(aws.client("ssm"), settings.hash_key_parameter)))
    sqs = aws.client("sqs")
    queues = {
        Channel.SMS: WorkQueue(sqs, SMS_QUEUE),
        Channel.VOICE: WorkQueue(sqs, VOICE_QUEUE),
        Channel.PUSH: WorkQueue(sqs, PUSH_QUEUE),
    }
    sms = SnsSms(aws.client("sns", retries=False), settings.sms_sender_id)
    calls = voice(settings)
    app_push = push(settings)
    metrics = EmfMetrics()
    return Runtime(
        settings=settings,
        targeting=WorkQueue(sqs, TARGETING_QUEUE),
        queues=queues,
        sender=Sender(
            sms=sms,
            callback_number=settings.callback_number,
            queues=queues,
            pacers=InstancePacers(lambda: pacers(settings)),
            metrics=metrics,
            voice=calls,
            voice_lines=settings.voice_max_concurrent,
            push=app_push,
        ),
        services=Services(
            geocoder=PdokGeocoder(settings.geocoder_url),
            sms=sms,
            voice=calls,
            codes=WorkQueue(sqs, CODES_QUEUE),
            codes_per_hour=settings.codes_per_hour,
        ),
        push=app_push,
        devices=DeviceServices(push=app_push, attestation=attestation(settings)),
        metrics=metrics,
        dead_letters=tuple(WorkQueue(sqs, name) for name in DEAD_LETTER_QUEUES),
        posts=WorkQueue(sqs, SOCIAL_QUEUE) if settings.social_networks else None,
        photos=photos(settings),
        shelf=shelf(settings),
    )


@cache
def social_networks() -> dict[str, Network]:
    """The configured networks' accounts, for the social poster only: no other function reads
    their credentials (nor may it, in IAM)."""
    settings = runtime().settings
    if not settings.social_networks:
        return {}
    credentials = read_social_credentials(
        aws.client("ssm"),
        str(settings.social_credentials_parameter),
        {name: social.CREDENTIAL_KEYS[name] for name in settings.social_networks},
    )
    urls = {"mastodon": str(settings.mastodon_url), "x": settings.x_api_url}
    return {
        name: social.BUILDERS[name](urls[name], credentials[name])
        for name in settings.social_networks
    }


def photos(settings: Settings) -> Photos | None:
    """The photos bucket and resizer: the resizer Lambda, or this process ("local")."""
    if not (settings.photos_bucket and settings.photos_url and settings.photo_resizer):
        return None
    store = photo_store()
    if settings.photo_resizer == "local":
        resizer: Resizer = InProcessResizer(store)
    else:
        resizer = LambdaResizer(aws.client("lambda"), settings.photo_resizer)
    return Photos(store, resizer, settings.photos_url, cdn(settings))


def shelf(settings: Settings) -> PhotoShelf | None:
    """Where photos are taken back from: the bucket, and the CDN when one serves it."""
    if not settings.photos_bucket:
        return None
    return PhotoShelf(photo_store(), cdn(settings))


def cdn(settings: Settings) -> CloudFrontCdn | None:
    """The photos' CloudFront distribution, where one is configured (never locally)."""
    if not settings.photos_distribution_id:
        return None
    return CloudFrontCdn(aws.client("cloudfront"), settings.photos_distribution_id)


@cache
def photo_store() -> S3Photos:
    """The photos bucket. The resizer needs only this: no tables, no hash key."""
    settings = get_settings()
    if not settings.photos_bucket:
        raise SettingsError("environment variable PHOTOS_BUCKET is not set")
    return S3Photos(aws.client("s3"), settings.photos_bucket)


def attestation(settings: Settings) -> Attestation | None:
    """The check of app registrations: none, the stand-in, or Play Integrity (Android only)."""
    if settings.attestation == "standin":
        key = settings.attestation_standin_key
        return StandInAttestation(key.encode()) if key else local_attestation()
    if settings.attestation == "play_integrity":
        if not settings.play_integrity_package:
            return PlatformAttestation({})  # no Android push here: fail closed all the same
        token = GoogleWorkloadToken(
            provider=str(settings.google_workload_provider),
            service_account=str(settings.google_service_account),
            region=settings.region,
        )
        android = PlayIntegrityVerifier(
            GoogleIntegrityDecoder(access_token=token),
            settings.play_integrity_package,
            frozenset(settings.play_integrity_certificates),
        )
        # Settings refuse an iOS push application here: apns has no verifier, so is refused.
        return PlatformAttestation({"fcm": android})
    return None


@cache
def local_attestation() -> StandInAttestation:
    """The stand-in with this process's own key (tests issue their tokens through it)."""
    return StandInAttestation()


class InstancePacers(Mapping[Channel, RateLimiter]):
    """Each instance's own pacers, an instance being the thread that runs an invocation.

    Lambda runs one invocation at a time per instance (process), so there this is one set per
    instance; the local runner runs a sender's instances as threads of one process, and each
    must pace to its own share as it would in Lambda, not all of them share one share.
    """

    def __init__(self, build: Callable[[], Mapping[Channel, RateLimiter]]) -> None:
        self._build = build
        self._channels = tuple(build())
        self._local = threading.local()

    def _mine(self) -> Mapping[Channel, RateLimiter]:
        mine: Mapping[Channel, RateLimiter] | None = getattr(self._local, "pacers", None)
        if mine is None:
            mine = self._local.pacers = self._build()
        return mine

    def __getitem__(self, channel: Channel) -> RateLimiter:
        return self._mine()[channel]

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)


# An instance may catch up this many sends it fell behind by between chunks (its delete, the
# next receive and invocation, the chunk's reads and counter write): with a bucket of one, that
# time was lost, and the fan-out bench's SMS went at 94 of 100 a second in the bulk. Eight
# instances catching up at once stay within a second's quota plus 8.
CATCH_UP = 2.0


def pacers(settings: Settings) -> dict[Channel, RateLimiter]:
    """This instance's share of each channel's rate: SENDERS instances run at once per channel."""
    rates = {
        Channel.SMS: settings.sms_per_second,
        Channel.VOICE: settings.voice_starts_per_second,
        Channel.PUSH: settings.push_per_second,
    }
    return {
        channel: RateLimiter(rate / SENDERS[channel], burst=CATCH_UP)
        for channel, rate in rates.items()
    }


def voice(settings: Settings) -> Voice | None:
    """Amazon Connect, the local stand-in, or nothing when this deployment does not call."""
    if Channel.VOICE not in settings.channels:
        return None
    if settings.voice_backend == "local":
        return local_voice()
    return ConnectVoice(
        aws.client("connect"),
        instance_id=str(settings.connect_instance_id),
        contact_flow_id=str(settings.connect_contact_flow_id),
        source_number=str(settings.connect_source_number),
    )


def push(settings: Settings) -> SnsPush | None:
    """SNS mobile push, when this deployment has a platform application for the app."""
    if not settings.push_applications:
        return None
    # Publish is not idempotent: one attempt; registering and deleting endpoints are.
    return SnsPush(
        aws.client("sns"), settings.push_applications, publisher=aws.client("sns", retries=False)
    )


@cache
def local_voice() -> RecordingVoice:
    """The one local voice stand-in of this process (the runner reads its calls)."""
    return RecordingVoice()


def reset() -> None:
    """Forget the cached wiring (tests and the local runner change the environment)."""
    runtime.cache_clear()
    social_networks.cache_clear()
    photo_store.cache_clear()
    get_settings.cache_clear()
    aws.client.cache_clear()
    municipalities.forget_areas()
