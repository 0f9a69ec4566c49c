"""The local runner's SQS receive for moto hands a message to one of several receivers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Message

from tools import moto_receive

RECEIVERS = 4


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto queue whose receivers linger between finding a message visible and marking it
    received, as a busy machine makes them: the moment two receivers can both take it."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    mark_received = Message.mark_received

    def slowly(self: Message, visibility_timeout: int | None = None) -> None:
        time.sleep(0.05)
        mark_received(self, visibility_timeout)

    monkeypatch.setattr(Message, "mark_received", slowly)
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


def receive_at_once(sqs: Any, url: str) -> list[str]:
    """What RECEIVERS pollers, starting together, receive from the queue."""
    start = threading.Barrier(RECEIVERS)
    received: list[str] = []

    def poll() -> None:
        start.wait()
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        received.extend(m["Body"] for m in answer.get("Messages", []))

    pollers = [threading.Thread(target=poll) for _ in range(RECEIVERS)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    return received


def test_one_message_goes_to_one_of_the_pollers_receiving_at_once(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="burgernet-sms", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody='{"chunk": 1}')

    moto_receive.install()
    try:
        received = receive_at_once(sqs, url)
    finally:
        moto_receive.uninstall()

    assert received == ['{"chunk": 1}']
