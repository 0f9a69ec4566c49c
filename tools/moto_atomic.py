"""DynamoDB's per-item atomicity for moto, for tests, the local runner and the fan-out bench.

Why: in moto 5.2.5 a request is Python that other threads interleave with:
- A conditional UpdateItem, PutItem, DeleteItem or TransactWriteItems reads the item, evaluates
  the condition, then writes; the answer is serialized afterwards from the live item. Two threads
  can both pass one condition (and an UpdateItem can return another request's values).
- A table keeps each partition key's items in a dict made on the key's first use (a
  `defaultdict`). Two threads that find a key new at once each make one, and the items written
  into the one replaced are lost, though their PutItem succeeded. Targeting's claim threads did
  this: a CI run lost one of 48 claims, and that person was never alerted. Eight threads writing
  the first items of a key at a barrier lost 2 of 2,400.
DynamoDB applies every write to an item atomically, condition included, and this app's guards
rely on it: the attempts on a code, the rate-limit counters, the delivery ledger and its claims.
Without this, a race test measures moto, not our code. tests/conftest.py's `aws` fixture, the
local runner and the fan-out bench install it; the bench's direct path (bench/dynamo_direct.py)
answers past `call_action`, so it takes LOCK itself.

`install()` holds one lock around each DynamoDB request, from parsing to the serialized answer.
That is stronger than DynamoDB (requests run one at a time, not one per item), which can hide
nothing a race test looks for: it only removes interleavings DynamoDB does not have.

Production code never sees this: chalicelib/ knows nothing of moto.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from moto.dynamodb.responses import DynamoHandler

from tools.patches import scoped

LOCK = threading.RLock()  # held for the whole of each DynamoDB request
_original: list[Callable[..., Any]] = []


def install() -> None:
    """Run each DynamoDB request of this process's moto alone (idempotent)."""
    if _original:
        return
    original = DynamoHandler.call_action
    _original.append(original)

    @functools.wraps(original)
    def one_at_a_time(self: DynamoHandler) -> Any:
        with LOCK:
            return original(self)

    DynamoHandler.call_action = one_at_a_time  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto its own DynamoDB request handling back."""
    if _original:
        DynamoHandler.call_action = _original.pop()  # type: ignore[method-assign]


def installed() -> bool:
    """Whether DynamoDB requests are serialized now."""
    return bool(_original)


def atomic() -> AbstractContextManager[None]:
    """Serialized DynamoDB requests for the duration (tests)."""
    return scoped(installed, install, uninstall)
