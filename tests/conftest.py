"""Shared fixtures: an emulated AWS account built from infra/template.json, and the chalice app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from chalice.test import Client
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chalicelib import runtime as runtime_module
from chalicelib.dal.participants import NewPlace, upsert_participant
from chalicelib.queues import CODES_QUEUE, PUSH_QUEUE, SMS_QUEUE, TARGETING_QUEUE
from tools import moto_trace_header
from tools.emulator import ROOT, create_resources, stage_environment
from tools.local import lambda_sqs_event
from tools.pdok_standin import PdokStandIn

REGION = "eu-west-1"
UTRECHT = (52.0907, 5.1214)  # Domplein
# The queues System.run_queues feeds, in order (voice has its own clock: tests/.../test_voice.py).
SENDERS_OF_TESTS = (
    (TARGETING_QUEUE, "targeting_worker"),
    (SMS_QUEUE, "sms_sender"),
    (PUSH_QUEUE, "push_sender"),
    (CODES_QUEUE, "code_sender"),
)


@pytest.fixture(scope="session", autouse=True)
def _shared_botocore_data() -> Iterator[None]:
    """Speed only: every test builds fresh boto clients, so share botocore's parsed JSON files."""
    loaders: dict[Any, botocore.loaders.Loader] = {}

    def create_loader(search_path_string: Any = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield


@pytest.fixture(scope="session")
def otel_exporter() -> InMemorySpanExporter:
    """The OpenTelemetry SDK as the ADOT layer installs it, exporting to memory, not to X-Ray.

    Once per process: the API takes one tracer provider. Tests clear it before use.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Every test builds its own settings and clients from its own environment."""
    runtime_module.reset()
    yield
    runtime_module.reset()


@pytest.fixture(scope="session")
def pdok() -> Iterator[PdokStandIn]:
    """The recorded-addresses stand-in for PDOK Locatieserver, on a loopback port."""
    standin = PdokStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pdok: PdokStandIn) -> dict[str, str]:
    """The test stage's environment, as chalice gives it to the functions."""
    values = {
        **stage_environment("test"),
        "GEOCODER_URL": pdok.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def aws(env: dict[str, str]) -> Iterator[None]:
    """An emulated account with the production tables and queues."""
    moto_trace_header.install()  # batched messages keep their AWSTraceHeader, as in SQS
    with mock_aws():
        create_resources(boto3.client("cloudformation", region_name=REGION))
        runtime_module.runtime()  # bind the models to the emulated tables
        yield


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    """chalice's test client for the app, on the test stage."""
    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
        yield test_client


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

    def time_passes(self, queue: str) -> None:
        """Let every delayed message of a queue become visible now (as if its delay were over)."""
        for message in sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue)._messages:
            message.delayed_until = 0

    def drain(self, queue: str) -> list[dict[str, Any]]:
        """Take every visible message off a queue, with its SQS metadata, as Lambda would see it."""
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        records = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return records
            for message in got:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                records.append(message)


@pytest.fixture
def emulator(aws: None) -> Emulator:
    """The emulator's observable state."""
    return Emulator()


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
                for message in self.emulator.drain(queue):
                    busy = True
                    self.invoke(handler, queue, [message])
            if not busy:
                return
        raise AssertionError("queues did not drain")

    def sweep(self) -> Any:
        """Run the every-minute schedule once."""
        return self.client.lambda_.invoke(
            "sweeper", self.client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        ).payload


@pytest.fixture
def system(client: Client, emulator: Emulator) -> System:
    """The whole system in the emulator."""
    return System(client, emulator)


def add_participant(
    phone: str, *places: tuple[float, float], language: str = "nl", channel: str = "sms"
) -> None:
    """Register a participant with places (as the import does)."""
    labels = ("home", "work", "other", "fourth", "fifth")
    upsert_participant(
        phone,
        language,
        channel,
        [NewPlace(labels[i], lat, lon) for i, (lat, lon) in enumerate(places)],
        datetime.now(UTC),
    )
