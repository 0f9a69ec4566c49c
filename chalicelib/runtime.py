"""The process's wiring: settings, models and adapters, built once on first use (cold start)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from chalicelib import aws, tracing
from chalicelib.adapters.connect import ConnectVoice, RecordingVoice
from chalicelib.adapters.pdok import PdokGeocoder
from chalicelib.adapters.push import SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal.models import bind_models
from chalicelib.domain.model import Channel
from chalicelib.domain.pacing import RateLimiter
from chalicelib.logic.fanout import Sender, Voice
from chalicelib.logic.participants import Services
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE, VOICE_QUEUE, WorkQueue
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Runtime:
    """Everything a handler needs, configured for this deployment."""

    settings: Settings
    targeting: WorkQueue
    queues: dict[Channel, WorkQueue]
    sender: Sender
    services: Services


@cache
def runtime() -> Runtime:
    """This process's runtime; validates the settings on first use."""
    settings = get_settings()
    tracing.init(settings.tracing)
    bind_models(settings)
    sqs = aws.client("sqs")
    sms_queue = WorkQueue(sqs, SMS_QUEUE)
    # Push shares the SMS queue (and its sender and pacing): no queue or Lambda of its own.
    queues = {
        Channel.SMS: sms_queue,
        Channel.VOICE: WorkQueue(sqs, VOICE_QUEUE),
        Channel.PUSH: sms_queue,
    }
    sms = SnsSms(aws.client("sns"), settings.sms_sender_id)
    calls = voice(settings)
    return Runtime(
        settings=settings,
        targeting=WorkQueue(sqs, TARGETING_QUEUE),
        queues=queues,
        sender=Sender(
            sms=sms,
            # One sender Lambda per channel at a time (reserved concurrency 1): its pacing is
            # the account's.
            pacer=RateLimiter(settings.sms_per_second),
            callback_number=settings.callback_number,
            queues=queues,
            voice=calls,
            voice_pacer=RateLimiter(settings.voice_starts_per_second),
            voice_lines=settings.voice_max_concurrent,
            push=push(settings),
        ),
        services=Services(
            geocoder=PdokGeocoder(settings.geocoder_url),
            sms=sms,
            voice=calls,
        ),
    )


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
    return SnsPush(aws.client("sns"), settings.push_applications)


@cache
def local_voice() -> RecordingVoice:
    """The one local voice stand-in of this process (the runner reads its calls)."""
    return RecordingVoice()


def reset() -> None:
    """Forget the cached wiring (tests and the local runner change the environment)."""
    runtime.cache_clear()
    get_settings.cache_clear()
    aws.client.cache_clear()
