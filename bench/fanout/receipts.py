"""The SMS provider's delivery receipts, simulated, and the one seam that hands them to the code.

Every SMS the provider accepts gets a receipt (delivered) 5-60 s later, except the share
`FaultRates.receipts_lost` whose receipt never arrives. `deliver` is where a receipt enters the
application, and `sweep` is the receipts' step of the scheduled sweep (the window after which an
unknown send with no receipt counts as not delivered); both reach chalicelib.logic.receipts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain import receipts
from chalicelib.domain.model import Channel, Kind, ReceiptOutcome
from chalicelib.logic import receipts as reconcile
from chalicelib.queues import RECEIPTS_QUEUE
from tools.emulator import TEMPLATE

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation


def _receipts_queue() -> tuple[float, int]:
    """The receipts queue's visibility timeout and maxReceiveCount, from the template."""
    for spec in json.loads(TEMPLATE.read_text())["Resources"].values():
        props = spec.get("Properties", {})
        if spec.get("Type") == "AWS::SQS::Queue" and props.get("QueueName") == RECEIPTS_QUEUE:
            return float(props["VisibilityTimeout"]), int(props["RedrivePolicy"]["maxReceiveCount"])
    raise LookupError(RECEIPTS_QUEUE)


RECEIPTS_VISIBILITY_S, RECEIPTS_MAX_RECEIVES = _receipts_queue()


@dataclass(frozen=True)
class Receipt:
    """What the provider says of one message it accepted."""

    message_id: str
    destination: str
    delivered: bool
    at: datetime


class Receipts:
    """Receipts for accepted SMS, on the simulated clock."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.scheduled = 0
        self.lost = 0
        self.arrived = 0
        self.settled = 0  # receipts the reconciliation logic acted on
        self._pending = 0
        self._reads: dict[str, int] = {}  # message id -> times the receipts queue delivered it
        self.dead_lettered = 0  # receipts read RECEIPTS_MAX_RECEIVES times, still too early
        self.lost_for: set[tuple[str, Kind, str]] = set()  # the sends whose receipt was lost
        self.logic: _Wired | None = _reconciliation()

    def accepted(
        self, message_id: str, destination: str, send: tuple[str, Kind, str] | None
    ) -> None:
        """The provider accepted a message: its receipt arrives later, unless it is lost."""
        sim = self.sim
        faults = sim.params.faults
        if sim.faults.happens("receipt_lost", faults.receipts_lost):
            self.lost += 1
            if send is not None:
                self.lost_for.add(send)
            return
        delay = sim.faults.rng("receipt_delay").uniform(*faults.receipt_delay_s)
        self.scheduled += 1
        self._pending += 1
        receipt_at = sim.sched.now + delay

        def arrive() -> None:
            self._pending -= 1
            self.arrived += 1
            self.deliver(Receipt(message_id, destination, True, sim.moment()))

        # In the scheduler's own thread: a receipt's handling is short and never waits, and
        # thousands of them in flight would otherwise be thousands of parked threads.
        sim.sched.call_at(receipt_at, arrive)

    def again(self, receipt: Receipt) -> None:
        """A receipt the application asked to read again later: SQS brings the same message
        back after the receipts queue's visibility timeout, with the provider's own time in it,
        until its maxReceiveCount sends it to the dead-letter queue."""
        reads = self._reads[receipt.message_id] = self._reads.get(receipt.message_id, 1) + 1
        if reads > RECEIPTS_MAX_RECEIVES:
            self.dead_lettered += 1
            return
        self._pending += 1

        def arrive() -> None:
            self._pending -= 1
            self.deliver(receipt)

        self.sim.sched.call_at(self.sim.sched.now + RECEIPTS_VISIBILITY_S, arrive)

    def pending(self) -> int:
        """Receipts still on their way."""
        return self._pending

    def deliver(self, receipt: Receipt) -> None:
        """The seam: one receipt into the application's reconciliation."""
        if self.logic is None:
            return
        if self.logic.handle(receipt, self.sim):
            self.settled += 1

    def sweep(self, now: datetime) -> None:
        """The receipts' step of the scheduled sweep (unknown sends with no receipt in time)."""
        if self.logic is not None:
            self.logic.sweep(now, self.sim)


def _reconciliation() -> _Wired:
    """The reconciliation logic's adapter for the bench."""
    return _Wired()


class _Wired:
    """Hands receipts to chalicelib.logic.receipts, as its SQS handler does once it parsed them."""

    def handle(self, receipt: Receipt, sim: Simulation) -> bool:
        """One receipt through `receive`; one that comes too early is read again a minute on."""
        parsed = receipts.Receipt(
            channel=Channel.SMS,
            message_id=receipt.message_id,
            destination=receipt.destination,
            outcome=ReceiptOutcome.DELIVERED if receipt.delivered else ReceiptOutcome.FAILED,
            at=receipt.at,
            event="TEXT_DELIVERED" if receipt.delivered else "TEXT_FAILED",
        )
        try:
            settled = reconcile.receive(parsed, sim.moment(), sim.queues)
        except reconcile.ReceiptEarly:
            sim.receipts.again(receipt)
            return False
        return settled in (reconcile.Settled.DELIVERED, reconcile.Settled.RETRIED)

    def sweep(self, now: datetime, sim: Simulation) -> None:
        """Nothing here: the sweep runs the receipts' step itself, given the senders' queues."""
        return None
