"""The CPU one send takes on the real sending path, moto excluded: `python -m bench.fanout.cpu`.

Runs a small fault-free action through the simulation and measures, per sender invocation, the
CPU time of its thread (`time.thread_time`: waits on the simulated clock cost none) minus the CPU
moto spent answering its DynamoDB requests in that thread. What is left is the code Lambda would
run: the sending logic, pynamodb, botocore's request building and response parsing, the
adapters, plus the bench's own small bookkeeping (so a slight overestimate). Divided by the
provider calls made, per channel, at this machine's one core: `Params.cpu_ms` holds the figure,
and the simulation charges it scaled by the function's share of a vCPU (memory / 1,769 MB).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from bench.fanout import simulation
from bench.fanout.faults import NO_FAULTS
from bench.fanout.sqs import Instance
from bench.fanout.world import Params
from chalicelib.logic.sending import Renew

_moto = threading.local()


@contextmanager
def measured() -> Iterator[defaultdict[str, list[float]]]:
    """Per channel [CPU seconds on the sending path, moto excluded; provider calls]."""
    from moto.core.botocore_stubber import BotocoreStubber

    found: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    stub = BotocoreStubber.__call__
    handle = Instance.handle
    on_send = simulation.Simulation._on_send

    def timed_stub(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return stub(self, event_name, request, **kwargs)
        finally:
            _moto.cpu = getattr(_moto, "cpu", 0.0) + time.thread_time() - started

    def timed_handle(self: Instance, item: dict[str, Any], renew: Renew) -> None:
        moto_before = getattr(_moto, "cpu", 0.0)
        started = time.thread_time()
        try:
            handle(self, item, renew)
        finally:
            spent = time.thread_time() - started - (getattr(_moto, "cpu", 0.0) - moto_before)
            found[self.channel.value][0] += spent

    def counted(self: simulation.Simulation, delivery: Any, chunk: Any) -> None:
        found[str(delivery.channel)][1] += 1
        on_send(self, delivery, chunk)

    with (
        mock.patch.object(BotocoreStubber, "__call__", timed_stub),
        mock.patch.object(Instance, "handle", timed_handle),
        mock.patch.object(simulation.Simulation, "_on_send", counted),
    ):
        yield found


def main() -> None:
    """Measure and print the CPU milliseconds per send, by channel."""
    params = Params(
        people=int(sys.argv[1]) if len(sys.argv) > 1 else 2_000,
        sms_rate=100.0,
        faults=NO_FAULTS,
        cpu_ms={"sms": 0.0, "voice": 0.0, "push": 0.0},
    )
    with measured() as found:
        simulation.run(params)
    print(
        json.dumps(
            {
                channel: {"cpu_ms_per_send": round(1000 * cpu / sends, 2), "sends": int(sends)}
                for channel, (cpu, sends) in sorted(found.items())
                if sends
            }
        )
    )


if __name__ == "__main__":
    main()
