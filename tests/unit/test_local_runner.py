"""The local runner hands handlers the events Lambda would, and every tool finds it on the ports
it was started on."""

from __future__ import annotations

import os
import threading
import urllib.request
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.dal.models import TABLES, Delivery
from tests.support.clients import clients_made
from tools import import_participants, posts, sms
from tools.control_pool import DEMO_PEOPLE
from tools.local import (
    banner,
    cloudwatch_event,
    emulator_environment,
    lambda_sqs_event,
    schedule_seconds,
    warm_tables,
)
from tools.local_urls import local_urls

PORT_SETTINGS = (
    "BURGERNET_API_PORT",
    "BURGERNET_EMULATOR_PORT",
    "BURGERNET_SOCIAL_PORT",
    "BURGERNET_MASTODON_PORT",
)
STAGE = "https://abc123.execute-api.eu-west-1.amazonaws.com/api"


def test_scheduled_and_contact_events_are_what_chalice_reads() -> None:
    for source, detail_type in (
        ("aws.events", "Scheduled Event"),
        ("aws.connect", "Amazon Connect Contact Event"),
    ):
        event = CloudWatchEvent(cloudwatch_event(source, detail_type, {"contactId": "c"}), None)
        assert (event.source, event.detail_type, event.detail) == (
            source,
            detail_type,
            {"contactId": "c"},
        )


def test_queue_messages_arrive_as_lambda_records() -> None:
    message = {"MessageId": "m-1", "ReceiptHandle": "r", "Body": '{"a": 1}', "MD5OfBody": "x"}
    event = SQSEvent(lambda_sqs_event("arn:aws:sqs:eu-west-1:1:q", [message]), None)
    [record] = list(event)
    assert record.body == '{"a": 1}' and record.to_dict()["messageId"] == "m-1"


def test_schedules_run_at_their_rate() -> None:
    assert schedule_seconds("rate(1 minute)") == 60
    assert schedule_seconds("rate(2 hours)") == 7200


def test_the_local_system_is_on_its_default_ports_when_nothing_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (*PORT_SETTINGS, "BURGERNET_API_URL"):
        monkeypatch.delenv(name, raising=False)

    urls = local_urls()

    assert (urls.api, urls.local_api, urls.emulator, urls.social, urls.mastodon) == (
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000",
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5001",
        "http://127.0.0.1:5002",
    )


def test_the_ports_make_run_reads_are_the_ports_the_tools_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BURGERNET_API_URL", raising=False)
    for name, port in zip(PORT_SETTINGS, ("8123", "5123", "5124", "5125"), strict=True):
        monkeypatch.setenv(name, port)

    urls = local_urls()

    assert (urls.api_port, urls.emulator_port, urls.social_port, urls.mastodon_port) == (
        8123,
        5123,
        5124,
        5125,
    )
    assert (urls.api, urls.emulator, urls.social, urls.mastodon) == (
        "http://127.0.0.1:8123",
        "http://127.0.0.1:5123",
        "http://127.0.0.1:5124",
        "http://127.0.0.1:5125",
    )


def test_an_api_url_aims_the_tools_elsewhere_but_not_the_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BURGERNET_API_URL", STAGE)
    monkeypatch.setenv("BURGERNET_API_PORT", "8123")

    urls = local_urls()

    assert (urls.api, urls.local_api) == (STAGE, "http://127.0.0.1:8123")


def test_a_port_that_is_no_port_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BURGERNET_EMULATOR_PORT", "50OO")

    with pytest.raises(SystemExit, match="BURGERNET_EMULATOR_PORT"):
        local_urls()


@pytest.mark.parametrize(
    ("tool", "called"),
    [
        (sms, "http://127.0.0.1:5123/moto-api/data.json"),
        (posts, "http://127.0.0.1:5125/api/v1/accounts/lookup?acct=burgernet"),
    ],
)
def test_make_sms_and_make_posts_call_the_configured_ports(
    tool: ModuleType,
    called: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BURGERNET_EMULATOR_PORT", "5123")
    monkeypatch.setenv("BURGERNET_SOCIAL_PORT", "5124")
    monkeypatch.setenv("BURGERNET_MASTODON_PORT", "5125")
    urls: list[str] = []

    def refuse(url: str, timeout: float) -> Any:
        urls.append(url)
        raise OSError("connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)

    assert tool.main() == 1
    assert urls == [called]
    assert called in capsys.readouterr().err


def test_make_import_writes_to_the_configured_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BURGERNET_EMULATOR_PORT", "5123")
    with mock.patch.dict(os.environ):  # configure() sets the stage's environment in os.environ
        os.environ.pop("AWS_ENDPOINT_URL", None)
        import_participants.configure("local")

        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5123"


def test_the_banner_says_how_to_open_the_control_room_and_sign_in() -> None:
    printed = banner("http://127.0.0.1:8000", "http://127.0.0.1:5000")

    assert "http://127.0.0.1:8000/control " in printed
    assert "no MFA here" in printed
    for name, (password, group) in DEMO_PEOPLE.items():
        assert f"{group.value:<19} user {name!r}, password {password!r}" in printed


def test_the_claim_threads_of_the_first_action_make_no_client_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in emulator_environment("http://127.0.0.1:5000").items():
        monkeypatch.setenv(name, value)  # as the runner points every client at its emulator
    for model, table in TABLES.items():
        monkeypatch.setattr(model.Meta, "table_name", f"burgernet-{table}", raising=False)
        monkeypatch.setattr(model, "_connection", None)  # a process that has made none yet
    made = clients_made(monkeypatch)

    warm_tables()  # the runner, before it starts the instances
    claimers = [
        threading.Thread(target=lambda: Delivery._get_connection().connection.client)
        for _ in range(16)  # the ledger's claim threads, all at the first action's targeting
    ]
    for claimer in claimers:
        claimer.start()
    for claimer in claimers:
        claimer.join()

    assert made == ["dynamodb"] * len(TABLES)  # one client a table, none made by the claims
