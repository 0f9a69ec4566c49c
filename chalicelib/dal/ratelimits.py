"""Fixed-window rate limits in DynamoDB, so they hold across every Lambda instance."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.dal.models import RateCounter
from chalicelib.dal.pseudonyms import pseudonym
from chalicelib.domain.errors import TooManyRequests


def _counter(
    scope: str, subject: str, window_s: int, now: datetime
) -> tuple[RateCounter, int, int]:
    """The counter of `subject` in the window holding `now`; the window's start; now (epoch s)."""
    epoch = int(now.timestamp())
    window = epoch - epoch % window_s
    digest = pseudonym("ratelimit", subject)[:32]
    return RateCounter(f"{scope}#{digest}#{window}"), window, epoch


def hit(scope: str, subject: str, limit: int, window_s: int, now: datetime, code: str) -> None:
    """Count one request of `subject` (a phone, an address) in `scope`; TooManyRequests if over.

    Keys hold a keyed hash of the subject, never the phone number or address itself.
    """
    counter, window, epoch = _counter(scope, subject, window_s, now)
    try:
        counter.update(
            actions=[
                RateCounter.hits.add(1),
                RateCounter.expires.set(now + timedelta(seconds=2 * window_s)),
            ],
            condition=RateCounter.hits.does_not_exist() | (RateCounter.hits < limit),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        retry_after = window + window_s - epoch
        raise TooManyRequests(
            code,
            f"Too many requests; try again in {retry_after} seconds.",
            retry_after=retry_after,
        ) from None


def give_back(scope: str, subject: str, window_s: int, now: datetime) -> None:
    """Undo one hit of `subject` in the window holding `now` (it should not have counted)."""
    counter, _, _ = _counter(scope, subject, window_s, now)
    try:
        counter.update(
            actions=[RateCounter.hits.add(-1)],
            condition=RateCounter.hits > 0,
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
