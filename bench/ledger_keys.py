"""Ledger bench: the writes a second one partition key of the ledger takes at an action's peak.

    python -m bench.ledger_keys [--people 10000] [--shards 16]

DynamoDB gives one partition key about 1,000 write units and 3,000 read units a second. This
runs one action's ledger work on moto (in-process, tables from infra/template.json) with the real
dal functions in the order the system makes them: a batch of 250 claims (`deliveries.claim`,
16 threads), then that batch's sends, 25 a chunk: `load` (one consistent BatchGetItem), then per
person `start_sending` and `finish_sending` (SMS, push) or `finish_call` and the contact event's
`record_call_outcome` (voice). Every ledger request is counted by its partition key.

moto's speed says nothing about DynamoDB's, so the rates are arithmetic, with the fan-out bench's
latencies: the claims' rate is CLAIM_THREADS requests every 5 ms, and each channel sends at its
rate (push 2,500/s, SMS 100/s, voice 2 starts/s) with the ledger writes a send was counted to make.
All of them overlap at an action's start (targeting claims each channel's people in its turn,
and claims on while the senders run), so their sum is the action's peak. The busiest key's share
of that peak is counted: the run's writes, in order, are cut into windows of one peak second's
worth, and the most any one key took in any window is the figure (before: all of them, on the
action id).

It also counts the writes to the action's own item (its live counters: one key, which the
ledger's shards do not spread), per send and at the same peak: the senders gather a chunk's
counts and write them once (`deliveries.counts_per_chunk`), and so does this run.

A write of a delivery (under 1 KB: 358 bytes claimed, up to about 660 with a call's fields) is
one write unit; a consistent read of one is one read unit.

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from pynamodb.connection.base import Connection

from bench.fanout.world import Params, world
from chalicelib.dal import actions as action_store
from chalicelib.dal import calls as call_ledger
from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import CLAIM_THREADS, Recipient
from chalicelib.domain.expected import Rates
from chalicelib.domain.model import CallOutcome, DeliveryStatus, Kind
from chalicelib.logic.targeting import CLAIM_BATCH
from chalicelib.logic.work import SEND_CHUNK, Release

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEDGER_MS = 5.0  # the fan-out bench's DynamoDB latency
RATES = {"push": 2500.0, "sms": 100.0, "voice": 2.0}  # sends (or call starts) a second
MIX = (("push", 0.70), ("sms", 0.25), ("voice", 0.05))  # the app-first mix of issue 17
WRITE_LIMIT = 1_000  # write units a second one partition key takes
READ_LIMIT = 3_000
WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def people(count: int, seed: int = 17) -> list[Recipient]:
    """`count` people in the app-first mix, in the order targeting claims them (each channel's
    people in its turn at its rate: `Release.in_turn`)."""
    rng = random.Random(seed)
    found = []
    for n in range(count):
        pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        channel = rng.choices([c for c, _ in MIX], [w for _, w in MIX])[0]
        if channel == "push":
            found.append(Recipient(f"device:{pid}", "", "nl", channel, float(n)))
        else:
            found.append(Recipient(pid, f"+3161{n:07d}", "nl", channel, float(n)))
    rates = Rates(
        sms_per_second=RATES["sms"],
        voice_starts_per_second=RATES["voice"],
        voice_lines=Params().lines,
        push_per_second=RATES["push"],
    )
    return Release(rates).in_turn(found)


@contextmanager
def counted(table: str, actions: str) -> Iterator[list[tuple[str, str, str]]]:
    """Every request on the ledger `table` while inside, as (operation, partition key,
    participant) in the order made (a BatchGetItem once per key it asks for), and each write of
    an item of `actions` as (operation, "action", "")."""
    seen: list[tuple[str, str, str]] = []
    original = Connection.dispatch

    def dispatch(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "BatchGetItem":
            keys = kwargs["RequestItems"].get(table, {}).get("Keys", [])
        elif kwargs.get("TableName") == table:
            keys = [kwargs.get("Item") or kwargs.get("Key") or {}]
        else:
            keys = []
            if kwargs.get("TableName") == actions and operation in WRITES:
                seen.append((operation, "action", ""))
        for key in keys:
            if "ledger_key" in key:
                seen.append((operation, key["ledger_key"]["S"], key["participant_id"]["S"]))
        return original(self, operation, kwargs)

    with mock.patch.object(Connection, "dispatch", dispatch):
        yield seen


def send(batch: Sequence[Recipient], action_id: str) -> None:
    """The senders' ledger steps for one claimed batch, a chunk at a time."""
    for start in range(0, len(batch), SEND_CHUNK):
        chunk = batch[start : start + SEND_CHUNK]
        # As the senders do: the action's counters gathered over the chunk, written once.
        with ledger.counts_per_chunk(action_store.get_action(action_id)):
            for delivery in ledger.load(action_id, [r.participant_id for r in chunk]):
                if not ledger.start_sending(delivery, Kind.ALERT, NOW):
                    continue
                if delivery.channel == "voice":
                    call_ledger.finish_call(delivery, Kind.ALERT, str(uuid.uuid4()), 0, NOW)
                    call_ledger.record_call_outcome(delivery, CallOutcome.ANSWERED)
                else:
                    ledger.finish_sending(
                        delivery, Kind.ALERT, DeliveryStatus.SENT, NOW, str(uuid.uuid4())
                    )


def busiest(writes: Sequence[str], window: int) -> int:
    """The most writes one key took in any `window` consecutive writes (tumbling, and shifted
    by half a window, so a burst across a boundary is not split)."""
    most = 0
    for offset in (0, window // 2):
        for start in range(offset, len(writes), window):
            per_key = Counter(writes[start : start + window])
            most = max(most, max(per_key.values(), default=0))
    return most


def measure(count: int, shards: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Run one action's claims and sends on moto; the counted and the computed figures."""
    action_id = str(uuid.UUID(int=random.Random(count).getrandbits(128), version=4))
    recipients = people(count)
    with (
        mock.patch.object(ledger, "SHARDS", shards),
        world(Params(people=0)) as settings,
        counted(settings.tables.deliveries, settings.tables.actions) as everything,
    ):
        for start in range(0, len(recipients), CLAIM_BATCH):
            batch = recipients[start : start + CLAIM_BATCH]
            ledger.claim(action_id, batch, NOW)
            send(batch, action_id)
            log(f"{start + len(batch)}/{count} claimed and sent")
    seen = [request for request in everything if request[1] != "action"]
    action_writes = len(everything) - len(seen)
    batches = math.ceil(count / CLAIM_BATCH)  # a claimed batch adds to the counters once
    channel_of = {r.participant_id: r.channel for r in recipients}
    sends = Counter(channel_of.values())
    claims = sum(1 for op, _, _ in seen if op == "PutItem")
    send_writes = Counter(channel_of[p] for op, _, p in seen if op in WRITES and op != "PutItem")
    reads = Counter(channel_of[p] for op, _, p in seen if op == "BatchGetItem")
    writes_per_send = {c: send_writes[c] / sends[c] for c in RATES if sends[c]}
    reads_per_send = {c: reads[c] / sends[c] for c in RATES if sends[c]}
    # The arithmetic: every source of ledger writes at once, at its rate.
    claim_rate = CLAIM_THREADS / (LEDGER_MS / 1000)
    write_peak = claim_rate + sum(RATES[c] * writes_per_send[c] for c in writes_per_send)
    read_peak = sum(RATES[c] * reads_per_send[c] for c in reads_per_send)
    # Counted: the most one key took in one peak second's worth of the run's own order.
    write_keys = [key for op, key, _ in seen if op in WRITES]
    read_keys = [key for op, key, _ in seen if op == "BatchGetItem"]
    per_key = Counter(write_keys)
    return {
        "bench": "ledger_keys",
        "store": "moto in-process (requests counted by key; rates from the arithmetic)",
        "people": count,
        "mix": dict(MIX),
        "shards": shards,
        "keys_used": len(per_key),
        "claims": claims,
        "writes_per_send": {c: round(v, 2) for c, v in writes_per_send.items()},
        "reads_per_send": {c: round(v, 2) for c, v in reads_per_send.items()},
        "claim_writes_per_s": round(claim_rate),
        "send_rates_per_s": RATES,
        "peak_writes_per_s": round(write_peak),
        "peak_reads_per_s": round(read_peak),
        "one_key_writes_per_s": round(write_peak),
        "one_key_reads_per_s": round(read_peak),
        # Peak seconds the run holds: with less than one, the busiest key is underrated.
        "peak_seconds_run": round(len(write_keys) / write_peak, 1),
        "busiest_key_writes_per_s": busiest(write_keys, round(write_peak)),
        "busiest_key_reads_per_s": busiest(read_keys, max(1, round(read_peak))),
        "even_share_writes_per_s": round(write_peak / shards),
        "busiest_key_share_of_all_writes": round(max(per_key.values()) / len(write_keys), 4),
        # Not the ledger: the action's own item, one key, takes its live counters.
        "action_item_writes_per_send": round((action_writes - batches) / count, 2),
        "action_item_writes_per_s": round(
            claim_rate / CLAIM_BATCH + sum(RATES.values()) * (action_writes - batches) / count
        ),
        "write_limit_per_key": WRITE_LIMIT,
        "read_limit_per_key": READ_LIMIT,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure one action's ledger work; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=ledger.SHARDS)
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    print(json.dumps(measure(args.people, args.shards, log)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
