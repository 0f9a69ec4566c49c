"""The fan-out bench's direct path to moto's DynamoDB (bench/dynamo_direct.py, with the cached
expression parsers of bench/moto_parsers.py) answers as moto's HTTP path does, still refuses a
failed condition, and still throttles, retried by botocore."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from bench import dynamo_direct, moto_parsers
from bench.fanout import dynamo
from bench.fanout.world import REGION, Params, world
from chalicelib.dal.models import Delivery


@pytest.fixture
def table() -> Iterator[str]:
    """A fresh account with production's tables (the direct path installed); the ledger's name."""
    with world(Params(people=0)):
        yield str(Delivery.Meta.table_name)


def key(pid: str) -> dict[str, Any]:
    return {"ledger_key": {"S": "a#1"}, "participant_id": {"S": pid}}


def session(table: str) -> list[Any]:
    """What a client reads over a run of item operations, errors included (request ids aside)."""
    client = boto3.client("dynamodb", region_name=REGION)
    seen: list[Any] = []

    def call(operation: Callable[..., Any], **kwargs: Any) -> None:
        try:
            answer = operation(**kwargs)
        except ClientError as error:
            answer = {"error": type(error).__name__, **error.response}
        answer.pop("ResponseMetadata", None)
        seen.append(answer)

    for n in range(3):
        item = {**key(f"p{n}"), "channel": {"S": "sms"}, "distance_m": {"N": str(n * 1.5)}}
        item["update_status"] = {"M": {"u1": {"S": "queued"}}}
        call(client.put_item, TableName=table, Item=item)
    call(
        client.update_item,
        TableName=table,
        Key=key("p1"),
        UpdateExpression="SET channel = :voice ADD voice_attempts :one",
        ConditionExpression="channel = :sms",
        ExpressionAttributeValues={
            ":voice": {"S": "voice"},
            ":sms": {"S": "sms"},
            ":one": {"N": "1"},
        },
        ReturnValues="ALL_NEW",
    )
    for old in ("NONE", "ALL_OLD"):  # a failed condition, with and without the item
        call(
            client.update_item,
            TableName=table,
            Key=key("p1"),
            UpdateExpression="SET channel = :push",
            ConditionExpression="channel = :sms",
            ExpressionAttributeValues={":push": {"S": "push"}, ":sms": {"S": "sms"}},
            ReturnValuesOnConditionCheckFailure=old,
        )
    call(  # a claim made twice: the second refused
        client.put_item,
        TableName=table,
        Item=key("p0"),
        ConditionExpression="attribute_not_exists(participant_id)",
    )
    call(client.get_item, TableName=table, Key=key("p1"), ConsistentRead=True)
    call(client.get_item, TableName=table, Key=key("p9"))
    call(
        client.query,
        TableName=table,
        KeyConditionExpression="ledger_key = :k",
        ExpressionAttributeValues={":k": {"S": "a#1"}},
        Limit=2,
    )
    call(
        client.batch_get_item,
        RequestItems={table: {"Keys": [key("p0"), key("p2"), key("p9")]}},
    )
    call(client.delete_item, TableName=table, Key=key("p0"), ReturnValues="ALL_OLD")
    call(client.batch_write_item, RequestItems={table: [{DeleteRequest: {"Key": key("p2")}}]})
    call(client.scan, TableName=table)
    call(client.put_item, TableName="no-such-table", Item=key("p0"))
    return seen


DeleteRequest = "DeleteRequest"


def test_the_direct_path_answers_as_moto_over_http(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[str] = []
    real = dynamo_direct.answer

    def counted(operation: str, *args: Any) -> Any:
        answered.append(operation)
        return real(operation, *args)

    monkeypatch.setattr(dynamo_direct, "answer", counted)
    direct = session(table)
    assert len(answered) == len(direct)  # every one of them took the direct path
    client = boto3.client("dynamodb", region_name=REGION)
    for item in client.scan(TableName=table)["Items"]:  # the same start for the second session
        client.delete_item(TableName=table, Key={k: item[k] for k in key("")})
    dynamo_direct.uninstall()
    moto_parsers.uninstall()
    try:
        over_http = session(table)
    finally:
        dynamo_direct.install()
        moto_parsers.install()
    assert direct == over_http
    assert direct[4]["error"] == "ConditionalCheckFailedException"
    assert direct[5]["Item"]["channel"] == {"S": "voice"}  # ALL_OLD: the item as it stands
    assert direct[6]["error"] == "ConditionalCheckFailedException"
    assert direct[-1]["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "over_http"])
def test_a_throttled_write_reaches_the_code_as_a_client_error_after_botocores_retries(
    table: str, direct: bool
) -> None:
    if not direct:
        dynamo_direct.uninstall()
    sim = SimpleNamespace(
        sched=SimpleNamespace(now=0.0, current=lambda: None, running=None), backoffs=0
    )
    # One write unit a second and no burst: a second write in the same instant is refused.
    model = dynamo.ThroughputModel(write_rate=1.0, read_rate=3.0, burst_s=0.0)
    connection = Delivery._get_connection().connection
    try:
        with dynamo.throttled(sim, model):  # type: ignore[arg-type]
            connection.put_item(table, "a#1", "p1", attributes={"channel": {"S": "sms"}})
            with pytest.raises(PutError) as refused:
                connection.put_item(table, "a#1", "p2", attributes={"channel": {"S": "sms"}})
    finally:
        dynamo_direct.install()
    cause = refused.value.cause
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    # botocore's standard mode tried it 4 times, backing off between (on the bench's clock).
    assert model.throttled["writes"] == 4
    assert sim.backoffs == 3


def test_a_throttled_write_succeeds_when_botocores_back_off_lets_the_key_refill(
    table: str,
) -> None:
    random.seed(3)  # botocore's back-off is random
    sim = SimpleNamespace(sched=SimpleNamespace(now=0.0, running=None), backoffs=0)
    process = SimpleNamespace()
    sim.sched.current = lambda: process

    def spend(_activity: str, seconds: float) -> None:
        sim.sched.now += seconds  # the back-off passes on the bench's clock

    sim.spend = spend
    model = dynamo.ThroughputModel(write_rate=20.0, read_rate=60.0, burst_s=0.0)
    connection = Delivery._get_connection().connection
    with dynamo.throttled(sim, model):  # type: ignore[arg-type]
        for n in range(21):  # the 21st write finds the key's 20 units taken
            connection.put_item(table, "a#1", f"p{n}", attributes={"channel": {"S": "sms"}})
    assert model.throttled["writes"] >= 1
    assert sim.backoffs == model.throttled["writes"]
    assert len(list(Delivery.query("a#1"))) == 21
