"""At most once, decided by the ledger: faults injected below botocore's retry layer.

The SNS client is the real one the sender uses; a `before-send` hook stands where the network
is, so botocore's own retry logic sees the fault exactly as it would from AWS. moto still
stores (and so "delivers") what reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from chalicelib.domain.messages import render_result
from chalicelib.domain.model import Language, Outcome
from chalicelib.queues import SMS_QUEUE
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT, add_participant
from tests.support.system import System

PHONES = [f"+3161200000{n}" for n in range(1, 6)]


@pytest.fixture
def five_people(system: System) -> None:
    for n, phone in enumerate(PHONES):
        add_participant(phone, (UTRECHT[0] + n * 0.001, UTRECHT[1]))


class Network:
    """Where the SNS client's requests meet "AWS": scripted faults for the n-th Publish."""

    def __init__(self) -> None:
        self.publishes = 0
        self.faults: dict[int, Callable[[Any, str], Any]] = {}

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        self.publishes += 1
        fault = self.faults.pop(self.publishes, None)
        return fault(request, event_name) if fault else None  # None: on to moto


def accepted_then_timed_out(request: Any, event_name: str) -> Any:
    """SNS takes the message (moto stores it), but the answer never arrives."""
    botocore_stubber(event_name, request)
    raise ReadTimeoutError(endpoint_url=request.url)


def answered(status: int, code: str) -> Callable[[Any, str], Any]:
    """SNS answers with an error, before doing anything."""

    def respond(request: Any, event_name: str) -> AWSResponse:
        # botocore offers the request to every before-send handler and takes the first answer;
        # moving it off SNS's address makes moto's handler pass, so nothing is stored.
        request.url = "https://refused.invalid/"
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{code}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, status, {}, _Raw(body.encode()))

    return respond


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body


@pytest.fixture
def network(system: System) -> Network:
    """Hooked in front of moto on the very SNS client the SMS sender publishes with."""
    net = Network()
    client = runtime().sender.sms.client  # type: ignore[attr-defined]
    client.meta.events.register_first("before-send.sns.Publish", net)
    return net


def start(system: System) -> dict[str, Any]:
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": "Man met rode jas op zwarte fiets",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 1500},
        },
    )
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def counts(system: System, action_id: str) -> dict[str, int]:
    return dict(system.get(f"/actions/{action_id}").json_body["counts"])


@pytest.mark.usefixtures("five_people")
def test_given_a_publish_accepted_but_its_answer_lost_then_that_phone_gets_one_sms_not_two(
    system: System, network: Network
) -> None:
    # Given: SNS accepts the 3rd SMS, and the answer times out on the way back
    network.faults[3] = accepted_then_timed_out

    # When
    action = start(system)
    system.run_queues()

    # Then: nobody got two; that phone got its one; the ledger says unknown, not sent or failed
    for phone in PHONES:
        assert len(system.emulator.sms_to(phone)) == 1, phone
    assert network.publishes == len(PHONES)  # tried once: no client retry
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"], got["failed"], got["queued"]) == (4, 1, 0, 0)

    # When closed: the unknown one is not sent a result (not knowably alerted); the rest are
    system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"})
    system.run_queues()
    result = render_result(Outcome.ARRESTED, action["ref"], Language.NL)
    timed_out = [p for p in PHONES if result not in system.emulator.sms_to(p)]
    assert len(timed_out) == 1
    assert counts(system, action["action_id"])["results_sent"] == 4


@pytest.mark.usefixtures("five_people")
def test_given_sns_throttles_below_the_retry_layer_then_the_ledger_retries_it_once_later(
    system: System, network: Network
) -> None:
    network.faults[2] = answered(400, "Throttling")

    action = start(system)
    system.run_queues()

    # Then: the throttled person is tried again by the ledger (a new, delayed message) and
    # everyone has exactly one alert
    for phone in PHONES:
        assert len(system.emulator.sms_to(phone)) == 1, phone
    assert network.publishes == len(PHONES) + 1
    got = counts(system, action["action_id"])
    assert got["sent"] == len(PHONES) and got["unknown"] == got["failed"] == 0


@pytest.mark.usefixtures("five_people")
def test_given_an_sns_server_error_then_it_is_unknown_and_never_sent_again(
    system: System, network: Network
) -> None:
    # A 500 may come after SNS took the message: as ambiguous as a timeout
    network.faults[1] = answered(500, "InternalError")

    action = start(system)
    system.run_queues()

    assert network.publishes == len(PHONES)
    got = counts(system, action["action_id"])
    assert (got["sent"], got["unknown"]) == (len(PHONES) - 1, 1)
    assert system.emulator.drain(SMS_QUEUE) == []
