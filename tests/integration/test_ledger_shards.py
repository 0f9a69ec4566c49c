"""The ledger's partition keys: an action's deliveries spread over every shard, and found again.

DynamoDB gives one partition key about 1,000 writes a second; a large action's claims and sends
go far past that on one key (docs/architecture.md#the-ledgers-partition-keys). These tests look
at the table as DynamoDB stores it, and at what dispatch and the people alerted notice: the
counts, the timeline and who got the result.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib.dal import deliveries as ledger
from chalicelib.dal.deliveries import SHARDS, Recipient
from chalicelib.domain.messages import render_result
from chalicelib.domain.model import Language, Outcome
from chalicelib.settings import get_settings
from tests.support.builders import add_participant
from tests.support.clients import clients_made
from tests.support.fanout import alert_text, close, counts, north, start, texts_per_phone
from tests.support.system import REGION, System

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ACTION = "6f1c2a3e-0000-4000-8000-000000000017"
LARGE = 1_600  # people in one action: 100 a key if spread evenly


def recipients(count: int, seed: int = 17) -> list[Recipient]:
    """People as targeting hands them to the ledger: a third app installs, the rest by SMS."""
    rng = random.Random(seed)
    found = []
    for n in range(count):
        pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if n % 3 == 0:
            found.append(Recipient(f"device:{pid}", "", "nl", "push", float(n)))
        else:
            found.append(Recipient(pid, f"+3161{n:07d}", "nl", "sms", float(n)))
    return found


def stored_per_key(action_id: str) -> Counter[str]:
    """How many of the action's deliveries each partition key holds, read from the raw table."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    per_key: Counter[str] = Counter()
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=get_settings().tables.deliveries, ProjectionExpression="ledger_key, action_id"
    )
    for page in pages:
        for item in page["Items"]:
            if item["action_id"]["S"] == action_id:
                per_key[item["ledger_key"]["S"]] += 1
    return per_key


@pytest.mark.usefixtures("aws")
def test_given_an_action_of_thousands_when_claimed_then_every_shard_takes_a_fair_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: a few thousand people claimed for one action, as targeting claims them
    people = recipients(LARGE)
    assert ledger.claim(ACTION, people, NOW) == LARGE

    # Then: every key of the action holds some, none much more than its even share (each of
    # these writes, and each send's two or three, lands on its person's key)
    per_key = stored_per_key(ACTION)
    assert set(per_key) == {f"{ACTION}#{shard:02d}" for shard in range(SHARDS)}
    assert sum(per_key.values()) == LARGE
    assert max(per_key.values()) <= 1.25 * LARGE / SHARDS, per_key.most_common(3)

    # And: a reader of the whole action finds each person once, page after page of every shard
    monkeypatch.setattr(ledger, "PAGE", 60)  # two pages a shard
    read = Counter(d.participant_id for d in ledger.ledger(ACTION))
    assert read == Counter(r.participant_id for r in people)
    # And: the senders find each person's delivery by the action id alone
    found = ledger.load(ACTION, [r.participant_id for r in people])
    assert [d.participant_id for d in found] == [r.participant_id for r in people]


def test_given_people_on_several_shards_when_the_action_closes_then_all_get_the_result_and_count(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: 48 people inside the circle, whose deliveries land on most of the shards
    monkeypatch.setattr(ledger, "PAGE", 2)  # results, counts and timeline read several pages
    phones = [f"+316400{n:05d}" for n in range(48)]
    for n, phone in enumerate(phones):
        add_participant(phone, north(20 * n))
    action = start(system)
    system.run_queues()
    assert len(stored_per_key(action["action_id"])) > SHARDS // 2

    # When
    close(system, action["action_id"], "arrested")
    system.run_queues()

    # Then: each got the alert and then the result, nobody twice
    ref = action["ref"]
    result = render_result(Outcome.ARRESTED, ref, Language.NL)
    assert texts_per_phone(system) == {p: [alert_text(ref, "nl"), result] for p in phones}
    # And: dispatch's counts, recounted from the ledger at the close, and the timeline see all
    seen = counts(system, action["action_id"])
    assert (seen["targeted"], seen["sent"], seen["results_sent"]) == (48, 48, 48)
    timeline = system.get(f"/actions/{action['action_id']}/timeline").json_body["events"]
    last_alert = next(e for e in timeline if e["event"] == "last_alert")
    assert last_alert["count"] == 48, last_alert


@pytest.mark.usefixtures("system")
def test_a_cold_start_s_claim_threads_share_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a process that has made no ledger client yet (the action table's it has: the
    # claims' count goes there), counting the clients made
    monkeypatch.setattr(ledger.Delivery, "_connection", None)
    _ = ledger.models.Action._get_connection().connection.client
    made = clients_made(monkeypatch)

    # When: the first action's claims run on the claim threads
    assert ledger.claim(ACTION, recipients(64), NOW) == 64

    # Then: one client, not one a thread (each costs a cold start CPU time)
    assert made.count("dynamodb") == 1
