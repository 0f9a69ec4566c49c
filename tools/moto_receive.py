"""SQS's one-receiver-at-a-time for moto, for the local runner, whose instances work at once.

Why: in moto 5.2.5 `ReceiveMessage` is Python that walks the queue's messages, checks each is
visible, then marks it received; nothing holds other requests off in between. Two receivers
can take one message (16 threads receiving 400 messages from a moto server took one twice), and
a message deleted or put back during the walk breaks moto's bookkeeping of pending messages
(`RuntimeError: Set changed size during iteration`, a 500). The runner runs as many instances of
each sender as Lambda would (its MaximumConcurrency): they delete and put back messages while
their queue's poller receives. SQS hands a message to one receiver until its visibility timeout
ends, and never fails a receive for it.

`install()` holds one lock around each walk of a queue, each delete and each change of
visibility, and does the long poll's waiting outside it, as moto's own code does, so a receiver
waiting for messages holds nobody up.

Production code never sees this: chalicelib/ knows nothing of moto.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()  # delete_message_batch calls delete_message
_original: list[Callable[..., Any]] = []
_locked: list[tuple[str, Callable[..., Any]]] = []
# What changes a queue's pending messages while a receive may walk them.
LOCKED = ("delete_message", "delete_message_batch", "change_message_visibility")


def install() -> None:
    """Let each SQS receive of this process's moto walk its queue alone (idempotent)."""
    if _original:
        return
    original = SQSBackend.receive_message
    _original.append(original)

    @functools.wraps(original)
    def one_receiver_at_a_time(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        end = time.monotonic() + wait_seconds_timeout
        while True:
            with _LOCK:  # one walk, no waiting: moto returns at once with what is visible
                received = original(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            left = end - time.monotonic()
            if received or left <= 0:
                return received
            self.get_queue(queue_name).wait_for_messages(min(1, left))  # type: ignore[arg-type]

    SQSBackend.receive_message = one_receiver_at_a_time  # type: ignore[method-assign]
    for name in LOCKED:
        _locked.append((name, getattr(SQSBackend, name)))
        setattr(SQSBackend, name, _alone(getattr(SQSBackend, name)))


def _alone(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def alone(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return alone


def uninstall() -> None:
    """Give moto its own SQS receive back."""
    if _original:
        SQSBackend.receive_message = _original.pop()  # type: ignore[method-assign]
    while _locked:
        name, method = _locked.pop()
        setattr(SQSBackend, name, method)
