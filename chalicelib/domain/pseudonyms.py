"""Keyed pseudonyms of phone numbers and addresses, for look-up keys that never hold the value.

An unkeyed SHA-256 of a Dutch phone number is reversed in seconds by hashing the whole number
space; HMAC-SHA256 with a secret key cannot be recomputed by whoever reads a table without it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

MIN_KEY_BYTES = 32  # as long as the hash: guessing the key is no easier than the digest


@dataclass(frozen=True)
class Pseudonymiser:
    """HMAC-SHA256 under this deployment's key; `purpose` keeps one index's keys out of another."""

    key: bytes = field(repr=False)  # never in a log line or a traceback's locals dump

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise ValueError(f"a hash key needs at least {MIN_KEY_BYTES} bytes")

    def of(self, purpose: str, value: str) -> str:
        """The hex pseudonym of `value` for `purpose` (e.g. "caller", "ratelimit")."""
        return hmac.new(self.key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
