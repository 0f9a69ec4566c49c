"""Shared fixtures: an emulated AWS account built from infra/template.json, and the chalice app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from chalice.test import Client
from moto import mock_aws
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chalicelib import runtime as runtime_module
from tests.support.system import REGION, Emulator, System
from tools import moto_atomic, moto_trace_header
from tools.emulator import ROOT, create_resources, stage_environment
from tools.pdok_standin import PdokStandIn


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
    # Each DynamoDB request applied whole, as in DynamoDB: targeting claims on threads
    # (tools/moto_atomic.py says why).
    with mock_aws(), moto_atomic.atomic():
        create_resources(boto3.client("cloudformation", region_name=REGION))
        runtime_module.runtime()  # bind the models to the emulated tables
        yield


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    """chalice's test client for the app, on the test stage."""
    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture
def emulator(aws: None) -> Emulator:
    """The emulator's observable state."""
    return Emulator()


@pytest.fixture
def system(client: Client, emulator: Emulator) -> System:
    """The whole system in the emulator."""
    return System(client, emulator)
