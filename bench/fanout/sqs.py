"""SQS and Lambda, simulated: queues with their template's settings, and sender instances."""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.simclock import Process
from chalicelib import runtime as runtime_module
from chalicelib.domain.model import Channel
from chalicelib.logic import sending
from chalicelib.logic.sending import Renew
from chalicelib.logic.work import SendWork
from chalicelib.queues import WorkQueue

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation


@dataclass
class Busy:
    """Integrates the seconds in which any of a channel's sources of work is on, and the seconds
    in which only one source is ("backoff": put-back work waiting out its delay; "calls": calls
    ringing or talking with no work queued)."""

    on: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0
    only: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    changed: float = 0.0

    def set(self, source: str, value: bool, now: float) -> None:
        """Switch one source on or off at `now`."""
        lit = [name for name, on in self.on.items() if on]
        if lit:
            self.seconds += now - self.changed
            if len(lit) == 1:
                self.only[lit[0]] += now - self.changed
        self.changed = now
        self.on[source] = value


@dataclass
class Message:
    """One SQS message, as the queue holds it."""

    number: int
    body: str
    backoff: bool  # a put-back (SendWork.attempt > 0): the channel is busy while it waits
    visible_at: float
    receives: int = 0
    receipt: int = 0  # bumped on every receive: an older receipt can no longer delete it
    active: bool = False  # counted as work the channel has (visible, or received)
    stuck: bool = False  # its invocation died: it waits out the visibility timeout
    gone: bool = False


class SimQueue(WorkQueue):
    """An SQS standard queue: delays, visibility timeout, receive counts and a dead-letter queue.

    The code under test enqueues through WorkQueue's `send`; Lambda instances `take`. It has no
    SQS client: anything else of WorkQueue's would fail loudly.
    """

    def __init__(
        self,
        sim: Simulation,
        name: str,
        busy: Busy | None,
        visibility_s: float,
        max_receives: int,
    ) -> None:
        super().__init__(client=None, name=name)
        self.sim = sim
        self.busy = busy
        self.visibility_s = visibility_s
        self.max_receives = max_receives
        self.messages: dict[int, Message] = {}
        self.dead: list[Message] = []
        self.sent = 0
        self.redelivered = 0
        self.duplicated = 0  # messages SQS delivered twice (at-least-once delivery)
        self._ready: list[tuple[float, int, int]] = []  # (visible_at, number, receipt)
        self._waiting: deque[Process] = deque()
        self._active = 0
        self._backoff = 0
        self._stuck = 0
        self._numbers = iter(range(1, 1 << 62))

    def send(self, items: Iterable[dict[str, Any]], delay_s: int = 0) -> int:
        """Enqueue items (SendMessageBatch, ten a request), visible after `delay_s` (<= 900)."""
        sched = self.sim.sched
        delay = max(0, min(900, delay_s))
        batch = [json.dumps(item) for item in items]
        for start in range(0, len(batch), 10):
            self.sim.charge("sqs", self.sim.params.sqs_ms / 1000)
            for body in batch[start : start + 10]:
                attempt = int(json.loads(body).get("attempt", 0))
                copies = 1
                if self.sim.faults.happens(
                    "duplicate", self.sim.params.faults.duplicate_deliveries
                ):
                    copies = 2  # a second copy, visible as soon: two instances take it at once
                    self.duplicated += 1
                for _ in range(copies):
                    message = Message(next(self._numbers), body, attempt > 0, sched.now + delay)
                    self.messages[message.number] = message
                    self.sent += 1
                    if message.backoff:
                        self._backoff += 1
                    self._enqueue(message)
        self._update_busy()
        return len(batch)

    def take(self) -> Message:
        """Receive the next visible message for a Lambda instance, waiting for one if needed."""
        sched = self.sim.sched
        process = sched.current()
        assert process is not None
        while True:
            while self._ready and self._ready[0][0] <= sched.now:
                visible_at, number, receipt = heapq.heappop(self._ready)
                message = self.messages.get(number)
                if (
                    message is None
                    or message.gone
                    or message.receipt != receipt
                    or message.visible_at != visible_at  # hidden again since (hold)
                ):
                    continue
                message.receives += 1
                if message.receives > self.max_receives:
                    self._remove(message)
                    self.dead.append(message)  # SQS moves it to the dead-letter queue
                    continue
                if message.receives > 1:
                    self.redelivered += 1
                message.receipt += 1
                message.visible_at = sched.now + self.visibility_s
                self._enqueue(message)  # back after the visibility timeout unless deleted
                self._mark_active(message)
                return message
            self._waiting.append(process)
            self.sim.spend("idle", None)

    def hold(self, receipt_handle: str, seconds: int) -> bool:
        """ChangeMessageVisibility: the message received as `receipt_handle` (`receipt_handle()`'s)
        stays hidden `seconds` from now, unless a later receive or a delete took it over."""
        self.sim.charge("sqs", self.sim.params.sqs_ms / 1000)
        number, receipt = (int(part) for part in receipt_handle.split(":"))
        message = self.messages.get(number)
        if message is None or message.gone or message.receipt != receipt:
            return False
        message.visible_at = self.sim.sched.now + seconds
        self._enqueue(message)
        return True

    @staticmethod
    def receipt_handle(message: Message) -> str:
        """The receipt handle of a message's latest receive."""
        return f"{message.number}:{message.receipt}"

    def abandon(self, message: Message, receipt: int) -> None:
        """Its invocation died: the message waits out its visibility timeout. Its people still
        wait for their alert, so the channel counts as busy ("stuck"): the wait is the crash
        tail the timeouts set, and quota use must see it (docs/benchmarks.md)."""
        if message.receipt == receipt and not message.gone and message.active:
            message.active = False
            self._active -= 1
            message.stuck = True
            self._stuck += 1
            self._update_busy()

    def delete(self, message: Message, receipt: int) -> None:
        """DeleteMessage with the receipt of a receive (a stale receipt deletes nothing)."""
        if message.receipt == receipt and not message.gone:
            self._remove(message)

    def _enqueue(self, message: Message) -> None:
        receipt, visible_at = message.receipt, message.visible_at
        heapq.heappush(self._ready, (visible_at, message.number, receipt))
        self.sim.sched.call_at(
            visible_at, lambda: self._became_visible(message, receipt, visible_at)
        )

    def _became_visible(self, message: Message, receipt: int, visible_at: float) -> None:
        if message.gone or message.receipt != receipt or message.visible_at != visible_at:
            return
        self._mark_active(message)
        if self._waiting:
            self.sim.sched.wake(self._waiting.popleft())

    def _mark_active(self, message: Message) -> None:
        if message.stuck:
            message.stuck = False
            self._stuck -= 1
        if not message.active:
            message.active = True
            self._active += 1
            if message.backoff:
                self._backoff -= 1  # its delay is over
            self._update_busy()

    def _remove(self, message: Message) -> None:
        message.gone = True
        self.messages.pop(message.number, None)
        if message.stuck:
            message.stuck = False
            self._stuck -= 1
        if message.active:
            self._active -= 1
        elif message.backoff:
            self._backoff -= 1
        self._update_busy()

    def _update_busy(self) -> None:
        if self.busy is not None:
            now = self.sim.sched.now
            self.busy.set("queue", self._active > 0, now)
            self.busy.set("backoff", self._backoff > 0, now)
            self.busy.set("stuck", self._stuck > 0, now)


@dataclass
class FunctionStats:
    """How one Lambda function's invocations went."""

    timeout_s: float
    memory_mb: int
    invocations: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    killed: Counter[str] = field(default_factory=Counter)  # crashes and timeouts, by where
    longest_s: float = 0.0
    over_timeout: int = 0

    def record(self, seconds: float) -> None:
        """Note one invocation's duration."""
        self.invocations += 1
        self.longest_s = max(self.longest_s, seconds)
        if seconds > self.timeout_s:
            self.over_timeout += 1


class Instance:
    """One concurrent execution of a sender function, with its own Sender (own pacer share)."""

    def __init__(self, sim: Simulation, channel: Channel) -> None:
        self.sim = sim
        self.channel = channel
        self.first_clock: float | None = None  # send()'s `started`: the invocation's first read
        self.sender = dataclasses.replace(
            sim.sender_template,
            pacers={
                ch: dataclasses.replace(limiter, clock=sim.sched.clock, sleep=self.pace)
                for ch, limiter in runtime_module.pacers(sim.settings).items()
            },
            clock=self.clock,
            sleep=self.line_sleep,
        )

    def clock(self) -> float:
        """The Sender's monotonic clock (simulated)."""
        if self.first_clock is None:
            self.first_clock = self.sim.sched.now
        return self.sim.sched.now

    def pace(self, seconds: float) -> None:
        """The pacers' sleep."""
        self.sim.spend("pacing", seconds)

    def handle(self, item: dict[str, Any], renew: Renew) -> None:
        """The sender function's body for one SQS record (workers._sender)."""
        self.first_clock = None
        work = SendWork.from_item(item, self.channel)
        sending.send(work, self.sender, self.sim.moment(), renew)

    def line_sleep(self, seconds: float) -> None:
        """The Sender's sleep: only `call_line` sleeps through it, between polls for a line.

        Polls that cannot find a line are skipped (see bench/fanout/__init__.py).
        """
        sim = self.sim
        sched = sim.sched
        process = sched.current()
        assert process is not None
        cost = sim.params.lines * sim.params.ledger_ms / 1000  # a poll that finds every line taken
        if (
            sim.params.exact_polls
            or self.first_clock is None
            or sim.last_release >= sched.now - cost - 1e-9  # a line came free during the poll
            or sim._a_line_is_free()
        ):
            sim.spend("line_wait", seconds)
            return
        deadline = self.first_clock + self.sender.line_wait_s
        first = sched.now + seconds
        last = first
        while last + cost + seconds <= deadline:  # call_line's check after each failed poll
            last += cost + seconds
        period = cost + seconds
        sim.line_waiters[process] = (first, period, next(sim.waits))
        try:
            sim.spend("line_wait", None, until=last)
        finally:
            del sim.line_waiters[process]
        sim.skipped_polls += round((sched.now - first) / period)
