"""Each instance of a sender paces itself to its own share of the channel's rate, so that the
SENDERS instances Lambda (or the local runner) runs at once send at the configured rate."""

from __future__ import annotations

import threading

import pytest

from chalicelib.domain.model import Channel
from chalicelib.domain.pacing import RateLimiter
from chalicelib.queues import SENDERS
from chalicelib.runtime import runtime
from tests.support.system import System


def test_the_sms_senders_instances_together_pace_to_the_configured_rate(system: System) -> None:
    sender = runtime().sender
    seen: list[RateLimiter] = []
    lock = threading.Lock()

    def instance() -> None:
        with lock:
            seen.append(sender.pacers[Channel.SMS])

    threads = [threading.Thread(target=instance) for _ in range(SENDERS[Channel.SMS])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(pacer) for pacer in seen}) == SENDERS[Channel.SMS]
    assert sum(p.per_second for p in seen) == pytest.approx(runtime().settings.sms_per_second)
