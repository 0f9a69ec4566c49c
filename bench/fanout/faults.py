"""The fault schedule: what goes wrong, how often, drawn from seeded generators.

Every rate here is printed with the results (the `faults` object of each JSON line). A fault is
injected where it happens in production: in the providers' answers (providers.py), in SQS
(sqs.py), in DynamoDB (dynamo.py), and in the real sending path, which `crash_points` wraps so an
invocation can die between any two of its steps.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.logic import sending

# Where a send can die: before the provider call, after it but before the ledger records it,
# and between the ledger's two writes (the delivery's status, then the action's counters).
CRASH_POINTS = ("before_provider", "before_ledger", "between_ledger_writes")


class Killed(BaseException):
    """The invocation dies here (a crash, or Lambda's timeout): not an Exception, so the code
    under test cannot catch it; SQS redelivers its message after the visibility timeout.

    Unlike a real kill, `finally` blocks still run; the sending path's only ones count and
    publish metrics.
    """


@dataclass(frozen=True)
class FaultRates:
    """How often each fault happens (printed with the results)."""

    throttled: float = 0.05  # provider refusals (Throttling, TooManyRequests), nothing sent
    ambiguous: float = 0.01  # a timeout with no answer: the code cannot know what happened
    ambiguous_delivered: float = 0.5  # of those, the share the provider had accepted
    crashes: float = 0.002  # per send, at each of CRASH_POINTS in turn
    hung_invocations: float = 0.001  # invocations that hang until Lambda's timeout cuts them off
    duplicate_deliveries: float = 0.01  # SQS messages delivered twice, to two instances
    receipts_lost: float = 0.001  # accepted messages whose delivery receipt never arrives
    receipt_delay_s: tuple[float, float] = (5.0, 60.0)
    ledger_write_units: float = 1000.0  # per partition key a second
    ledger_read_units: float = 3000.0
    ledger_burst_s: float = 300.0  # unused capacity DynamoDB keeps for bursts

    def printed(self) -> dict[str, Any]:
        """The rates, as the JSON lines show them."""
        return asdict(self)


NO_FAULTS = FaultRates(
    throttled=0.0,
    ambiguous=0.0,
    crashes=0.0,
    hung_invocations=0.0,
    duplicate_deliveries=0.0,
    receipts_lost=0.0,
)


class Faults:
    """The seeded draws and the counts of what was injected."""

    def __init__(self, rates: FaultRates, seed: int) -> None:
        self.rates = rates
        self.counts: Counter[str] = Counter()
        self._rngs: dict[str, random.Random] = {}
        self._seed = seed
        self._local = threading.local()

    def rng(self, stream: str) -> random.Random:
        """One generator per kind of draw, so adding draws of one kind leaves the others be."""
        if stream not in self._rngs:
            self._rngs[stream] = random.Random(f"{self._seed}:{stream}")
        return self._rngs[stream]

    def happens(self, stream: str, rate: float) -> bool:
        """A seeded draw of one fault."""
        return rate > 0 and self.rng(stream).random() < rate

    # -- crashes inside a send --------------------------------------------------------------------

    @contextmanager
    def crash_points(self, on_send: Callable[[Any, Any], None]) -> Iterator[None]:
        """Wrap the sending path's provider call and the ledger writes after it, so a send can die
        at any of CRASH_POINTS; `on_send(delivery, chunk)` runs before each provider call."""
        local = self._local
        transmit = sending._transmit

        def crashing_transmit(delivery: Any, text: str, chunk: Any) -> str:
            local.point = None
            local.writes = None  # writes since the provider answered (None: not counting)
            on_send(delivery, chunk)
            if self.happens("crash", self.rates.crashes):
                point = CRASH_POINTS[self.counts["crashes"] % len(CRASH_POINTS)]  # in turn
                self.counts["crashes"] += 1
                if point == "before_provider":
                    self._crash(point)
                local.point = point
            message_id = transmit(delivery, text, chunk)
            if getattr(local, "point", None) == "before_ledger":
                self._crash("before_ledger")
            local.writes = 0
            return message_id

        sending._transmit = crashing_transmit
        try:
            yield
        finally:
            sending._transmit = transmit

    def on_request(self, operation: str) -> None:
        """Before each DynamoDB request of a simulated process: a send drawn to die between the
        ledger's writes dies before the second write after its provider call (the item's status,
        then the action's counters), whichever functions make them."""
        local = self._local
        writes = getattr(local, "writes", None)
        if writes is None or operation not in ("UpdateItem", "PutItem"):
            return
        local.writes = writes + 1
        if local.writes == 2 and getattr(local, "point", None) == "between_ledger_writes":
            self._crash("between_ledger_writes")

    def _crash(self, point: str) -> None:
        # Counted where it strikes: a send drawn to crash may meet its timeout first.
        local = self._local
        local.point = None
        local.writes = None
        self.counts[f"crash:{point}"] += 1
        raise Killed(point)
