"""Outbound call lines: at most N calls in flight per Connect instance, as leases in DynamoDB.

A lease ends when the call's contact event says it ended, or by itself after LEASE (so a lost
event never takes a line away for good).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.dal.models import RateCounter

LEASE = timedelta(minutes=10)  # far longer than a Burgernet call (about a minute)


def _line(n: int) -> str:
    return f"voice-line#{n}"


def acquire(limit: int, now: datetime) -> int | None:
    """Take a free line (its number), or None when all `limit` lines are in use."""
    for n in range(limit):
        lease = RateCounter(_line(n), hits=1, expires=now + LEASE)
        try:
            lease.save(condition=RateCounter.key.does_not_exist() | (RateCounter.expires < now))
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue
        return n
    return None


def release(n: int) -> None:
    """Give a line back (no-op if its lease already ended)."""
    RateCounter(_line(n)).delete()
