"""moto's DynamoDB Query on a secondary index, without walking and sorting the whole table.

For the fan-out bench only. Why: moto 5.2.5's `Table.query` with an IndexName starts from
`Table.all_items()`, which lists and sorts every item of the table (through DynamoType's Python
comparisons) and then tests each one against the index's hash key. The ledger's contact-id look-up
(`dal/calls.by_contact`, once per ended call) took 0.5 s with 16,000 deliveries in the table;
the bench ends about 4,600 calls per run.

What `install()` changes: while an index Query with one string hash-key condition runs,
`all_items()` returns only the items whose attribute equals the queried value, in moto's order.
moto's loop skips every other item at its first test (`hash_match`) and sorts what it keeps by
the index's keys, so its answer is the same; sorting, paging, projections and filters stay moto's
code. tests/unit/test_bench_fanout.py checks the answers against moto's own path.

It layers on whatever `Table.query`/`Table.all_items` are in place (tools/moto_index.py patches
them too), and `uninstall()` puts those back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_pending = threading.local()  # the items the index query running on this thread may read
_saved: dict[str, Callable[..., Any]] = {}


def install() -> None:
    """Patch moto's Table.query/all_items (idempotent)."""
    from moto.dynamodb.models.table import Table

    if _saved:
        return
    _saved["query"] = Table.query
    _saved["all_items"] = Table.all_items
    setattr(Table, "query", _query)  # noqa: B010 (patching a method)
    setattr(Table, "all_items", _all_items)  # noqa: B010


def uninstall() -> None:
    """Put back what was there before install()."""
    from moto.dynamodb.models.table import Table

    if not _saved:
        return
    if Table.query is not _query or Table.all_items is not _all_items:
        raise RuntimeError(
            "moto's Table.query was patched again after bench.moto_gsi: undo that first"
        )
    setattr(Table, "query", _saved.pop("query"))  # noqa: B010
    setattr(Table, "all_items", _saved.pop("all_items"))  # noqa: B010


@contextmanager
def indexed() -> Iterator[None]:
    """The fast path for the duration of a block."""
    was = bool(_saved)
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    # moto's backend passes hash_key .. consistent_read positionally and the rest by keyword.
    index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
    conditions = kwargs.get("hash_key_conditions") or []
    ranges = kwargs.get("range_key_conditions") or []
    extra = set(kwargs) - {
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
    }
    if not index_name or len(conditions) != 1 or len(ranges) > 1 or extra:
        return _saved["query"](self, *args, **kwargs)
    attribute, wanted = conditions[0]
    if getattr(wanted, "type", None) != "S":
        return _saved["query"](self, *args, **kwargs)
    _pending.plan = (self, _matching(self, attribute, wanted.value))
    try:
        return _saved["query"](self, *args, **kwargs)
    finally:
        _pending.plan = None


def _all_items(self: Any) -> list[Any]:
    plan = getattr(_pending, "plan", None)
    if plan is None or plan[0] is not self:
        items: list[Any] = _saved["all_items"](self)
        return items
    _pending.plan = None  # the query's own single call, nothing else
    found: list[Any] = plan[1]
    return found


def _matching(table: Any, attribute: str, value: str) -> list[Any]:
    """The items whose `attribute` is the string `value`, sorted as moto's all_items() sorts."""
    from moto.dynamodb.models.dynamo_type import Item

    found = []
    for bucket in list(table.items.values()):
        for item in list(bucket.values()) if table.range_key_attr else [bucket]:
            got = item.attrs.get(attribute) if isinstance(item, Item) else None
            if got is not None and got.type == "S" and got.value == value:
                found.append(item)
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
