"""The process's wiring: settings, models and adapters, built once on first use (cold start)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from chalicelib import aws, tracing
from chalicelib.adapters.pdok import PdokGeocoder
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal.models import bind_models
from chalicelib.domain.pacing import RateLimiter
from chalicelib.logic.fanout import Sender
from chalicelib.logic.participants import Services
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE, WorkQueue
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Runtime:
    """Everything a handler needs, configured for this deployment."""

    settings: Settings
    targeting: WorkQueue
    sms_queue: WorkQueue
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
    return Runtime(
        settings=settings,
        targeting=WorkQueue(sqs, TARGETING_QUEUE),
        sms_queue=sms_queue,
        sender=Sender(
            sms=SnsSms(aws.client("sns"), settings.sms_sender_id),
            # One SMS sender Lambda at a time (reserved concurrency 1) keeps the account's rate.
            pacer=RateLimiter(settings.sms_per_second),
            callback_number=settings.callback_number,
            queue=sms_queue,
        ),
        services=Services(
            geocoder=PdokGeocoder(settings.geocoder_url),
            sms=SnsSms(aws.client("sns"), settings.sms_sender_id),
            channels=settings.channels,
        ),
    )


def reset() -> None:
    """Forget the cached wiring (tests and the local runner change the environment)."""
    runtime.cache_clear()
    get_settings.cache_clear()
    aws.client.cache_clear()
