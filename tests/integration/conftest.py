"""Integration fixtures: the packaged prod template, the app's push platforms, fan-out tools."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.awsclient import TypedAWSClient
from chalice.cli.factory import CLIFactory
from chalice.deploy.deployer import DeploymentPackager
from chalice.package import PackageOptions, create_app_packager
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import runtime as runtime_module
from chalicelib.handlers import feeds, workers
from chalicelib.logic import sending
from chalicelib.runtime import runtime
from tests.support.builders import add_participant
from tests.support.fanout import FAR_OUTSIDE, INSIDE, JUST_OUTSIDE, PublishFaults, north
from tests.support.residents import MUNICIPALITY, TransactionFault
from tests.support.system import REGION, System

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def unlimited_send_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """No send budget: it is wall time, so a test about anything else would depend on how busy
    the machine is (a loaded one put a throttled chunk back early). test_send_budget sets one."""
    monkeypatch.setattr(sending, "SEND_BUDGET_S", {})


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The merged prod template, as `make package` writes it, minus the zip.

    Building the zip downloads wheels and changes nothing in the template.
    """
    out = tmp_path_factory.mktemp("package")
    empty_zip = out / "empty.zip"
    empty_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)

    def no_zip(self: Any, config: Any, resource: Any) -> None:
        resource.filename = str(empty_zip)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DeploymentPackager, "handle_deploymentpackage", no_zip)
        patch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        factory = CLIFactory(project_dir=str(ROOT))
        config = factory.create_config_obj("prod")
        packager = create_app_packager(
            config,
            PackageOptions(TypedAWSClient(session=factory.create_botocore_session())),
            merge_template=str(ROOT / "infra" / "template.json"),
        )
        packager.package_app(config, str(out / "dist"), "prod")
    yield json.loads((out / "dist" / "sam.json").read_text())


@pytest.fixture
def app(system: System, monkeypatch: pytest.MonkeyPatch) -> System:
    """The system with SNS platform applications for the app (FCM and APNs) configured."""
    sns = boto3.client("sns", region_name=REGION)
    for platform, env in (
        ("GCM", "PUSH_APPLICATION_FCM_ARN"),
        ("APNS", "PUSH_APPLICATION_APNS_ARN"),
    ):
        arn = sns.create_platform_application(
            Name=f"burgernet-{platform.lower()}",
            Platform=platform,
            Attributes={"PlatformCredential": "secret", "PlatformPrincipal": "principal"},
        )["PlatformApplicationArn"]
        monkeypatch.setenv(env, arn)
    runtime_module.reset()
    runtime_module.runtime()
    return system


@pytest.fixture
def neighbourhood(system: System) -> None:
    """Everyone in INSIDE, plus one person just outside the circle and one far outside."""
    for phone, metres, language in INSIDE:
        add_participant(phone, north(metres), language=language)
    add_participant(JUST_OUTSIDE, north(1550))
    add_participant(FAR_OUTSIDE, north(-4000))


@pytest.fixture
def faults(system: System, monkeypatch: pytest.MonkeyPatch) -> PublishFaults:
    """Fault injection on the very SNS client the SMS sender uses."""
    client = runtime().sender.sms.client
    stand_in = PublishFaults(client.publish)
    monkeypatch.setattr(client, "publish", stand_in)
    return stand_in


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], datetime]:
    """Moves the workers' clock (targeting, sending, the sweep) ahead of real time."""

    def move(ahead: timedelta) -> datetime:
        moment = datetime.now(UTC) + ahead
        monkeypatch.setattr(workers, "now", lambda: moment)
        return moment

    return move


@pytest.fixture
def utrecht(system: System) -> System:
    """The demo municipality, registered through the admin API."""
    response = system.post("/municipalities", MUNICIPALITY)
    assert response.status_code == 201, response.body
    return system


@pytest.fixture
def transaction_fault(monkeypatch: pytest.MonkeyPatch) -> TransactionFault:
    fault = TransactionFault()
    commit = TransactWrite._commit

    def failing_commit(self: TransactWrite) -> Any:
        if fault.armed:
            fault.armed = False
            fault.hits += 1
            raise TransactWriteError("TransactionCanceledException (injected)")
        return commit(self)

    monkeypatch.setattr(TransactWrite, "_commit", failing_commit)
    return fault


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Moves the public routes' clock ahead of real time."""

    def move(ahead: timedelta) -> None:
        moment = datetime.now(UTC) + ahead
        monkeypatch.setattr(feeds, "now", lambda: moment)

    return move
