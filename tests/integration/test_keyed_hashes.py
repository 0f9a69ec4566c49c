"""Look-up hashes of phone numbers and addresses are keyed: a stolen table reverses to nothing.

An unkeyed SHA-256 of a Dutch number is reversed by hashing all ~10^9 numbers; with HMAC and a
key kept in SSM Parameter Store, whoever holds a table but not the key cannot do that.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib import runtime as runtime_module
from chalicelib.dal.deliveries import rehash_callers
from chalicelib.settings import get_settings
from tests.support.builders import UTRECHT, UTRECHT_AREA, add_participant
from tests.support.callbacks import alert, route
from tests.support.system import REGION, System
from tools.emulator import put_hash_key

ALERTED = "+31612340001"
JOINING = "+31612345678"  # "06-12345678" of the signup below
SOURCE_IP = "127.0.0.1"  # what chalice's test client gives as the caller's address
PERSONAL = (ALERTED, JOINING, SOURCE_IP)


def strings(value: Any) -> Iterator[str]:
    """Every string in a DynamoDB item, keys and values, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


def every_stored_string() -> list[str]:
    """All strings in every table of the deployment."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    found: list[str] = []
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                found.extend(strings(item))
    return found


def unkeyed_digests(value: str) -> set[str]:
    """What anyone can compute from a number or address alone: the old and obvious schemes."""
    digests = set()
    for prefix in ("", "burgernet-caller:", "caller:", "ratelimit:"):
        digest = hashlib.sha256(f"{prefix}{value}".encode()).hexdigest()
        digests |= {digest, digest[:32]}
    return digests


def keyed(purpose: str, value: str) -> str:
    """The pseudonym with the key this deployment reads from SSM."""
    ssm = boto3.client("ssm", region_name=REGION)
    parameter = ssm.get_parameter(Name=get_settings().hash_key_parameter, WithDecryption=True)
    key = parameter["Parameter"]["Value"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def ledger_phone_hashes() -> set[str]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = dynamodb.scan(TableName=get_settings().tables.deliveries)["Items"]
    return {item["phone_hash"]["S"] for item in items if "phone_hash" in item}


def rate_counter_keys() -> set[str]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = dynamodb.scan(TableName=get_settings().tables.ratelimits)["Items"]
    return {item["key"]["S"] for item in items}


def new_deployment() -> None:
    """The same stage deployed again with another hash key (a cold start reads it)."""
    put_hash_key(boto3.client("ssm", region_name=REGION))
    runtime_module.reset()
    runtime_module.runtime()


@pytest.fixture
def activity(system: System) -> System:
    """An alerted neighbour who calls back, and a resident joining: every kind of look-up hash."""
    system.post("/municipalities", UTRECHT_AREA)
    add_participant(ALERTED, UTRECHT)
    alert(system)
    assert route(system, ALERTED)["queue"] == "dispatch"
    joined = system.post(
        "/signup",
        {
            "municipality": "GM0344",
            "phone": "06-12345678",
            "birth_date": "1990-04-01",
            "places": [{"label": "home", "postcode": "3511 LX", "house_number": "1"}],
        },
    )
    assert joined.status_code == 202, joined.body
    return system


def test_no_table_holds_a_hash_anyone_can_compute_without_the_key(activity: System) -> None:
    stored = "\n".join(every_stored_string())

    for value in PERSONAL:
        for digest in unkeyed_digests(value):
            assert digest not in stored, f"an unkeyed hash of {value} is stored"
    # The hashes that are there are the keyed ones.
    assert ledger_phone_hashes() == {keyed("caller", ALERTED)}
    counters = "\n".join(rate_counter_keys())
    for value in PERSONAL:
        assert keyed("ratelimit", value)[:32] in counters, value


def test_two_deployments_with_different_keys_hash_differently(activity: System) -> None:
    first_ledger = ledger_phone_hashes()

    new_deployment()
    second = alert(activity, "vrouw met blauwe tas")
    route(activity, ALERTED)

    assert len(ledger_phone_hashes()) == 2  # one person, one hash per key
    assert len(ledger_phone_hashes() - first_ledger) == 1
    callback_counters = {key for key in rate_counter_keys() if key.startswith("callback#")}
    assert len(callback_counters) == 2  # the same number counted under two unrelated keys
    # The callback line finds the alert made under the current key.
    assert route(activity, ALERTED)["action_ref"] == second["ref"]


def test_a_deployment_without_its_key_does_not_start(activity: System) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.delete_parameter(Name=get_settings().hash_key_parameter)
    runtime_module.reset()

    with pytest.raises(RuntimeError, match=r"/burgernet/hash-key.*HASH_KEY_PARAMETER"):
        runtime_module.runtime()


def test_after_a_new_key_the_migration_lets_the_callback_line_find_earlier_alerts(
    activity: System,
) -> None:
    (earlier,) = ledger_phone_hashes()
    new_deployment()
    assert route(activity, ALERTED)["queue"] == "general"  # hashed under the old key

    assert rehash_callers() == 1
    assert rehash_callers() == 0  # nothing left to do

    assert ledger_phone_hashes() == {keyed("caller", ALERTED)} != {earlier}
    assert route(activity, ALERTED)["queue"] == "dispatch"


def test_the_migration_drops_a_hash_whose_phone_was_erased(activity: System) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = get_settings().tables.deliveries
    (item,) = dynamodb.scan(TableName=table)["Items"]
    key = {"ledger_key": item["ledger_key"], "participant_id": item["participant_id"]}
    dynamodb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE phone")
    new_deployment()

    assert rehash_callers() == 1
    assert ledger_phone_hashes() == set()
