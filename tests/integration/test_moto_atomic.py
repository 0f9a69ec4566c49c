"""The emulated account applies each DynamoDB write whole, as DynamoDB does, so the ledger's
threaded claims are tested, not moto's races (tools/moto_atomic.py says why).

A CI run once lost one of 48 claims: two claim threads wrote the first items of one new partition
key at once, and moto kept only one of the two partitions it made. The window is a few bytecodes
wide; these tests widen it with a sleep where moto would switch threads.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import Recipient, shard_of
from chalicelib.settings import get_settings
from tests.support.system import REGION

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ACTION = "6f1c2a3e-0000-4000-8000-000000000042"


def the_first_to_find_a_key_new_is_overtaken() -> Callable[[], dict[Any, Any]]:
    """A factory for moto's new partitions whose first call sleeps, so another thread makes and
    fills the same partition meanwhile: the interleaving that lost the claim."""
    calls = itertools.count()

    def partition() -> dict[Any, Any]:
        if next(calls) == 0:
            time.sleep(0.05)
        return {}

    return partition


@pytest.mark.usefixtures("aws")
def test_given_two_claims_starting_one_new_partition_key_at_once_then_both_are_stored() -> None:
    # Given: two people whose deliveries share a partition key the ledger does not have yet
    first = "p000"
    second = next(f"p{n:03d}" for n in range(1, 999) if shard_of(f"p{n:03d}") == shard_of(first))
    people = [Recipient(pid, "+31610000000", "nl", "sms", 1.0) for pid in (first, second)]
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[get_settings().tables.deliveries]
    table.items.default_factory = the_first_to_find_a_key_new_is_overtaken()

    # When: the claim threads write both at once
    assert ledger.claim(ACTION, people, NOW) == 2

    # Then: the ledger holds both, so both will be sent to
    stored = ledger.load(ACTION, [first, second])
    assert [d.participant_id for d in stored] == [first, second]


@pytest.mark.usefixtures("aws")
def test_given_two_claims_of_one_person_at_once_then_exactly_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: moto's item lookup (the condition's read) slowed, so both checks could interleave
    original = Table.get_item

    def slow_get(self: Table, *args: Any, **kwargs: Any) -> Any:
        found = original(self, *args, **kwargs)
        time.sleep(0.01)  # between the condition's read and the write
        return found

    monkeypatch.setattr(Table, "get_item", slow_get)
    person = Recipient("p-racing", "+31610099999", "nl", "sms", 1.0)

    # When: two runs of targeting claim the same person on the claim threads at once
    won = ledger.claim(ACTION, [person, person], NOW)

    # Then: one claim, so one alert
    assert won == 1
