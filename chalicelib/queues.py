"""The SQS work queues: their names (fixed, as chalice's event sources need them) and a sender."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from time import monotonic
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.model import Channel
from chalicelib.domain.receipts import SENDER_CUT_OFF
from chalicelib.tracing import trace_header

TARGETING_QUEUE = "burgernet-targeting"
SMS_QUEUE = "burgernet-sms"
VOICE_QUEUE = "burgernet-voice"
PUSH_QUEUE = "burgernet-push"
# Login and unsubscribe codes, sent after the answer so it cannot tell who takes part.
CODES_QUEUE = "burgernet-codes"
CODE_SENDERS = 2  # the least MaximumConcurrency; codes are few (CODES_PER_HOUR caps them)
# Posts on social networks: their own queue, so a network's outage never holds up an alert.
SOCIAL_QUEUE = "burgernet-social"
SOCIAL_POSTERS = 2  # the least MaximumConcurrency; a few posts an action
INBOUND_SMS_TOPIC = "burgernet-inbound-sms"  # SNS two-way SMS delivers replies (STOP) here
# End User Messaging SMS delivery events (configuration set -> SNS topic -> this queue): the
# receipts that settle ambiguous alerts (logic/receipts.py).
RECEIPTS_QUEUE = "burgernet-receipts"
RECEIPTS_TOPIC = "burgernet-sms-receipts"
RECEIPT_READERS = 2  # the least MaximumConcurrency; each receipt is a few reads and a write

# Where each queue's messages go after too many receives (infra/template.json's RedrivePolicy).
# A message here is someone not alerted, or a code not sent: the sweep counts them every minute.
DEAD_LETTER_QUEUES = tuple(
    f"{queue}-dlq"
    for queue in (
        TARGETING_QUEUE,
        SMS_QUEUE,
        VOICE_QUEUE,
        PUSH_QUEUE,
        CODES_QUEUE,
        SOCIAL_QUEUE,
        RECEIPTS_QUEUE,
    )
)

SQS_BATCH = 10  # SendMessageBatch takes at most ten entries
MAX_DELAY_S = 900  # SQS's longest DelaySeconds

# How many instances of each sender Lambda run at once: the event source mapping's
# MaximumConcurrency (at least 2), so the poller never receives more than they can take and a
# chunk waiting for its turn stays in the queue without using up its receives. Each instance
# paces itself to its share of the channel's rate (docs/architecture.md, "Concurrency and pacing").
SENDERS = {Channel.SMS: 8, Channel.VOICE: 2, Channel.PUSH: 100}
# Each sender's Lambda timeout (.chalice/config.json's prod stage; a test keeps them equal), and
# the seconds an invocation keeps taking people for sending: the rest of its chunk goes back on
# the queue at once, so an invocation ends inside its timeout whatever the rate, and the timeout
# (and with it the queue's visibility timeout, six times it, the wait a crashed chunk's people
# have) can be short. The margin covers the last send, the chunk's counter write and the
# put-back. Voice has none: its calls wait for a free line within their own limit.
# The arithmetic: docs/deploy.md, "The functions".
SENDER_TIMEOUT_S = {Channel.SMS: 10, Channel.VOICE: 300, Channel.PUSH: 3}
SEND_BUDGET_S = {Channel.SMS: 8.0, Channel.PUSH: 2.0}
# Once a sender's invocation starts, it hides its message only this long: its own timeout, plus
# time for Lambda to delete the message after a success. The queue's visibility timeout (six
# times the function's, as AWS advises) covers the time before the invocation runs, when a
# throttled invocation may wait; from its start, only an invocation that died leaves the message
# undeleted, and its chunk's people should wait out its timeout, not six times it. A message
# that comes back from a live invocation meets the ledger's claims: nobody is sent twice.
HOLD_MARGIN_S = 2


# SMS senders hide their message only this long at a time, renewed between sends (Hold): the
# rest of a chunk whose invocation died or hung comes back within seconds, not after the whole
# timeout (12 s tails were the SMS quota's largest loss in the fan-out bench). A send takes well
# under a second; one that hangs longer leaves its chunk to another instance, and the ledger's
# conditional start keeps the two from sending anyone twice.
RENEWED_HOLD_S = {Channel.SMS: 4}


def hold_s(channel: Channel) -> int:
    """How long a sender's message stays hidden from the start of its invocation (for SMS, from
    each renewal).

    Push waits longer than the margin: the chunk's return is what tries once more a push its dead
    run left `sending`, and only once that send is past SENDER_CUT_OFF (it began at most a
    timeout after the start). SMS and voice leave theirs to the sweep's reconciliation.
    """
    if channel in RENEWED_HOLD_S:
        return RENEWED_HOLD_S[channel]
    if channel is Channel.PUSH:
        return SENDER_TIMEOUT_S[channel] + int(SENDER_CUT_OFF[channel].total_seconds())
    return SENDER_TIMEOUT_S[channel] + HOLD_MARGIN_S


@dataclass
class Hold:
    """Keeps one received sender message hidden while its invocation works on it."""

    queue: WorkQueue
    receipt_handle: str
    channel: Channel
    clock: Callable[[], float] = field(default_factory=lambda: monotonic)
    _until: float | None = None

    def renew(self) -> bool:
        """Hide the message for hold_s from now: the first time, and (RENEWED_HOLD_S) once half of
        that has passed. False if SQS refused: a later receive took the message over, or SQS
        could not be asked."""
        now = self.clock()
        seconds = hold_s(self.channel)
        if self._until is not None and (
            self.channel not in RENEWED_HOLD_S or now < self._until - seconds / 2
        ):
            return True
        self._until = now + seconds
        return self.queue.hold(self.receipt_handle, seconds)


class QueueError(RuntimeError):
    """SQS refused messages, or could not be asked; the caller's own retry (or SQS redelivery)
    covers it. `cause` names what went wrong (an error class, safe to log)."""

    def __init__(self, message: str, cause: str = "QueueError") -> None:
        super().__init__(message)
        self.cause = cause


@dataclass
class WorkQueue:
    """Sends JSON work items to one SQS queue (and counts what waits in one)."""

    client: Any
    name: str
    _url: str | None = None

    @property
    def url(self) -> str:
        """The queue URL, looked up once."""
        if self._url is None:
            self._url = self.client.get_queue_url(QueueName=self.name)["QueueUrl"]
        return self._url

    def waiting(self) -> int:
        """How many messages wait in the queue (SQS's approximate count)."""
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def hold(self, receipt_handle: str, seconds: int) -> bool:
        """Hide a received message for `seconds` from now (ChangeMessageVisibility); False if
        SQS refused or could not be asked (the message keeps the queue's visibility timeout)."""
        try:
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (ClientError, BotoCoreError):
            return False
        return True

    def send(self, items: Iterable[dict[str, Any]], delay_s: int = 0) -> int:
        """Enqueue every item (in order, ten per call), visible after `delay_s` (at most 900).

        Each message carries the current trace, for its worker to continue. QueueError if SQS
        refuses a message or cannot be reached; the batches before it stay sent.
        """
        delay_s = max(0, min(MAX_DELAY_S, delay_s))
        header = trace_header()
        sent = 0
        iterator = iter(items)
        while batch := list(islice(iterator, SQS_BATCH)):
            self._send_batch(batch, delay_s, header)
            sent += len(batch)
        return sent

    def _send_batch(
        self, batch: Sequence[dict[str, Any]], delay_s: int, header: str | None
    ) -> None:
        entries: list[dict[str, Any]] = [
            {"Id": str(i), "MessageBody": json.dumps(item), "DelaySeconds": delay_s}
            for i, item in enumerate(batch)
        ]
        if header:
            for entry in entries:
                entry["MessageSystemAttributes"] = {
                    "AWSTraceHeader": {"DataType": "String", "StringValue": header}
                }
        try:
            response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"{self.name}: {type(exc).__name__}", type(exc).__name__) from exc
        failed = response.get("Failed", [])
        if failed:
            codes = ", ".join(sorted({f.get("Code", "?") for f in failed}))
            raise QueueError(
                f"{len(failed)} of {len(batch)} messages refused by {self.name}: {codes}"
            )
