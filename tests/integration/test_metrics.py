"""The metrics cloud operations alarm on, as CloudWatch reads them: EMF lines on stdout.

Run through the real workers on the emulator; faults the emulator never shows are injected on the
SNS client the SMS sender uses (PublishFaults, in tests/support/fanout.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from chalicelib.dal import actions as action_store
from chalicelib.logic import sending
from chalicelib.queues import DEAD_LETTER_QUEUES, SMS_QUEUE, TARGETING_QUEUE
from tests.support.builders import add_participant
from tests.support.fanout import (
    LambdaTimeout,
    PublishFaults,
    client_error,
    deliver,
    north,
    run,
)
from tests.support.system import REGION, System
from tools.emulator import TEMPLATE

# 30 inside: six chunks of 5 (a list's last 200 are cut small: Release.split)
PEOPLE = [f"+316200000{n:02d}" for n in range(30)]
CHUNKS = 6
REFUSED = PEOPLE[7]  # the provider refuses this number for good
TIMED_OUT = PEOPLE[26]  # the provider's answer never comes: unknown
COUNTS = {"AlertsSent", "AlertsFailed", "Throttled", "ResultsSent", "Recipients", "DeadLettered"}


class Emf:
    """The EMF lines written to stdout so far, as CloudWatch would extract them."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.text = ""

    def lines(self) -> list[dict[str, Any]]:
        """Every EMF object written so far (the captured stdout is kept for later checks)."""
        self.text += self._capsys.readouterr().out
        return [json.loads(line) for line in self.text.splitlines() if line.startswith('{"_aws"')]

    def with_metric(self, name: str, action_id: str | None = None) -> list[dict[str, Any]]:
        """The lines that carry `name` (of one action, if given)."""
        return [
            line
            for line in self.lines()
            if name in metric_names(line) and (action_id is None or line["action_id"] == action_id)
        ]


def metric_names(line: dict[str, Any]) -> list[str]:
    [directive] = line["_aws"]["CloudWatchMetrics"]
    return [m["Name"] for m in directive["Metrics"]]


def value(line: dict[str, Any], name: str) -> float:
    [number] = line[name]  # once per chunk or sweep: one value a line
    return float(number)


def total(lines: list[dict[str, Any]], name: str) -> float:
    return sum(value(line, name) for line in lines)


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Emf:
    return Emf(capsys)


@pytest.fixture
def people(system: System) -> None:
    """PEOPLE inside a 1500 m circle round the Dom, nearest first."""
    for n, phone in enumerate(PEOPLE):
        add_participant(phone, north(40 * n))


def start(system: System) -> str:
    response = system.post(
        "/actions",
        {
            "incident": "burglary",
            "description": "man in rode jas op een zwarte fiets",
            "area": {"lat": north(0)[0], "lon": north(0)[1], "radius_m": 1500},
        },
    )
    assert response.status_code == 202, response.body
    return str(response.json_body["action_id"])


def close(system: System, action_id: str) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "arrested"})
    assert response.status_code == 200, response.body


def assert_no_phone_number(text: str) -> None:
    for phone in PEOPLE:
        assert phone not in text and phone[3:] not in text, phone


@pytest.mark.usefixtures("people")
def test_each_chunk_publishes_one_line_of_who_got_what_per_channel(
    system: System, emf: Emf, faults: PublishFaults
) -> None:
    # Given one number the provider refuses, one publish whose answer never comes, and one
    # throttled publish (tried again at once)
    faults.for_phone[REFUSED] = client_error("InvalidParameter", "Invalid parameter: PhoneNumber")
    faults.for_phone[TIMED_OUT] = ReadTimeoutError(endpoint_url="https://sns.eu-west-1")
    faults.at_call[3] = client_error("Throttling", "Rate exceeded")

    # When the action runs
    action_id = start(system)
    system.run_queues()

    # Then one line per chunk, in namespace Burgernet, per channel and in total
    chunks = emf.with_metric("AlertsSent", action_id)
    assert len(chunks) == CHUNKS
    for line in chunks:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Burgernet"
        assert sorted(directive["Dimensions"]) == [[], ["Channel"]]
        assert line["Channel"] == "sms"
        units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
        assert {units[n] for n in units if n in COUNTS} == {"Count"}
        assert units["TimeToLastAlert"] == "Milliseconds"
    # ... whose values are who got what
    assert total(chunks, "AlertsSent") == 28 == len(system.emulator.sms())
    assert total(chunks, "AlertsFailed") == 2  # refused, and unknown
    assert total(chunks, "Throttled") == 1
    # ... the first alert's time once for the action, each chunk's last alert's time
    [first] = [line for line in chunks if "TimeToFirstAlert" in line]
    last = max(value(line, "TimeToLastAlert") for line in chunks)
    assert 0 <= value(first, "TimeToFirstAlert") <= last < 60_000
    # ... and the recipients once, by targeting, with no dimension
    [recipients] = emf.with_metric("Recipients", action_id)
    assert value(recipients, "Recipients") == len(PEOPLE)
    assert recipients["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]

    # When it is closed, the results are counted the same way
    close(system, action_id)
    system.run_queues()
    results = emf.with_metric("ResultsSent", action_id)
    assert len(results) == 2  # 28 people: a chunk of 25 and one of 3 (results are not cut)
    assert total(results, "ResultsSent") == 28
    assert_no_phone_number(emf.text)


@pytest.mark.usefixtures("people")
def test_chunks_sending_at_once_publish_the_first_alert_once(
    system: System, emf: Emf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both chunks read the action before either sent anything (two senders at once)
    action_id = start(system)
    before_any_alert = action_store.get_action(action_id)
    monkeypatch.setattr(sending.action_store, "get_action", lambda _: before_any_alert)

    # When they send
    system.run_queues()

    # Then only the earlier one publishes the action's first alert
    chunks = emf.with_metric("AlertsSent", action_id)
    assert len(chunks) == CHUNKS
    assert len([line for line in chunks if "TimeToFirstAlert" in line]) == 1


@pytest.mark.usefixtures("people")
def test_a_chunk_cut_short_still_publishes_what_it_did(
    system: System, emf: Emf, faults: PublishFaults
) -> None:
    # Given the third publish fails in a way nobody foresaw (the invocation fails)
    faults.at_call[3] = RuntimeError("unforeseen")

    # When the action runs (SQS hands the failed chunk back: the rest goes out then)
    action_id = start(system)
    assert deliver(system) == []

    # Then the failed invocation published the two alerts it sent and the one it lost
    chunks = emf.with_metric("AlertsSent", action_id)
    assert len(chunks) == CHUNKS + 1  # the first chunk twice, then the others
    assert (value(chunks[0], "AlertsSent"), value(chunks[0], "AlertsFailed")) == (2, 1)
    assert total(chunks, "AlertsSent") == len(PEOPLE) - 1 == len(system.emulator.sms())
    assert total(chunks, "AlertsFailed") == 1


@pytest.mark.parametrize("closed_after", [timedelta(minutes=7), timedelta(0)])
@pytest.mark.usefixtures("people")
def test_an_alert_whose_sender_was_killed_mid_publish_counts_as_failed_once(
    system: System,
    emf: Emf,
    faults: PublishFaults,
    clock: Callable[[timedelta], datetime],
    closed_after: timedelta,
) -> None:
    # Given the sender is killed by its timeout while publishing the third alert; SQS then
    # redelivers its chunk and the rest go out
    faults.at_call[3] = LambdaTimeout()
    action_id = start(system)
    run(system, "targeting_worker", TARGETING_QUEUE)
    first, *others = system.emulator.drain(SMS_QUEUE)
    with pytest.raises(LambdaTimeout):
        system.invoke("sms_sender", SMS_QUEUE, [first])
    for message in (first, *others):
        system.invoke("sms_sender", SMS_QUEUE, [message])

    # When the action is closed once that sender's time is surely up (the results pass settles
    # the alert), or at once (then a result chunk settles it, when it comes round after that)
    clock(closed_after)
    close(system, action_id)
    run(system, "targeting_worker", TARGETING_QUEUE)
    clock(timedelta(minutes=7))
    assert deliver(system) == []

    # Then that alert is counted as failed, once, on its channel
    lines = emf.with_metric("AlertsFailed", action_id)
    failed = [line for line in lines if value(line, "AlertsFailed")]
    assert [(line["Channel"], value(line, "AlertsFailed")) for line in failed] == [("sms", 1)]


@pytest.mark.usefixtures("people")
def test_targeting_run_twice_publishes_the_recipients_once(system: System, emf: Emf) -> None:
    # Given the targeting message is delivered twice (SQS is at-least-once)
    action_id = start(system)
    [message] = system.emulator.drain(TARGETING_QUEUE)

    # When both deliveries are handled
    system.invoke("targeting_worker", TARGETING_QUEUE, [message])
    system.invoke("targeting_worker", TARGETING_QUEUE, [message])

    # Then
    [recipients] = emf.with_metric("Recipients", action_id)
    assert value(recipients, "Recipients") == len(PEOPLE)


@pytest.mark.usefixtures("people")
def test_the_sweep_counts_late_targeting_and_dead_letters(
    system: System, emf: Emf, clock: Callable[[timedelta], datetime]
) -> None:
    # Given an action whose targeting never ran, and two alert chunks in the SMS dead-letter queue
    start(system)
    system.emulator.drain(TARGETING_QUEUE)
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.get_queue_url(QueueName=f"{SMS_QUEUE}-dlq")["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"chunk": n}))

    # When the sweep runs a minute after the start, and again three minutes after
    clock(timedelta(minutes=1))
    system.sweep()
    on_time = emf.with_metric("TargetingLate")
    clock(timedelta(minutes=3))
    system.sweep()
    late = emf.with_metric("TargetingLate")[len(on_time) :]

    # Then the action counts as late only after two minutes, in one line a sweep, no dimension
    assert [value(line, "TargetingLate") for line in on_time] == [0]
    assert [value(line, "TargetingLate") for line in late] == [1]
    assert late[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    # ... and each sweep counts every DLQ, by queue and in total
    dead = emf.with_metric("DeadLettered")
    assert len(dead) == 2 * len(DEAD_LETTER_QUEUES)
    by_queue = {line["Queue"]: value(line, "DeadLettered") for line in dead}
    assert by_queue == {name: 2 if name == f"{SMS_QUEUE}-dlq" else 0 for name in DEAD_LETTER_QUEUES}
    assert all(
        sorted(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]) == [[], ["Queue"]]
        for line in dead
    )


def test_the_sweep_counts_every_dead_letter_queue_of_the_template() -> None:
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    queues = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::SQS::Queue"]
    targets = {
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in queues
        if "RedrivePolicy" in queue
    }
    names = {resources[target]["Properties"]["QueueName"] for target in targets}
    assert names == set(DEAD_LETTER_QUEUES)
