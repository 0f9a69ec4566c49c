"""SQS's AWSTraceHeader on batched messages, for moto: tests and the local runner.

Why: in moto 5.2.5 `SendMessage` keeps a message's `MessageSystemAttributes` (and
`ReceiveMessage` returns its `AWSTraceHeader`), but `SendMessageBatch` drops them. The app sends
all its work in batches, so without this no worker would see the trace it continues.

`install()` makes moto's batch send keep each entry's system attributes, as its single send does.
Production code never sees this: chalicelib/ knows nothing of moto. It is pinned to the moto
version in requirements-dev.txt and refuses to install on any other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from moto.sqs.models import SQSBackend

MOTO_VERSION = "5.2.5"  # the version whose internals this was written against
_original: list[Callable[..., Any]] = []


def install() -> None:
    """Keep system attributes on messages moto sends in a batch (idempotent)."""
    if _original:
        return
    if version("moto") != MOTO_VERSION:
        raise RuntimeError(
            f"tools/moto_trace_header.py was written for moto {MOTO_VERSION}, not "
            f"{version('moto')}: check whether moto now keeps MessageSystemAttributes on "
            "SendMessageBatch, and drop or update this patch"
        )
    original = SQSBackend.send_message_batch
    _original.append(original)

    @functools.wraps(original)
    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> Any:
        messages, failed = original(self, queue_name, entries)
        by_id = {entry["Id"]: entry for entry in entries.values()}
        for message in messages:
            entry = by_id[message.user_id]  # type: ignore[attr-defined]  # moto sets it on batches
            message.system_attributes = entry.get("MessageSystemAttributes", {})
        return messages, failed

    SQSBackend.send_message_batch = send_message_batch  # type: ignore[method-assign]
