"""The clock-driven run: one action from start to results through the simulated queues and
providers."""

from __future__ import annotations

import functools
import gc
import inspect
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

from bench.fanout import dynamo
from bench.fanout.faults import Faults, Killed
from bench.fanout.providers import ConnectModel, MessagingModel
from bench.fanout.receipts import Receipts
from bench.fanout.report import report
from bench.fanout.sqs import Busy, FunctionStats, Instance, SimQueue
from bench.fanout.world import (
    ACCOUNT,
    APP_FIRST,
    REGION,
    SMALL_CENTRE,
    START,
    Params,
    Workload,
    populate,
    world,
)
from bench.simclock import Process, Scheduler
from bench.unmeasured import Unmeasured
from chalicelib.adapters.connect import ConnectVoice
from chalicelib.adapters.push import SnsPush
from chalicelib.adapters.sms import SnsSms
from chalicelib.dal import actions as action_store
from chalicelib.dal import deliveries
from chalicelib.dal import lines as call_lines
from chalicelib.dal.deliveries import CLAIM_THREADS
from chalicelib.domain.model import ActionStatus, Channel, Incident, Kind, Outcome
from chalicelib.domain.requests import ActionRequest, CloseRequest
from chalicelib.logic import actions, sending, sweep, targeting
from chalicelib.logic.work import Release
from chalicelib.queues import (
    PUSH_QUEUE,
    SENDERS,
    SMS_QUEUE,
    TARGETING_QUEUE,
    VOICE_QUEUE,
    Hold,
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
# Lambda gives a function CPU in proportion to its memory: 1,769 MB is one full vCPU (AWS Lambda
# developer guide, "Configure Lambda function memory"). One thread gets at most one vCPU.
FULL_VCPU_MB = 1769
LAMBDA_DEFAULT_MB = 128  # chalice's default when the config names no lambda_memory_size
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

    def __init__(
        self,
        params: Params,
        settings: Settings,
        workload: Workload,
        small: Workload | None = None,
    ) -> None:
        self.params = params
        self.settings = settings
        self.workload = workload
        self.small = small
        self.sched = Scheduler()
        self.faults = Faults(params.faults, params.seed)
        self.throughput = dynamo.ThroughputModel(
            params.faults.ledger_write_units,
            params.faults.ledger_read_units,
            params.faults.ledger_burst_s,
        )
        self.backoffs = 0
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
        # Each function's timeout and memory as production configures them (the prod stage).
        self.functions = {
            name: FunctionStats(
                float(config.get(function, {}).get("lambda_timeout", 60)),
                int(config.get(function, {}).get("lambda_memory_size", LAMBDA_DEFAULT_MB)),
            )
            for name, function in FUNCTIONS.items()
        }
        self.sms = MessagingModel(
            self, Channel.SMS, params.sms_rate, params.sms_burst_s, params.sms_ms
        )
        self.push = MessagingModel(
            self, Channel.PUSH, params.push_rate, params.push_burst_s, params.push_ms
        )
        self.connect = ConnectModel(self)
        self.receipts = Receipts(self)
        self._sending = threading.local()  # the send a simulated process is making
        self.cpu_measured: defaultdict[Channel, list[float]] = defaultdict(lambda: [0.0, 0.0])
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
        self.small_action_id = ""
        self.expected: actions.Expected = {}  # what POST /actions told dispatch to expect
        self.closed_at: float | None = None
        self.swept = 0

    # -- time and latency ----------------------------------------------------------------------

    def moment(self) -> datetime:
        """The simulated wall-clock time."""
        return START + timedelta(seconds=self.sched.now)

    def spend(self, activity: str, seconds: float | None, until: float | None = None) -> None:
        """The running process sleeps `seconds` (None: waits to be woken, or until `until`),
        and the time goes to `activity` in its role's account.

        An invocation is cut off at its Lambda timeout: time that would run past it ends there,
        with Killed. One drawn to hang (a call that never answers) hangs at its chosen step.
        """
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        started = self.sched.now
        deadline = process.deadline
        if deadline is not None:
            process.steps += 1
            if process.steps == process.hang_at:
                seconds, until = deadline - started, None
                activity = "hung"
            elif seconds is None:
                until = deadline if until is None else min(until, deadline)
        if seconds is None:
            self.sched.wait(until=until)
        elif deadline is not None and started + seconds > deadline:
            self.sched.sleep(max(0.0, deadline - started))
        else:
            self.sched.sleep(seconds)
        self.activity[self.roles.get(process, "other")][activity] += self.sched.now - started
        if deadline is not None and self.sched.now >= deadline - 1e-9:
            raise Killed("timeout")

    def charge(self, activity: str, seconds: float) -> None:
        """A request of the running process takes `seconds`, after what its helpers' requests
        (made while it waited for them) took, in waves of CLAIM_THREADS."""
        process = self.sched.current()
        if process is None:
            return  # the bench itself (setup, checks): not part of the simulation
        waves = math.ceil(process.debt_calls / CLAIM_THREADS)
        backoff = process.debt_s / CLAIM_THREADS  # helpers' back-offs, side by side
        process.debt_calls = 0
        process.debt_s = 0.0
        self.spend(activity, seconds + waves * self.params.ledger_ms / 1000 + backoff)

    def current_send(self) -> tuple[str, Kind, str] | None:
        """The running process's send (action id, kind, participant id), for the providers."""
        found: tuple[str, Kind, str] | None = getattr(self._sending, "send", None)
        return found

    def _on_send(self, delivery: Any, chunk: Any) -> None:
        """Just before the sending path calls a provider: note whose send it is, and charge the
        CPU the sending path takes for one send at this function's memory."""
        work = chunk.work
        self._sending.send = (work.action_id, work.kind, str(delivery.participant_id))
        channel = Channel(delivery.channel)
        memory = self.functions[QUEUE_NAMES[channel]].memory_mb
        share = min(1.0, memory / FULL_VCPU_MB)
        self.spend("cpu", self.params.cpu_ms[channel.value] / 1000 / share)

    def spawn(
        self, role: str, name: str, body: Callable[[], None], at: float | None = None
    ) -> Process:
        """A process whose time is accounted to `role`."""
        process = self.sched.spawn(name, body, at)
        self.roles[process] = role
        return process

    def _before_dynamodb(self, sender: Any, operation_name: str, table_name: str, **_: Any) -> None:
        if self.sched.current() is not None:
            self.faults.on_request(operation_name)
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

    def _lambda(self, queue: SimQueue, handle: Callable[..., None]) -> Callable[[], None]:
        stats = self.functions[queue.name]
        # A sender hides its message while it runs (workers._hold, queues.Hold).
        channel = next((ch for ch, q in self.queues.items() if q is queue), None)

        def run() -> None:
            process = self.sched.current()
            assert process is not None
            while True:
                message = queue.take()
                receipt = message.receipt
                self.spend("invoke", self.params.invoke_ms / 1000)
                started = self.sched.now
                process.deadline = started + stats.timeout_s
                process.steps = 0
                process.hang_at = (
                    self.faults.rng("hang_step").randint(1, 8)
                    if self.faults.happens("hang", self.params.faults.hung_invocations)
                    else None
                )
                try:
                    if channel is None:
                        handle(json.loads(message.body))
                    else:  # workers._each and _hold
                        held = Hold(queue, queue.receipt_handle(message), channel, self.sched.clock)
                        held.renew()
                        handle(json.loads(message.body), held.renew)
                except Killed as killed:  # a crash or the timeout: SQS redelivers it later
                    stats.killed[str(killed)] += 1
                    queue.abandon(message, receipt)
                    stats.record(self.sched.now - started)
                    continue
                except Exception as exc:  # workers._each reports it; SQS redelivers later
                    stats.failed[type(exc).__name__] += 1
                    queue.abandon(message, receipt)
                    stats.record(self.sched.now - started)
                    continue
                finally:
                    process.deadline = None
                    process.hang_at = None
                    self._sending.send = None
                stats.record(self.sched.now - started)
                queue.delete(message, receipt)

        return run

    def _targeting(self, item: dict[str, Any]) -> None:
        """The targeting worker's body (workers.targeting_worker)."""
        started = self.sched.now
        # As the worker does: each fan-out releases its chunks at the channels' rates, here on
        # the simulated clock (so a later action's chunks interleave with this one's).
        release = Release(self.settings.rates, clock=self.moment)
        if item["kind"] == "target":
            targeting.target(item["action_id"], self.queues, self.moment(), Unmeasured(), release)
        elif item["kind"] == "update":
            targeting.fan_out_update(item["action_id"], item["update_id"], self.queues, release)
        else:
            targeting.fan_out_results(
                item["action_id"], self.queues, self.moment(), Unmeasured(), release
            )
        self.phases[f"{item['kind']}_s"] = round(self.sched.now - started, 1)

    def _start(self) -> None:
        self.action_id, self.expected = self._start_action(self.workload)

    def _start_small(self) -> None:
        assert self.small is not None
        self.small_action_id, _ = self._start_action(self.small)

    def _start_action(self, workload: Workload) -> tuple[str, actions.Expected]:
        """POST /actions' logic: the action started, and what dispatch was told to expect."""
        request = ActionRequest(
            Incident.BURGLARY,
            "man in rode jas op een zwarte fiets",
            workload.circle,
            self.params.duration_min,
            (Channel.SMS, Channel.VOICE),
        )
        started = actions.start_told(
            request, "bench", None, self.targeting, self.moment(), self.settings.rates
        )
        return str(started.action.action_id), started.expected

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

    def _sweeper(self) -> None:
        """The scheduled sweep, every minute: it closes actions whose time ran out (cancelling
        what is still queued) and re-drives stalled fan-out; then the receipts' own step. It
        stops once every action is closed and nothing is left to send."""
        keep = timedelta(days=self.settings.keep_descriptions_days)
        # With reconciliation in the code, the sweep takes the senders' queues for its retries.
        extra: dict[str, Any] = (
            {"senders": self.queues}
            if "senders" in inspect.signature(sweep.sweep).parameters
            else {}
        )
        while True:
            self.spend("schedule", self.params.sweep_every_s)
            sweep.sweep(self.targeting, self.moment(), keep, (), Unmeasured(), **extra)
            self.receipts.sweep(self.moment())
            self.swept += 1
            if self.closed_at is None:
                action = action_store.get_action(self.action_id)
                if action.status is not ActionStatus.ACTIVE:
                    self.closed_at = self.sched.now
                    self.phases["closed_at_s"] = round(self.sched.now, 1)
            if self._settled():
                return

    def _settled(self) -> bool:
        ids = [i for i in (self.action_id, self.small_action_id) if i]
        if any(action_store.get_action(i).status is ActionStatus.ACTIVE for i in ids):
            return False
        queues = [self.targeting, *self.queues.values()]
        return (
            not any(q.messages for q in queues)
            and not self.connect.active
            and not self.receipts.pending()
        )

    def run(self) -> list[dict[str, Any]]:
        """Start the action, send its alerts, let the sweep close it, send its results; then
        measure."""
        from pynamodb.signals import post_dynamodb_send, pre_dynamodb_send

        counter = EventCounter()
        events = logging.getLogger("burgernet.events")
        events.addHandler(counter)
        events.propagate = False
        pre_dynamodb_send.connect(self._before_dynamodb)
        post_dynamodb_send.connect(self._after_dynamodb)
        try:
            with (
                dynamo.throttled(self, self.throughput),
                self.faults.crash_points(self._on_send),
            ):
                sched = self.sched
                for _ in range(TARGETING_INSTANCES):
                    self.spawn(
                        "targeting",
                        "targeting_worker",
                        self._lambda(self.targeting, self._targeting),
                    )
                for channel, queue in self.queues.items():
                    for n in range(SENDERS[channel]):
                        instance = Instance(self, channel)
                        self.spawn(
                            channel.value,
                            f"{queue.name}#{n}",
                            self._lambda(queue, instance.handle),
                        )
                self.spawn("api", "api:start_action", self._start)
                if self.small is not None:
                    self.spawn(
                        "api", "api:start_small", self._start_small, at=self.params.small_at_s
                    )
                if self.params.close_at_s is not None:
                    self.spawn("api", "api:close_action", self._close, at=self.params.close_at_s)
                self.spawn("sweeper", "sweeper", self._sweeper)
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
    random.seed(params.seed)  # botocore's retry back-off draws from the global generator
    label = f"[{params.people:,} people, sms {params.sms_rate:g}/s]"
    with _seeded_ids(params.seed), world(params) as settings:
        started = time.perf_counter()
        workload = populate(params, START)
        small = (
            populate(
                params,
                START,
                SMALL_CENTRE,
                params.small_action,
                (1.0, 0.0),  # SMS only: the row measures the first SMS
                numbers=5_000_000,
            )
            if params.small_action
            else None
        )
        print(
            f"{label} stored {params.people + params.small_action:,} people in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        gc.collect()
        gc.freeze()  # the stored world is long-lived: keep the collector from walking it
        try:
            started = time.perf_counter()
            with _dropped(params.drop_in_targeting):
                lines = Simulation(params, settings, workload, small).run()
        finally:
            gc.unfreeze()
        print(
            f"{label} simulated {lines[0]['sim_s']:,.0f} s in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        return lines


@contextmanager
def _dropped(people: int) -> Iterator[None]:
    """A fault in targeting itself (for the loss count's test): the first `people` found are
    silently never claimed. Only the provider-side count can see it."""
    if not people:
        yield
        return
    real = deliveries.claim
    left = [people]

    def claim(action_id: str, recipients: Any, now: datetime) -> int:
        drop, left[0] = min(left[0], len(recipients)), left[0] - min(left[0], len(recipients))
        return real(action_id, recipients[drop:], now)

    with mock.patch.object(deliveries, "claim", claim):
        yield


def sizes(people: int, **options: Any) -> Params:
    """The parameters of a run of `people`: the app-first mix from 100,000 on."""
    mix = APP_FIRST if people >= 100_000 else {}
    return Params(people=people, **{**mix, **options})
