"""Event handlers: the SQS consumers, Connect's contact events, SMS replies and the schedule."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.domain.model import Channel
from chalicelib.handlers.http import wired
from chalicelib.logic import account, calls, codes, receipts, sending, social, sweep, targeting
from chalicelib.logic.sending import Renew
from chalicelib.logic.work import Release, SendWork
from chalicelib.logs import log_context, log_event
from chalicelib.queues import (
    CODE_SENDERS,
    CODES_QUEUE,
    INBOUND_SMS_TOPIC,
    PUSH_QUEUE,
    RECEIPT_READERS,
    RECEIPTS_QUEUE,
    SENDERS,
    SMS_QUEUE,
    SOCIAL_POSTERS,
    SOCIAL_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
    Hold,
)
from chalicelib.runtime import runtime, social_networks
from chalicelib.tracing import continued

workers = Blueprint(__name__)


def now() -> datetime:
    """The current time (a seam for tests of expiry)."""
    return datetime.now(UTC)


# The fields of a message body its span is annotated with: ids, never the rest of a body.
TRACED_FIELDS = ("action_id", "kind", "channel")
# The EventBridge pattern that triggers contact_events: Connect's contact events of this account.
CONTACT_EVENTS = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"]}


def _each(
    name: str, event: Any, handle: Any, hold: Callable[[str], Renew] | None = None
) -> dict[str, list[dict[str, str]]]:
    """Handle each SQS record in the trace that sent it; report only the failed ones so SQS
    retries just those. `hold`, given a record's receipt handle, first hides it and hands
    `handle` what keeps it hidden while it works."""
    failures = []
    for record in event:
        raw = record.to_dict()
        message_id = raw["messageId"]
        item: dict[str, Any] = {}
        try:
            item = json.loads(record.body)
            ids = {key: str(item[key]) for key in TRACED_FIELDS if key in item}
            with (
                log_context(action_id=item.get("action_id")),
                continued(name, raw.get("attributes", {}).get("AWSTraceHeader"), **ids),
            ):
                if hold is None:
                    handle(item)
                else:
                    handle(item, hold(record.receipt_handle))
        except Exception as exc:  # one bad message must not fail its whole batch
            log_event(
                "message_failed",
                logging.ERROR,
                message_id=message_id,
                action_id=item.get("action_id"),
                kind=item.get("kind"),
                error=type(exc).__name__,
            )
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


@workers.on_sqs_message(queue=TARGETING_QUEUE, batch_size=1)
def targeting_worker(event: Any) -> dict[str, Any]:
    """Target new actions, and fan out their updates and, once closed, their results."""
    rt = runtime()

    def handle(item: dict[str, Any]) -> None:
        # Each fan-out releases its chunks at the channels' rates: fair to the actions after it.
        release = Release(rt.settings.rates, clock=now)
        if item["kind"] == "target":
            targeting.target(item["action_id"], rt.queues, now(), rt.metrics, release)
        elif item["kind"] == "update":
            targeting.fan_out_update(item["action_id"], item["update_id"], rt.queues, release)
        else:
            targeting.fan_out_results(item["action_id"], rt.queues, now(), rt.metrics, release)

    return _each("targeting_worker", event, handle)


def _sender(channel: Channel) -> Callable[[dict[str, Any], Renew], None]:
    def send(item: dict[str, Any], renew: Renew) -> None:
        sending.send(SendWork.from_item(item, channel), runtime().sender, now(), renew)

    return send


def _hold(channel: Channel) -> Callable[[str], Renew]:
    """Hide a sender's message while its invocation runs, not the queue's visibility timeout
    (queues.hold_s says how long)."""

    def hold(receipt_handle: str) -> Renew:
        held = Hold(runtime().queues[channel], receipt_handle, channel)

        def renew() -> None:
            if not held.renew():
                log_event("hold_refused", logging.WARNING, channel=channel.value)

        renew()
        return renew

    return hold


# Each sender runs at most SENDERS[channel] instances at once (the event source mapping's
# MaximumConcurrency), each pacing itself to its share of the channel's rate.
@workers.on_sqs_message(queue=SMS_QUEUE, batch_size=1, maximum_concurrency=SENDERS[Channel.SMS])
def sms_sender(event: Any) -> dict[str, Any]:
    """Send chunks of alerts and results by SMS, within the account's SMS rate."""
    return _each("sms_sender", event, _sender(Channel.SMS), _hold(Channel.SMS))


@workers.on_sqs_message(queue=VOICE_QUEUE, batch_size=1, maximum_concurrency=SENDERS[Channel.VOICE])
def voice_sender(event: Any) -> dict[str, Any]:
    """Place alert and result calls within Connect's call-start rate and concurrent calls."""
    return _each("voice_sender", event, _sender(Channel.VOICE), _hold(Channel.VOICE))


@workers.on_sqs_message(queue=PUSH_QUEUE, batch_size=1, maximum_concurrency=SENDERS[Channel.PUSH])
def push_sender(event: Any) -> dict[str, Any]:
    """Publish app notifications, paced only by the push rate: never behind SMS."""
    return _each("push_sender", event, _sender(Channel.PUSH), _hold(Channel.PUSH))


@workers.on_sqs_message(queue=CODES_QUEUE, batch_size=1, maximum_concurrency=CODE_SENDERS)
def code_sender(event: Any) -> dict[str, Any]:
    """Send queued login and unsubscribe codes, to participants only (the route never tells)."""
    rt = runtime()
    return _each(
        "code_sender", event, lambda item: codes.send_member_code(item, rt.services, now())
    )


@workers.on_sqs_message(queue=SOCIAL_QUEUE, batch_size=1, maximum_concurrency=SOCIAL_POSTERS)
def social_poster(event: Any) -> dict[str, Any]:
    """Post public actions' starts, updates and results, and delete them all at redaction; a
    failed post or delete comes back through SQS."""
    rt = runtime()
    networks = social_networks()
    settings = rt.settings
    return _each(
        "social_poster",
        event,
        lambda item: social.work(
            item,
            networks,
            settings.public_url,
            settings.callback_number,
            post_exercises=settings.social_post_exercises,
        ),
    )


@workers.on_sqs_message(queue=RECEIPTS_QUEUE, batch_size=10, maximum_concurrency=RECEIPT_READERS)
def receipt_reader(event: Any) -> dict[str, Any]:
    """SMS delivery receipts: settle ambiguous alerts; a receipt that came too early is read
    again later, a malformed one dropped."""
    bodies = [(record.to_dict()["messageId"], record.body) for record in event]
    later = receipts.receive_all(bodies, now(), runtime().queues)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in later]}


@workers.on_cw_event(CONTACT_EVENTS)
def contact_events(event: Any) -> None:
    """Connect's contact events: how each call went; frees its line; retries a missed alert."""
    rt = runtime()
    calls.contact_event(event.detail, rt.queues, rt.sender.voice)


@workers.on_sns_message(topic=INBOUND_SMS_TOPIC)
@wired
def inbound_sms(event: Any) -> None:
    """Replies to our SMS (SNS two-way messaging): STOP removes the sender at once."""
    account.receive_reply(event.message)


@workers.schedule(Rate(1, unit=Rate.MINUTES))
def sweeper(event: Any) -> sweep.SweepReport:
    """Close expired actions, re-drive stalled fan-out, redact old free text and take back its
    photos and posts; count dead letters and late targeting."""
    rt = runtime()
    keep = timedelta(days=rt.settings.keep_descriptions_days)
    return sweep.sweep(
        rt.targeting,
        now(),
        keep,
        rt.dead_letters,
        rt.metrics,
        rt.posts,
        shelf=rt.shelf,
        senders=rt.queues,
    )
