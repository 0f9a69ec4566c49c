"""DynamoDB's per-item atomicity for moto, for tests and the local runner.

Why: in moto 5.2.5 a conditional UpdateItem, PutItem, DeleteItem or TransactWriteItems is Python
that reads the item, evaluates the condition, then writes; the answer is serialized afterwards
from the live item. Two threads can both pass one condition (and an UpdateItem can return
another request's values). DynamoDB applies every write to an item atomically, condition
included, and this app's guards rely on it: the attempts on a code, the rate-limit counters, the
delivery ledger. Without this, a race test measures moto, not our code.

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

_LOCK = threading.RLock()
_original: list[Callable[..., Any]] = []


def install() -> None:
    """Run each DynamoDB request of this process's moto alone (idempotent)."""
    if _original:
        return
    original = DynamoHandler.call_action
    _original.append(original)

    @functools.wraps(original)
    def one_at_a_time(self: DynamoHandler) -> Any:
        with _LOCK:
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
