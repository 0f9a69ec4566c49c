"""The emulated system as tests drive it: HTTP in, queues drained by their handlers."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from chalicelib.queues import CODES_QUEUE, PUSH_QUEUE, SMS_QUEUE, TARGETING_QUEUE
from tools.local import lambda_sqs_event

REGION = "eu-west-1"
# The queues System.run_queues feeds, in order (voice has its own clock: tests/.../test_voice.py).
SENDERS_OF_TESTS = (
    (TARGETING_QUEUE, "targeting_worker"),
    (SMS_QUEUE, "sms_sender"),
    (PUSH_QUEUE, "push_sender"),
    (CODES_QUEUE, "code_sender"),
)


class Emulator:
    """What a tester looks at in the emulator: queued work and the SMS that went out."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)

    def sms(self) -> list[tuple[str, str]]:
        """Every SMS sent so far, as (phone, text)."""
        backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
        return [(s.phone_number, s.message) for s in backend.sms_message_objects.values()]

    def sms_to(self, phone: str) -> list[str]:
        """The texts one phone received, in order."""
        return [text for to, text in self.sms() if to == phone]

    def delayed(self, queue: str) -> list[int]:
        """The seconds each delayed message of a queue still waits, in the order sent."""
        now_ms = time.time() * 1000
        messages = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue)._messages
        return [round((m.delayed_until - now_ms) / 1000) for m in messages if m.delayed]

    def hidden_for(self, queue: str) -> list[float]:
        """The seconds each message of a queue in flight stays hidden from now."""
        now_ms = time.time() * 1000
        messages = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue)._messages
        return [(m.visible_at - now_ms) / 1000 for m in messages if m.visible_at > now_ms]

    def time_passes(self, queue: str) -> None:
        """Let every delayed message of a queue become visible now (as if its delay were over)."""
        for message in sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue)._messages:
            message.delayed_until = 0

    def drain(self, queue: str, delete: bool = True) -> list[dict[str, Any]]:
        """Take every visible message off a queue, with its SQS metadata, as Lambda would see it
        (`delete=False`: received only, in flight until `delete` is called)."""
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        records = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return records
            for message in got:
                if delete:
                    self.delete(queue, message)
                records.append(message)

    def delete(self, queue: str, message: dict[str, Any]) -> None:
        """Delete a received message, as Lambda's poller does after its invocation."""
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class System:
    """Drives the app as the deployed system runs: HTTP in, queues drained by their handlers."""

    def __init__(self, client: Client, emulator: Emulator) -> None:
        self.client = client
        self.emulator = emulator

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        """POST a JSON body."""
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.http.post(
            path, body=raw, headers={"Content-Type": "application/json", **(headers or {})}
        )

    def get(self, path: str) -> Any:
        """GET a path."""
        return self.client.http.get(path)

    def invoke(self, handler: str, queue: str, messages: list[dict[str, Any]]) -> Any:
        """Invoke an SQS handler with a batch of messages, as the event source mapping would."""
        arn = f"arn:aws:sqs:{REGION}:{DEFAULT_ACCOUNT_ID}:{queue}"
        return self.client.lambda_.invoke(handler, lambda_sqs_event(arn, messages)).payload

    def run_queues(self, max_rounds: int = 20) -> None:
        """Feed the targeting, SMS and push queues to their handlers until no work is left.

        Work put back with a delay comes round in the next round, as if its delay had passed.
        """
        for _ in range(max_rounds):
            busy = False
            for queue, handler in SENDERS_OF_TESTS:
                self.emulator.time_passes(queue)
                for message in self.emulator.drain(queue, delete=False):
                    busy = True
                    self.invoke(handler, queue, [message])
                    self.emulator.delete(queue, message)
            if not busy:
                return
        raise AssertionError("queues did not drain")

    def sweep(self) -> Any:
        """Run the every-minute schedule once."""
        return self.client.lambda_.invoke(
            "sweeper", self.client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        ).payload
