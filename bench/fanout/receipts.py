"""The SMS provider's delivery receipts, simulated, and the one seam that hands them to the code.

Every SMS the provider accepts gets a receipt (delivered) 5-60 s later, except the share
`FaultRates.receipts_lost` whose receipt never arrives. `deliver` is where a receipt enters the
application, and `sweep` is the receipts' step of the scheduled sweep (the window after which an
unknown send with no receipt counts as not delivered). Both are no-ops until the reconciliation
logic (branch s3-receipts) is in this checkout: then they call it, and nothing else changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.model import Channel, Kind

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation


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
        self.logic: Any = _reconciliation()

    def accepted(
        self, message_id: str, destination: str, send: tuple[str, Kind, str] | None
    ) -> None:
        """The provider accepted a message: its receipt arrives later, unless it is lost."""
        sim = self.sim
        faults = sim.params.faults
        if sim.faults.happens("receipt_lost", faults.receipts_lost):
            self.lost += 1
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
        """A receipt the application asked to read again later (SQS's visibility timeout)."""
        self._pending += 1

        def arrive() -> None:
            self._pending -= 1
            self.deliver(replace(receipt, at=self.sim.moment()))

        self.sim.sched.call_at(self.sim.sched.now + 60.0, arrive)

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


def _reconciliation() -> Any:
    """The reconciliation logic's adapter for the bench, once its module is in this checkout."""
    try:
        logic = importlib.import_module("chalicelib.logic.receipts")
        domain = importlib.import_module("chalicelib.domain.receipts")
    except ImportError:
        return None
    return _Wired(logic, domain)


class _Wired:
    """Hands receipts to chalicelib.logic.receipts, in the shape its SQS handler parses."""

    def __init__(self, logic: Any, domain: Any) -> None:
        self.logic = logic
        self.domain = domain

    def handle(self, receipt: Receipt, sim: Simulation) -> bool:
        """One receipt through `receive`; one that comes too early is read again a minute on."""
        domain = self.domain
        parsed = domain.Receipt(
            channel=Channel.SMS,
            message_id=receipt.message_id,
            destination=receipt.destination,
            outcome=domain.ReceiptOutcome.DELIVERED
            if receipt.delivered
            else domain.ReceiptOutcome.FAILED,
            at=receipt.at,
            event="TEXT_DELIVERED" if receipt.delivered else "TEXT_FAILED",
        )
        try:
            settled = self.logic.receive(parsed, sim.moment(), sim.queues)
        except self.logic.ReceiptEarly:
            sim.receipts.again(receipt)
            return False
        return str(getattr(settled, "name", settled)) in ("DELIVERED", "RETRIED", "FAILED")

    def sweep(self, now: datetime, sim: Simulation) -> None:
        """The sweep itself runs the receipts' step when it is given the senders' queues."""
        return None
