"""The clock-driven run: one action from start to results through the simulated queues and
providers."""

from __future__ import annotations

import functools
import gc
import itertools
import json
import logging
import math
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from bench.fanout.providers import ConnectModel, MessagingModel
from bench.fanout.report import report
from bench.fanout.sqs import Busy, FunctionStats, Instance, SimQueue
from bench.fanout.world import ACCOUNT, REGION, START, Params, Workload, populate, world
from bench.simclock import Process, Scheduler
from bench.unmeasured import Unmeasured
from chalicelib.adapters.connect import ConnectVoice
from chalicelib.adapters.push import SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import lines as call_lines
from chalicelib.dal.deliveries import CLAIM_THREADS
from chalicelib.domain.model import Channel, Incident, Outcome
from chalicelib.domain.requests import ActionRequest, CloseRequest
from chalicelib.logic import actions, sending, targeting
from chalicelib.queues import (
    PUSH_QUEUE,
    SENDERS,
    SMS_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
)
from chalicelib.settings import Settings
from tools.emulator import CHALICE_CONFIG, TEMPLATE

PUSH_APP = f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/burgernet-fcm"
QUEUE_NAMES = {
    Channel.SMS: SMS_QUEUE,
    Channel.VOICE: VOICE_QUEUE,
    Channel.PUSH: PUSH_QUEUE,
}
FUNCTIONS = {
    TARGETING_QUEUE: "targeting_worker",
    SMS_QUEUE: "sms_sender",
    VOICE_QUEUE: "voice_sender",
    PUSH_QUEUE: "push_sender",
}
TARGETING_INSTANCES = 2  # the targeting queue has no MaximumConcurrency; two is plenty for 2 jobs


class EventCounter(logging.Handler):
    """Counts the code's structured log events by name, put-backs by reason, and the most times
    one chunk was put back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = json.loads(record.getMessage())
        except ValueError:
            return
        name = str(event.get("event"))
        self.events[name] += 1
        if name == "send_put_back":
            channel = event.get("channel")
            self.events[f"put_back:{channel}:{event.get('reason')}"] += 1
            most = f"most_put_backs:{channel}"
            self.events[most] = max(self.events[most], int(event.get("attempt") or 0))


class Simulation:
    """One run: the queues, the instances, the providers, and the action from start to results."""

    def __init__(self, params: Params, settings: Settings, workload: Workload) -> None:
        self.params = params
        self.settings = settings
        self.workload = workload
        self.sched = Scheduler()
        self.busy = {channel: Busy() for channel in Channel}
        template = json.loads(TEMPLATE.read_text())["Resources"]
        config = json.loads(CHALICE_CONFIG.read_text())["stages"]["prod"]["lambda_functions"]
        queue_specs = {
            spec["Properties"]["QueueName"]: spec["Properties"]
            for spec in template.values()
            if spec.get("Type") == "AWS::SQS::Queue"
        }

        def queue(name: str, busy: Busy | None) -> SimQueue:
            spec = queue_specs[name]
            return SimQueue(
                self,
                name,
                busy,
                float(spec.get("VisibilityTimeout", 30)),
                int(spec["RedrivePolicy"]["maxReceiveCount"]),
            )

        self.targeting = queue(TARGETING_QUEUE, None)
        self.queues: dict[Channel, SimQueue] = {
            channel: queue(name, self.busy[channel]) for channel, name in QUEUE_NAMES.items()
        }
        self.functions = {
            name: FunctionStats(float(config.get(function, {}).get("lambda_timeout", 60)))
            for name, function in FUNCTIONS.items()
        }
        self.sms = MessagingModel(
            self, Channel.SMS, params.sms_rate, params.sms_burst_s, params.sms_ms
        )
        self.push = MessagingModel(
            self, Channel.PUSH, params.push_rate, params.push_burst_s, params.push_ms
        )
        self.connect = ConnectModel(self)
        self.sender_template = sending.Sender(
            sms=SnsSms(self.sms, settings.sms_sender_id),
            callback_number=settings.callback_number,
            queues=self.queues,
            pacers={},
            metrics=Unmeasured(),
            voice=ConnectVoice(self.connect, "bench-instance", "bench-flow", "+31302000000"),
            voice_lines=settings.voice_max_concurrent,
            push=SnsPush(self.push, {"fcm": PUSH_APP}, publisher=self.push),
        )
        self.line_waiters: dict[Process, tuple[float, float, int]] = {}
        self.waits = itertools.count()
        self.last_release = -math.inf
        self.skipped_polls = 0
        self.roles: dict[Process, str] = {}
        self.phases: dict[str, float] = {}
        self.activity: defaultdict[str, defaultdict[str, float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self.requests: Counter[str] = Counter()
        self._helpers = threading.Lock()  # helper threads count their requests concurrently
        self.action_id = ""
        self.closed_at: float | None = None

    # -- time and latency ----------------------------------------------------------------------

    def moment(self) -> datetime:
        """The simulated wall-clock time."""
        return START + timedelta(seconds=self.sched.now)

    def spend(self, activity: str, seconds: float | None, until: float | None = None) -> None:
        """The running process sleeps `seconds` (None: waits to be woken, or until `until`),
        and the time goes to `activity` in its role's account."""
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        started = self.sched.now
        if seconds is None:
            self.sched.wait(until=until)
        else:
            self.sched.sleep(seconds)
        self.activity[self.roles.get(process, "other")][activity] += self.sched.now - started

    def charge(self, activity: str, seconds: float) -> None:
        """A request of the running process takes `seconds`, after what its helpers' requests
        (made while it waited for them) took, in waves of CLAIM_THREADS."""
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        waves = math.ceil(process.debt_calls / CLAIM_THREADS)
        process.debt_calls = 0
        self.spend(activity, seconds + waves * self.params.ledger_ms / 1000)

    def spawn(
        self, role: str, name: str, body: Callable[[], None], at: float | None = None
    ) -> Process:
        """A process whose time is accounted to `role`."""
        process = self.sched.spawn(name, body, at)
        self.roles[process] = role
        return process

    def _before_dynamodb(self, sender: Any, operation_name: str, table_name: str, **_: Any) -> None:
        with self._helpers:
            self.requests[f"{operation_name}:{table_name}"] += 1
            if self.sched.current() is None:
                running = self.sched.running
                if running is not None:
                    running.debt_calls += 1  # a helper thread of the running process
                return
        self.charge("dynamodb", self.params.ledger_ms / 1000)

    def _after_dynamodb(self, sender: Any, operation_name: str, table_name: str, **_: Any) -> None:
        if operation_name == "DeleteItem" and table_name == self.settings.tables.ratelimits:
            self._line_released()

    def _line_released(self) -> None:
        """A call line came free: each waiting voice sender polls at its next poll time if a
        line is still free then."""
        now = self.sched.now
        self.last_release = now
        for process, (first, period, wait) in self.line_waiters.items():
            polls = max(0, math.ceil((now - first) / period - 1e-9))
            at = first + polls * period
            self.sched.call_at(at, functools.partial(self._poll_due, process, at, wait))

    def _poll_due(self, process: Process, at: float, wait: int) -> None:
        waiting = self.line_waiters.get(process)
        if waiting is not None and waiting[2] == wait and self._a_line_is_free():
            self.sched.wake(process, at)

    def _a_line_is_free(self) -> bool:
        """Whether `lines.acquire` would find a line now (read from moto's table directly)."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = dynamodb_backends[ACCOUNT][REGION].get_table(self.settings.tables.ratelimits)
        now = int(self.moment().timestamp())
        for n in range(self.settings.voice_max_concurrent):
            lease: Any = table.items.get(DynamoType({"S": call_lines._line(n)}))
            expires = lease.attrs.get("expires") if lease is not None else None
            if expires is None or int(expires.value) < now:
                return True
        return False

    # -- processes -----------------------------------------------------------------------------

    def _lambda(
        self, queue: SimQueue, handle: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        stats = self.functions[queue.name]

        def run() -> None:
            while True:
                message = queue.take()
                receipt = message.receipt
                self.spend("invoke", self.params.invoke_ms / 1000)
                started = self.sched.now
                try:
                    handle(json.loads(message.body))
                except Exception as exc:  # workers._each reports it; SQS redelivers later
                    stats.failed[type(exc).__name__] += 1
                    stats.record(self.sched.now - started)
                    continue
                stats.record(self.sched.now - started)
                queue.delete(message, receipt)

        return run

    def _targeting(self, item: dict[str, Any]) -> None:
        """The targeting worker's body (workers.targeting_worker)."""
        started = self.sched.now
        if item["kind"] == "target":
            targeting.target(item["action_id"], self.queues, self.moment(), Unmeasured())
        else:
            targeting.fan_out_results(item["action_id"], self.queues, self.moment(), Unmeasured())
        self.phases[f"{item['kind']}_s"] = round(self.sched.now - started, 1)

    def _start(self) -> None:
        request = ActionRequest(
            Incident.BURGLARY,
            "man in rode jas op een zwarte fiets",
            self.workload.circle,
            480,
            (Channel.SMS, Channel.VOICE),
        )
        action = actions.start_action(request, "bench", None, self.targeting, self.moment())
        self.action_id = str(action.action_id)

    def _close(self) -> None:
        self.closed_at = self.sched.now
        self.phases["closed_at_s"] = round(self.sched.now, 1)
        actions.close_action(
            self.action_id,
            CloseRequest(Outcome.FOUND, None),
            "bench",
            self.targeting,
            self.moment(),
        )

    def run(self) -> list[dict[str, Any]]:
        """Start the action, send its alerts, close it, send its results; then measure."""
        from pynamodb.signals import post_dynamodb_send, pre_dynamodb_send

        counter = EventCounter()
        events = logging.getLogger("burgernet.events")
        events.addHandler(counter)
        events.propagate = False
        pre_dynamodb_send.connect(self._before_dynamodb)
        post_dynamodb_send.connect(self._after_dynamodb)
        try:
            sched = self.sched
            for _ in range(TARGETING_INSTANCES):
                self.spawn(
                    "targeting", "targeting_worker", self._lambda(self.targeting, self._targeting)
                )
            for channel, queue in self.queues.items():
                for n in range(SENDERS[channel]):
                    instance = Instance(self, channel)
                    self.spawn(
                        channel.value, f"{queue.name}#{n}", self._lambda(queue, instance.handle)
                    )
            self.spawn("api", "api:start_action", self._start)
            if self.params.close_at_s is not None:
                self.spawn("api", "api:close_action", self._close, at=self.params.close_at_s)
            sched.run(until=self.params.max_sim_s)
            if self.closed_at is None and sched.idle():
                self.spawn("api", "api:close_action", self._close, at=sched.now + 1)
                sched.run(until=self.params.max_sim_s)
            finished = sched.idle()
            sim_s = sched.now
            sched.shutdown()
        finally:
            pre_dynamodb_send.disconnect(self._before_dynamodb)
            post_dynamodb_send.disconnect(self._after_dynamodb)
            events.removeHandler(counter)
            events.propagate = True
        return report(self, finished, sim_s, counter.events)

    # -- measuring -----------------------------------------------------------------------------


@contextmanager
def _seeded_ids(seed: int) -> Iterator[None]:
    """uuid4() from a seeded generator, so participant and action ids (and with them the ledger's
    order) are the same in every run of a seed."""
    rng = random.Random(f"{seed}:ids")

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    with mock.patch.object(uuid, "uuid4", uuid4):
        yield


def run(params: Params) -> list[dict[str, Any]]:
    """Build a fresh world, run the action through it, return one JSON object per channel."""
    with _seeded_ids(params.seed), world(params) as settings:
        started = time.perf_counter()
        workload = populate(params, START)
        print(
            f"[sms {params.sms_rate:g}/s] stored {params.people:,} people in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()  # the stored world is long-lived: keep the collector from walking it
        try:
            started = time.perf_counter()
            lines = Simulation(params, settings, workload).run()
        finally:
            gc.unfreeze()
        print(
            f"[sms {params.sms_rate:g}/s] simulated {lines[0]['sim_s']:,.0f} s in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        return lines
