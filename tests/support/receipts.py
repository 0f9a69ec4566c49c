"""Provider receipts as tests send them: End User Messaging SMS events in their real shape, on
the receipts queue, read by the receipt reader; and SNS publishes whose answer is lost."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from chalicelib.queues import RECEIPTS_QUEUE
from chalicelib.runtime import runtime
from tests.support.system import System

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "receipts"


def sms_event(kind: str, phone: str, at: datetime, message_id: str | None = None) -> dict[str, Any]:
    """An End User Messaging SMS event of this type (a fixture's shape) about one message."""
    name = {"TEXT_SUCCESSFUL": "text_successful", "TEXT_DELIVERED": "text_delivered"}.get(
        kind, "text_ttl_expired"
    )
    event: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    event.update(
        eventType=kind,
        destinationPhoneNumber=phone,
        eventTimestamp=int(at.timestamp() * 1000),
        messageId=message_id or str(uuid.uuid4()),
    )
    return event


def deliver_receipts(system: System, *bodies: str) -> Any:
    """Put message bodies on the receipts queue (as SNS would) and let the reader take them."""
    sqs = system.emulator.sqs
    url = sqs.get_queue_url(QueueName=RECEIPTS_QUEUE)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return system.invoke("receipt_reader", RECEIPTS_QUEUE, system.emulator.drain(RECEIPTS_QUEUE))


class LostAnswers:
    """Before-send hook on the SMS client: the n-th Publish's answer is lost, after SNS took
    the message (`accepted`) or before it reached SNS; records which phone each went to."""

    def __init__(self) -> None:
        self.publishes = 0
        self.phones: list[str] = []
        self.faults: dict[int, Callable[[Any, str], Any]] = {}

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        self.publishes += 1
        self.phones.append(_phone_of(request))
        fault = self.faults.pop(self.publishes, None)
        return fault(request, event_name) if fault else None  # None: on to moto


def accepted(request: Any, event_name: str) -> Any:
    """SNS takes the message (moto stores it), but the answer never arrives."""
    botocore_stubber(event_name, request)
    raise ReadTimeoutError(endpoint_url=request.url)


def lose_push_answers(times: int) -> None:
    """SNS takes the push sender's next `times` pushes (moto stores them), but their answers never
    arrive."""
    push = runtime().push
    assert push is not None
    left = [times]

    def answer(request: Any, event_name: str, **_: Any) -> Any:
        if left[0]:
            left[0] -= 1
            accepted(request, event_name)
        return None  # on to moto

    (push.publisher or push.client).meta.events.register_first("before-send.sns.Publish", answer)


def not_accepted(request: Any, event_name: str) -> Any:
    """The request never reaches SNS, and the client times out: nothing went out."""
    raise ReadTimeoutError(endpoint_url=request.url)


def _phone_of(request: Any) -> str:
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
    fields = dict(pair.split("=", 1) for pair in body.split("&") if "=" in pair)
    return fields.get("PhoneNumber", "").replace("%2B", "+")
