"""The local runner's partition index for moto's Query answers exactly as moto does without it."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws

from tools import moto_index
from tools.emulator import ROOT

GEOHASH = "0123456789bcdefghjkmnpqrstuvwxyz"
PARTITIONS = ("u178k", "u178m", "u1787", "u178h", "u15pm")
Query = dict[str, Any]
EVERY_KIND = {
    "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y"]},
    "m": {"M": {"n": {"N": "3"}, "l": {"L": [{"S": "x"}, {"NULL": True}, {"B": b"z"}]}}},
    "l": {"L": [{"BOOL": False}, {"M": {"s": {"S": "deep"}}}]},
    "null": {"NULL": True},
    "bool": {"BOOL": True},
}


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto account with a geo-index-like table (and a GSI) and a numeric-key table."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    moto_index.uninstall()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        _create_tables(client)
        _fill(client, random.Random(7))
        yield client
    moto_index.uninstall()


def _create_tables(client: Any) -> None:
    strings = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "gs")]
    client.create_table(
        TableName="places",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=strings,
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName="numbers",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "n", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName="flat",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _fill(client: Any, rng: random.Random) -> None:
    # Written in random order, so a patch that forgot to sort would show it.
    for i in range(400):
        cell = rng.choice(PARTITIONS)
        fine = cell + "".join(rng.choice(GEOHASH) for _ in range(4))
        item = {
            "pk": {"S": cell},
            "sk": {"S": f"{fine}#{i:04d}"},
            "v": {"N": str(rng.randrange(100))},
        }
        if i % 50 == 0:  # every kind of attribute value goes through the serializer
            item |= EVERY_KIND
        if rng.random() < 0.7:  # not every item is in the GSI
            item["g"] = {"S": f"g{rng.randrange(3)}"}
            item["gs"] = {"S": f"{rng.randrange(20):02d}"}  # GSI range keys repeat
        client.put_item(TableName="places", Item=item)
    # A page that ends exactly on the last match, with neighbours outside the range both ways.
    for sk in ("0", *(f"a{i}" for i in range(10)), "z"):
        client.put_item(TableName="places", Item={"pk": {"S": "exact"}, "sk": {"S": sk}})
    for i in range(200):
        client.put_item(
            TableName="numbers",
            Item={"pk": {"S": f"p{i % 3}"}, "n": {"N": str(rng.uniform(-50, 50))}},
        )
        client.put_item(TableName="flat", Item={"pk": {"S": f"f{i}"}, "v": {"N": str(i)}})


def _key(pk: str, condition: str = "", **values: str) -> Query:
    expression = "pk = :pk" + (f" AND {condition}" if condition else "")
    return {
        "KeyConditionExpression": expression,
        "ExpressionAttributeValues": {":pk": {"S": pk}}
        | {f":{k}": {"S": v} for k, v in values.items()},
    }


def _queries() -> list[tuple[str, Query]]:
    """Every kind of query the app makes, and the comparisons around them."""
    kinds: list[tuple[str, Query]] = []
    for cell in (*PARTITIONS, "u0000"):  # u0000: a partition with nothing in it
        between = _key(cell, "sk BETWEEN :lo AND :hi", lo=cell + "d", hi=cell + "r~")
        kinds += [
            ("places", _key(cell)),
            ("places", between),
            ("places", {**between, "ScanIndexForward": False}),
            ("places", _key(cell, "begins_with(sk, :pre)", pre=cell + "e")),
            ("places", {**between, "FilterExpression": "v < :v"} | _with_v(between, 50)),
            ("places", {**between, "ProjectionExpression": "sk"}),
        ]
        for op in ("<", "<=", ">", ">=", "="):
            kinds.append(("places", _key(cell, f"sk {op} :x", x=cell + "m")))
        for page in (4, 25):  # paginated: Limit and ExclusiveStartKey, both ways
            kinds.append(("places", {**between, "Limit": page}))
            kinds.append(("places", {**between, "Limit": page, "ScanIndexForward": False}))
        kinds.append(("places", {**_key(cell), "Limit": 30}))
    exact = _key("exact", "sk BETWEEN :lo AND :hi", lo="a0", hi="a9")
    for page in (5, 10):
        kinds.append(("places", {**exact, "Limit": page}))
        kinds.append(("places", {**exact, "Limit": page, "ScanIndexForward": False}))
    for g in ("g0", "g1", "g2"):  # the GSI keeps moto's own path
        gsi = {
            "IndexName": "by_g",
            "KeyConditionExpression": "g = :g AND gs BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":g": {"S": g}, ":lo": {"S": "03"}, ":hi": {"S": "15"}},
        }
        kinds += [("places", gsi), ("places", {**gsi, "Limit": 4, "ScanIndexForward": False})]
    for p in ("p0", "p1"):
        numeric = {
            "KeyConditionExpression": "pk = :pk AND n BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": p}, ":lo": {"N": "-10"}, ":hi": {"N": "25"}},
        }
        kinds += [("numbers", numeric), ("numbers", {**numeric, "Limit": 5})]
    kinds.append(("flat", _key("f7")))
    return kinds


def _with_v(query: Query, v: int) -> Query:
    return {
        "ExpressionAttributeValues": {**query["ExpressionAttributeValues"], ":v": {"N": str(v)}}
    }


def _pages(client: Any, table: str, query: Query) -> list[dict[str, Any]]:
    """Every page of a query, as returned (without request ids), following LastEvaluatedKey."""
    pages = []
    start: dict[str, Any] | None = None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = client.query(TableName=table, **query, **extra)
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start or len(pages) > 700:
            return pages


def _answers(client: Any) -> list[Any]:
    """Every query's pages, and what other reads return (the serializer serves them too)."""
    answers: list[Any] = [_pages(client, table, query) for table, query in _queries()]
    for name in ("places", "numbers"):
        scan = client.scan(TableName=name)
        scan.pop("ResponseMetadata")
        answers.append(scan)
    first = answers[0][0]["Items"][0]
    got = client.get_item(TableName="places", Key={"pk": first["pk"], "sk": first["sk"]})
    got.pop("ResponseMetadata")
    return [*answers, got]


def _write(client: Any) -> None:
    """New, overwritten, updated and deleted items in partitions the index has sorted."""
    for n, cell in enumerate(PARTITIONS):
        client.put_item(TableName="places", Item={"pk": {"S": cell}, "sk": {"S": cell + "m"}})
        client.put_item(TableName="places", Item={"pk": {"S": cell}, "sk": {"S": f"{cell}e{n}"}})
        first = client.query(**{"TableName": "places", **_key(cell), "Limit": 2})["Items"]
        client.delete_item(TableName="places", Key={"pk": first[0]["pk"], "sk": first[0]["sk"]})
        client.update_item(
            TableName="places",
            Key={"pk": first[1]["pk"], "sk": first[1]["sk"]},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1000"}},
        )
    client.put_item(TableName="places", Item={"pk": {"S": "u0000"}, "sk": {"S": "u0000m"}})
    client.put_item(TableName="numbers", Item={"pk": {"S": "p0"}, "n": {"N": "0"}})


def test_every_query_answers_the_same_items_in_the_same_order(dynamodb: Any) -> None:
    # Given moto's own answers
    expected = _answers(dynamodb)
    queries = expected[: len(_queries())]
    assert sum(len(p["Items"]) for pages in queries for p in pages) > 2000  # not vacuous
    assert any(len(pages) > 1 for pages in queries)  # pagination was exercised
    # When the index is installed
    with moto_index.indexed():
        indexed = _answers(dynamodb)
    # Then every page is the same: items, order, counts and LastEvaluatedKey
    for (table, query), want, got in zip(_queries(), expected, indexed, strict=False):
        assert got == want, (table, query)
    assert indexed == expected  # and the scans and reads around them


def test_answers_follow_writes_after_the_index_sorted_a_partition(dynamodb: Any) -> None:
    # Given the index has sorted every partition once
    with moto_index.indexed():
        _answers(dynamodb)
        # When items are added, overwritten, updated and deleted
        _write(dynamodb)
        indexed = _answers(dynamodb)
    # Then the index answers what moto answers on the new state
    assert indexed == _answers(dynamodb)


def test_table_queries_no_longer_list_the_whole_table(dynamodb: Any) -> None:
    moto_index.install()

    def whole_table(table: Any) -> list[Any]:
        raise AssertionError("listed the whole table")

    original, moto_index._originals["all_items"] = moto_index._originals["all_items"], whole_table
    try:
        for table, query in _queries():
            if "IndexName" not in query:
                _pages(dynamodb, table, query)
        gsi = next(q for _, q in _queries() if "IndexName" in q)
        with pytest.raises(Exception, match="whole table"):  # the GSI takes moto's own path
            _pages(dynamodb, "places", gsi)
    finally:
        moto_index._originals["all_items"] = original


def test_it_refuses_another_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_index.uninstall()
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"moto 9\.9\.9 is installed"):
        moto_index.install()
    assert not moto_index.installed()


def test_pinned_to_the_moto_of_requirements_dev() -> None:
    # The lock (what `make` installs) pins moto without its extras: "moto==X.Y.Z \".
    pin = re.search(r"^moto==([^\s\\]+)", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pin and pin.group(1) == moto_index.MOTO_VERSION == moto.__version__


def test_query_copies_are_not_kept_for_moto_dashboard(dynamodb: Any) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    with moto_index.indexed():
        tracked = len(Item.instances_tracked)
        _pages(dynamodb, "places", _key(PARTITIONS[0]))
        assert len(Item.instances_tracked) == tracked


def test_uninstall_restores_moto(dynamodb: Any) -> None:
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    query, all_items = Table.query, Table.all_items
    with moto_index.indexed():
        assert Table.query is not query
    assert (Table.query, Table.all_items) == (query, all_items)
    assert "__new__" not in vars(Item) and Item.__new__ is BaseModel.__new__
