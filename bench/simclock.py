"""A cooperative discrete-event scheduler: real threads that take turns on a simulated clock.

Every simulated process (a Lambda instance, a contact-event invocation, an API call) runs the
real, blocking code in its own thread, but only one of them runs at a time: it holds the baton
until it sleeps, waits or ends. The scheduler then resumes whatever is due earliest (ties in the
order they were scheduled), so a run is deterministic and its waits cost no wall time. The code
under test waits only through the `clock` and `sleep` it is given.

Threads the running process starts itself (a ThreadPoolExecutor inside the code under test) run
while it holds the baton; `running` tells which process they work for.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any


class Stopped(BaseException):
    """Raised inside a parked process when the scheduler shuts down (not an Exception: the code
    under test must not catch it)."""


class Process:
    """One simulated thread of control; see Scheduler.spawn."""

    def __init__(self, scheduler: Scheduler, name: str, body: Callable[[], None]) -> None:
        self.name = name
        self.scheduler = scheduler
        self.body = body
        self.parked = True  # not running; resumed by the scheduler
        self.wake_at: float | None = None  # when it is due, if it is in the heap
        self.token = 0  # bumped on every (re)scheduling: older heap entries are stale
        self.done = False
        self.debt_calls = 0  # provider calls its helper threads made, not yet charged (see fanout)
        self.debt_s = 0.0  # seconds its helper threads backed off, not yet charged
        self.deadline: float | None = None  # an invocation's end (its Lambda timeout)
        self.steps = 0  # waits in the current invocation
        self.hang_at: int | None = None  # the wait at which this invocation hangs, if it does
        self._go = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"sim:{name}", daemon=True)

    def _main(self) -> None:
        self._go.wait()
        self._go.clear()
        scheduler = self.scheduler
        scheduler._local.process = self
        try:
            if not scheduler._stopping:
                self.body()
        except Stopped:
            pass
        except BaseException as exc:
            scheduler._failure = exc
        finally:
            self.done = True
            self.parked = True
            scheduler._back.set()

    def _park(self, until: float | None) -> None:
        """Give the baton back; resume at `until` (None: when woken)."""
        scheduler = self.scheduler
        self.parked = True
        self.wake_at = None
        if until is not None:
            scheduler._schedule(self, until)
        scheduler._back.set()
        self._go.wait()
        self._go.clear()
        if scheduler._stopping:
            raise Stopped


class Scheduler:
    """The simulated clock (seconds from 0) and its event heap."""

    def __init__(self) -> None:
        self.now = 0.0
        self.running: Process | None = None
        self._heap: list[tuple[float, int, Any, int]] = []
        self._seq = itertools.count()
        self._back = threading.Event()
        self._local = threading.local()
        self._failure: BaseException | None = None
        self._stopping = False
        self._processes: list[Process] = []

    # -- for the code under test and the models ------------------------------------------------

    def clock(self) -> float:
        """Simulated seconds since the start."""
        return self.now

    def current(self) -> Process | None:
        """The process whose thread this is (None for the main thread and helper threads)."""
        process: Process | None = getattr(self._local, "process", None)
        return process

    def sleep(self, seconds: float) -> None:
        """Park the calling process for `seconds` of simulated time."""
        process = self._require()
        until = self.now + max(0.0, seconds)
        if not self._heap or self._heap[0][0] > until:
            # Nothing is due before it wakes: the scheduler would resume it next anyway.
            self.now = until
            return
        process._park(until)

    def wait(self, until: float | None = None) -> None:
        """Park the calling process until `wake` (or `until`, whichever comes first)."""
        self._require()._park(until)

    def wake(self, process: Process, at: float | None = None) -> None:
        """Resume a parked process at `at` (default now), unless it is due earlier already."""
        when = max(self.now, self.now if at is None else at)
        if process.done or not process.parked:
            return
        if process.wake_at is not None and process.wake_at <= when:
            return
        self._schedule(process, when)

    def spawn(self, name: str, body: Callable[[], None], at: float | None = None) -> Process:
        """A new process that starts running `body` at `at` (default now)."""
        process = Process(self, name, body)
        self._processes.append(process)
        process._thread.start()
        self._schedule(process, self.now if at is None else max(self.now, at))
        return process

    def call_at(self, at: float, callback: Callable[[], None]) -> None:
        """Run `callback` in the scheduler's thread at simulated time `at` (it must not sleep)."""
        heapq.heappush(self._heap, (max(self.now, at), next(self._seq), callback, 0))

    # -- the loop ------------------------------------------------------------------------------

    def run(self, until: float | None = None) -> None:
        """Run events in time order until none is left (or the next is after `until`)."""
        while self._heap:
            at, _, target, token = self._heap[0]
            if until is not None and at > until:
                return
            heapq.heappop(self._heap)
            if isinstance(target, Process):
                if target.token != token or not target.parked or target.done:
                    continue  # rescheduled or finished since
                self.now = at
                self._resume(target)
            else:
                self.now = at
                target()
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise RuntimeError(f"a simulated process failed: {failure!r}") from failure

    def idle(self) -> bool:
        """Nothing is scheduled."""
        return not self._heap

    def shutdown(self) -> None:
        """End every parked process (they raise Stopped where they wait) and forget the heap."""
        self._stopping = True
        self._heap.clear()
        for process in self._processes:
            if not process.done:
                self._resume(process)
        self._processes.clear()

    def _resume(self, process: Process) -> None:
        process.parked = False
        process.wake_at = None
        self.running = process
        self._back.clear()
        process._go.set()
        self._back.wait()
        self.running = None

    def _schedule(self, process: Process, at: float) -> None:
        process.token += 1
        process.wake_at = at
        heapq.heappush(self._heap, (at, next(self._seq), process, process.token))

    def _require(self) -> Process:
        process = self.current()
        if process is None:
            raise RuntimeError("only a simulated process can wait on the simulated clock")
        return process
