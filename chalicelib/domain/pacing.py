"""Pacing of provider calls: a token bucket, with the clock injected so tests need no sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """Allows `per_second` calls a second on average, with bursts of at most `burst`."""

    per_second: float
    burst: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _last: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def wait(self) -> None:
        """Block until one more call is allowed, then take it."""
        now = self.clock()
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.per_second)
        self._last = now
        if self._tokens < 1:
            delay = (1 - self._tokens) / self.per_second
            self.sleep(delay)
            self._last = now + delay
            self._tokens = 1.0
        self._tokens -= 1

    def refund(self) -> None:
        """Give back the call just taken: the provider refused it without counting it."""
        self._tokens += 1
