"""The local runner runs each queue's function as Lambda would: as many instances at once as its
event source's MaximumConcurrency, each pacing itself to its own share of the channel's rate.
(How fast that makes the local system is measured by `python -m bench.local_rate`, not here.)"""

from __future__ import annotations

import io
import itertools
import json
import threading
from typing import Any

from chalice.app import Chalice

from chalicelib.domain.model import Channel
from chalicelib.domain.pacing import RateLimiter
from chalicelib.queues import (
    CODE_SENDERS,
    CODES_QUEUE,
    PUSH_QUEUE,
    SENDERS,
    SMS_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
)
from chalicelib.runtime import InstancePacers
from tools.local import UNCAPPED_INSTANCES, QueueFeeder, WholeLines, queue_feeders

PATIENCE_S = 30.0  # how long instances wait for each other before the test calls them serial


class FakeQueue:
    """One SQS queue in memory, safe to receive from on many threads; it counts the messages
    received and not yet deleted (in flight)."""

    def __init__(self, bodies: list[str]) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self.waiting = [(f"m-{n}", body) for n, body in enumerate(bodies)]
        self.in_flight: dict[str, str] = {}
        self.most_in_flight = 0
        self.deleted: list[str] = []
        self.all_handled = threading.Event()  # every message deleted
        self._total = len(bodies)

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs.local/{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:eu-west-1:000000000000:q"}}

    def receive_message(self, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        with self._lock:
            taken, self.waiting = (
                self.waiting[:MaxNumberOfMessages],
                self.waiting[MaxNumberOfMessages:],
            )
            messages = []
            for message_id, body in taken:
                handle = f"r-{next(self._ids)}"
                self.in_flight[handle] = message_id
                messages.append(
                    {
                        "MessageId": message_id,
                        "ReceiptHandle": handle,
                        "Body": body,
                        "MD5OfBody": "",
                    }
                )
            self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        return {"Messages": messages}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        with self._lock:
            self.deleted.append(self.in_flight.pop(ReceiptHandle))
            if len(self.deleted) == self._total:
                self.all_handled.set()

    def change_message_visibility(self, ReceiptHandle: str, **_: Any) -> None:
        with self._lock:  # failed: back in the queue at once
            message_id = self.in_flight.pop(ReceiptHandle)
            self.waiting.append((message_id, ""))


def feed(sqs: FakeQueue, handler: Any, instances: int) -> QueueFeeder:
    """Run a feeder for the fake queue until it handled every message (or the patience ran out)."""
    stop = threading.Event()
    feeder = QueueFeeder(sqs, "q", handler, 1, stop, "sms_sender", instances=instances)
    poller = threading.Thread(target=feeder.run, daemon=True)
    poller.start()
    sqs.all_handled.wait(PATIENCE_S)
    stop.set()
    poller.join(PATIENCE_S)
    return feeder


def test_each_queue_is_fed_to_as_many_instances_as_its_event_source_allows() -> None:
    from app import app

    assert isinstance(app, Chalice)
    instances = {f.queue: f.instances for f in queue_feeders(app, None, threading.Event())}

    assert instances[SMS_QUEUE] == SENDERS[Channel.SMS] == 8
    assert instances[VOICE_QUEUE] == SENDERS[Channel.VOICE]
    assert instances[PUSH_QUEUE] == SENDERS[Channel.PUSH]
    assert instances[CODES_QUEUE] == CODE_SENDERS
    assert instances[TARGETING_QUEUE] == UNCAPPED_INSTANCES  # no MaximumConcurrency set


def test_the_instances_of_a_sender_run_at_the_same_time() -> None:
    # Given eight chunks on the SMS queue, and a sender that returns only once all eight
    # instances are inside it at the same moment
    sqs = FakeQueue([f'{{"chunk": {n}}}' for n in range(8)])
    together = threading.Barrier(8, timeout=PATIENCE_S)
    threads: set[str] = set()

    def sender(event: dict[str, Any], context: Any) -> dict[str, Any]:
        threads.add(threading.current_thread().name)
        together.wait()
        return {"batchItemFailures": []}

    # When the runner feeds it with eight instances
    feed(sqs, sender, instances=8)

    # Then all eight ran at once, each on its own thread, and every chunk was handled once
    assert not together.broken
    assert len(threads) == 8
    assert sorted(sqs.deleted) == sorted(f"m-{n}" for n in range(8))


def test_the_poller_receives_only_what_idle_instances_can_take() -> None:
    # Given twenty chunks and three instances that take a while
    sqs = FakeQueue([f'{{"chunk": {n}}}' for n in range(20)])
    release = threading.Semaphore(0)

    def sender(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.acquire(timeout=PATIENCE_S)
        return {"batchItemFailures": []}

    def let_go() -> None:
        for _ in range(20):
            release.release()
            threading.Event().wait(0.01)

    threading.Thread(target=let_go, daemon=True).start()
    feed(sqs, sender, instances=3)

    # Then never more than three were received at once: the rest waited in the queue
    assert sqs.most_in_flight == 3
    assert len(sqs.deleted) == 20


def test_each_instance_paces_to_its_own_share_of_the_rate() -> None:
    # Given the SMS rate of 50/s shared by SENDERS[sms] instances
    share = 50 / SENDERS[Channel.SMS]
    pacers = InstancePacers(lambda: {Channel.SMS: RateLimiter(share)})
    seen: list[RateLimiter] = []
    lock = threading.Lock()

    def instance() -> None:
        mine = pacers[Channel.SMS]
        assert pacers[Channel.SMS] is mine  # the same share for all of one instance's sends
        with lock:
            seen.append(mine)

    # When each instance takes its pacer on its own thread
    threads = [threading.Thread(target=instance) for _ in range(SENDERS[Channel.SMS])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each has its own, and together they pace to the channel's rate, not to one share
    assert len({id(p) for p in seen}) == SENDERS[Channel.SMS]
    assert sum(p.per_second for p in seen) == 50
    assert list(pacers) == [Channel.SMS] and len(pacers) == 1


def test_lines_printed_by_instances_at_once_come_out_whole() -> None:
    # Given two instances printing at once: the first has written its text, not yet its newline
    out = io.StringIO()
    stdout = WholeLines(out)
    first_wrote, second_done = threading.Event(), threading.Event()

    def first() -> None:
        stdout.write('{"_aws": 1}')
        first_wrote.set()
        second_done.wait(PATIENCE_S)
        stdout.write("\n")

    def second() -> None:
        first_wrote.wait(PATIENCE_S)
        stdout.write('{"_aws": 2}')
        stdout.write("\n")
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each line reads as the JSON it was (as CloudWatch reads EMF lines)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"_aws": 2},
        {"_aws": 1},
    ]
