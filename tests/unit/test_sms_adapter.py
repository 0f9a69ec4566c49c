"""The SMS adapter is the last gate before SNS: IAM cannot restrict SMS destinations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.sms import Reply, SnsSms, parse_reply


class Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs["PhoneNumber"])
        return {"MessageId": "m-1"}


def test_a_foreign_number_gets_no_sms() -> None:
    client = Recording()
    with pytest.raises(ValueError):
        SnsSms(client, "Burgernet").send("+447700900123", "Vermist: ...")
    assert client.sent == []


def test_a_dutch_number_does() -> None:
    client = Recording()
    assert SnsSms(client, "Burgernet").send("+31612345678", "Vermist: ...") == "m-1"
    assert client.sent == ["+31612345678"]


def test_a_reply_names_its_sender_and_text() -> None:
    message = json.dumps({"originationNumber": "+31612345678", "messageBody": "STOP"})
    assert parse_reply(message) == Reply("+31612345678", "STOP")


@pytest.mark.parametrize("message", [{}, {"originationNumber": "", "messageBody": "STOP"}])
def test_a_reply_without_a_sender_is_none(message: dict[str, str]) -> None:
    assert parse_reply(json.dumps(message)) is None
