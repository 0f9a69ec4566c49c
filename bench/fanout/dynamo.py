"""DynamoDB's per-partition-key throughput, modelled on moto: throttling the code really sees.

moto never throttles. Here every request moto serves first takes capacity from a token bucket per
partition key (the table's own hash key attribute, read from the table moto built from the
template, or an index's): about 1,000 write units and 3,000 read units a second per key, and a
bucket that also holds up to `ledger_burst_s` (300 s) of unused capacity, as DynamoDB keeps for
bursts ("Burst capacity", DynamoDB developer guide). A key starts with its burst full (the table
was idle before the action). A request that finds too few units is refused with moto's answer
for `ProvisionedThroughputExceededException`, so botocore parses it into the ClientError the real
code sees, and pynamodb's client (botocore standard retries, 4 attempts) backs off and retries;
its back-off sleeps are taken on the simulated clock (`botocore.endpoint.time`).

Units: a write is one unit per item (the ledger's items are under 1 KB); a strongly consistent
read is one unit per item (under 4 KB), an eventually consistent one half; a Query pays for what
it read, estimated at 600 bytes an item, per started 4 KB. A batch is refused whole when any of
its keys is short (DynamoDB would return the short keys' items as unprocessed instead).
"""

from __future__ import annotations

import math
import re
import threading
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.fanout.simulation import Simulation

ITEM_BYTES = 600  # a ledger item as a Query reads it (estimated)
WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
READS = ("get_item", "batch_get_item", "query")


@dataclass
class KeyBucket:
    """One partition key's capacity of one kind (read or write)."""

    rate: float
    capacity: float
    tokens: float
    last: float = 0.0

    def take(self, units: float, now: float) -> bool:
        """Take `units` if the bucket has them."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < units:
            return False
        self.tokens -= units
        return True


@dataclass
class ThroughputModel:
    """Per-key buckets, and what they saw: throttled requests, writes a second per key."""

    write_rate: float
    read_rate: float
    burst_s: float
    buckets: dict[tuple[str, str], KeyBucket] = field(default_factory=dict)
    throttled: Counter[str] = field(default_factory=Counter)  # "writes"/"reads" -> requests
    throttled_seconds: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    writes_in_second: dict[str, tuple[int, float]] = field(default_factory=dict)
    most_writes: dict[str, float] = field(default_factory=dict)  # key -> most units in a second
    over_rate: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, units: dict[str, float], kind: str, now: float) -> bool:
        """Take every key's units, or none (and count the refusal)."""
        rate = self.write_rate if kind == "writes" else self.read_rate
        with self.lock:
            buckets = {
                key: self.buckets.setdefault(
                    (kind, key),
                    KeyBucket(rate, rate * (1 + self.burst_s), rate * (1 + self.burst_s), now),
                )
                for key in units
            }
            for bucket in buckets.values():
                bucket.take(0, now)  # refill to now
            short = [key for key, n in units.items() if buckets[key].tokens < n]
            if short:
                self.throttled[kind] += 1
                for key in short:
                    self.throttled_seconds[key].add(int(now))
                return False
            for key, n in units.items():
                buckets[key].take(n, now)
                if kind == "writes":
                    self._note_writes(key, n, now)
            return True

    def _note_writes(self, key: str, n: float, now: float) -> None:
        second = int(now)
        at, seen = self.writes_in_second.get(key, (second, 0.0))
        seen = seen + n if at == second else n
        self.writes_in_second[key] = (second, seen)
        if seen > self.write_rate:
            self.over_rate[key].add(second)  # taken from the burst, not the key's own rate
        self.most_writes[key] = max(self.most_writes.get(key, 0.0), seen)

    def figures(self) -> dict[str, Any]:
        """What the JSON lines report of it."""
        hottest = max(self.most_writes.items(), key=lambda kv: kv[1], default=("", 0.0))
        over = max((len(s) for s in self.throttled_seconds.values()), default=0)
        return {
            "throttled_writes": self.throttled["writes"],
            "throttled_reads": self.throttled["reads"],
            "max_writes_per_s_per_key": round(hottest[1]),
            "keys_written": len(self.most_writes),
            "key_seconds_over_limit_beyond_burst": over,
            "key_seconds_over_write_limit": max(
                (len(s) for s in self.over_rate.values()), default=0
            ),
            "write_units_per_key_s": self.write_rate,
            "read_units_per_key_s": self.read_rate,
            "burst_s": self.burst_s,
        }


def _hash_key(body: dict[str, Any], attr: str) -> str:
    value = body.get(attr) or {}
    return str(next(iter(value.values()), "")) if isinstance(value, dict) else ""


_CONDITION = re.compile(r"(#?[\w.]+)\s*=\s*(:\w+)")


def _query_key(body: dict[str, Any], attr: str) -> str:
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    for name, placeholder in _CONDITION.findall(body.get("KeyConditionExpression") or ""):
        if names.get(name, name) == attr:
            return _hash_key({"v": values.get(placeholder, {})}, "v")
    return ""


@contextmanager
def throttled(sim: Simulation, model: ThroughputModel) -> Iterator[None]:
    """Install the model on moto's DynamoDB handler, and botocore's back-off on the sim clock."""
    import botocore.endpoint
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.responses import DynamoHandler

    from bench.fanout.world import ACCOUNT, REGION

    class Exceeded(DynamodbException):
        error_type = ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException"

        def __init__(self) -> None:
            super().__init__(
                Exceeded.error_type,
                message="The level of configured provisioned throughput for the table was "
                "exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            )

    backend = dynamodb_backends[ACCOUNT][REGION]
    hash_keys: dict[tuple[str, str], str] = {}

    def hash_attr(table_name: str, index: str = "") -> str:
        """The partition key attribute of a table or index, as the table was created."""
        if (table_name, index) not in hash_keys:
            table = backend.get_table(table_name)
            schema = table.schema
            if index:
                found = [i for i in table.global_indexes if i.name == index]
                schema = found[0].schema if found else []
            hash_keys[table_name, index] = next(
                (k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), ""
            )
        return hash_keys[table_name, index]

    def units_of(action: str, body: dict[str, Any]) -> dict[str, float]:
        per_key: defaultdict[str, float] = defaultdict(float)
        if action in ("put_item", "update_item", "delete_item", "get_item"):
            table = body["TableName"]
            item = body.get("Item") or body.get("Key") or {}
            read = 1.0 if body.get("ConsistentRead") or action != "get_item" else 0.5
            per_key[f"{table}/{_hash_key(item, hash_attr(table))}"] += read
        elif action == "batch_write_item":
            for table, requests in body.get("RequestItems", {}).items():
                attr = hash_attr(table)
                for request in requests:
                    item = (request.get("PutRequest") or {}).get("Item") or (
                        request.get("DeleteRequest") or {}
                    ).get("Key", {})
                    per_key[f"{table}/{_hash_key(item, attr)}"] += 1
        elif action == "batch_get_item":
            for table, spec in body.get("RequestItems", {}).items():
                attr = hash_attr(table)
                unit = 1.0 if spec.get("ConsistentRead") else 0.5
                for key in spec.get("Keys", []):
                    per_key[f"{table}/{_hash_key(key, attr)}"] += unit
        elif action == "transact_write_items":
            for entry in body.get("TransactItems", []):
                for spec in entry.values():
                    table = spec["TableName"]
                    item = spec.get("Item") or spec.get("Key") or {}
                    per_key[f"{table}/{_hash_key(item, hash_attr(table))}"] += 2
        elif action == "query":
            table, index = body["TableName"], body.get("IndexName") or ""
            name = f"{table}:{index}" if index else table
            # Paid after the answer (what it read); a Query starts with half a unit.
            per_key[f"{name}/{_query_key(body, hash_attr(table, index))}"] += 0.5
        return dict(per_key)

    def guarded(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        kind = "writes" if name in WRITES else "reads"

        def handler(self: Any) -> Any:
            units = units_of(name, self.body)
            if units and not model.admit(units, kind, sim.sched.now):
                raise Exceeded()
            answer = real(self)
            if name == "query":
                _pay_for_query(answer, units)
            return answer

        return handler

    def _pay_for_query(answer: Any, units: dict[str, float]) -> None:
        try:
            read = int(getattr(answer, "result", {}).get("ScannedCount", 0))
        except (AttributeError, TypeError, ValueError):
            return
        if read and units:
            extra = max(0.0, math.ceil(read * ITEM_BYTES / 4096) * 0.5 - 0.5)
            with model.lock:
                for key in units:
                    bucket = model.buckets.get(("reads", key))
                    if bucket is not None:
                        bucket.tokens -= extra  # may go below zero: later reads wait for it

    saved = {name: getattr(DynamoHandler, name) for name in (*WRITES, *READS)}
    for name, real in saved.items():
        setattr(DynamoHandler, name, guarded(name, real))

    real_time = botocore.endpoint.time

    def backoff(seconds: float) -> None:
        process = sim.sched.current()
        if process is not None:
            sim.spend("dynamodb_backoff", seconds)
        elif sim.sched.running is not None:
            sim.sched.running.debt_s += seconds  # a helper thread of the running process
        sim.backoffs += 1

    botocore.endpoint.time = types.SimpleNamespace(sleep=backoff, time=real_time.time)
    try:
        yield
    finally:
        botocore.endpoint.time = real_time
        for name, real in saved.items():
            setattr(DynamoHandler, name, real)
