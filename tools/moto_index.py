"""A partition index for moto's DynamoDB `Query`, for the local runner and benches only.

Why: moto 5.2.5's `Table.query` starts every query on a table's own key with
`Table.all_items()`, which lists every item of the table and sorts them by (hash key, range key)
through `DynamoType.__eq__`/`__lt__` (each computes `cast_value` in Python), and only then keeps
the queried partition and walks it with the key condition. Profiled with cProfile on a table of
100,000 items: 1.6 s per query, 94 % of it in that sort, the rest in the hash-key filter. So
local targeting (up to 64 range queries per action) grew with the table, not with the cells a
circle touches: `POST /reach` for 1.5 km took ~50 s with 20,000 demo participants.

What: while a `Query` on the table's own key (no IndexName) runs, `all_items()` hands moto's
own loop only what that loop could return or stop on: the queried partition's items that pass
moto's own comparison function for the key condition, plus the item that follows the last of
them in scan order (so a page that ends at Limit carries LastEvaluatedKey exactly when moto's
would), in moto's order. Sorting, ExclusiveStartKey, Limit, ScanIndexForward, filters,
projections and the response are still moto's code. Index (GSI/LSI) queries, scans and anything
unusual (legacy QueryFilter, multi-attribute keys) take moto's original path untouched.
tests/unit/test_moto_index.py proves the answers are the same with and without the patch.

Known difference: moto also ends a page at 1 MB by counting items outside the key condition
that its loop walks past; with the index it never walks them (nor does DynamoDB).

Production code never sees this: chalicelib/ knows nothing of moto. It is pinned to the moto
version in requirements-dev.txt and refuses to install on any other.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

MOTO_VERSION = "5.2.5"  # the version whose Table.query/all_items this was written against
QUERY_PARAMETERS = (
    "self",
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
    "hash_key_conditions",
    "range_key_conditions",
    "filter_kwargs",
)

_pending = threading.local()  # the plan of the query running on this thread (moto server threads)
_originals: dict[str, Callable[..., Any]] = {}


@dataclass
class _Plan:
    """What `all_items()` returns to one running query."""

    table: Any
    items: list[Any]


def install() -> None:
    """Give moto's DynamoDB Query a partition index (idempotent); fail loudly on another moto."""
    from moto.dynamodb.models.table import Table

    if _originals:
        return
    _check_moto(Table)
    _originals["query"] = Table.query
    _originals["all_items"] = Table.all_items
    setattr(Table, "query", _query)  # noqa: B010  (mypy: no assigning to methods)
    setattr(Table, "all_items", _all_items)  # noqa: B010


def uninstall() -> None:
    """Put moto's own Query back."""
    from moto.dynamodb.models.table import Table

    if not _originals:
        return
    setattr(Table, "query", _originals.pop("query"))  # noqa: B010
    setattr(Table, "all_items", _originals.pop("all_items"))  # noqa: B010


def installed() -> bool:
    """Whether the index is in place."""
    return bool(_originals)


@contextmanager
def indexed() -> Iterator[None]:
    """The index for the duration of a block (and moto's own Query after it, if it was so)."""
    was = installed()
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()


def _check_moto(table_class: Any) -> None:
    import moto

    found = getattr(moto, "__version__", "unknown")
    problem = None
    if found != MOTO_VERSION:
        problem = f"moto {found} is installed"
    elif tuple(inspect.signature(table_class.query).parameters) != QUERY_PARAMETERS:
        problem = "Table.query has other parameters"
    elif "self.all_items()" not in inspect.getsource(table_class.query):
        problem = "Table.query no longer reads all_items()"
    if problem:
        raise RuntimeError(
            f"tools/moto_index.py patches the internals of moto {MOTO_VERSION}'s DynamoDB "
            f"(Table.query, Table.all_items), but {problem}. Re-read "
            "moto/dynamodb/models/table.py, adapt the patch, run tests/unit/test_moto_index.py, "
            "then update MOTO_VERSION to match requirements-dev.txt."
        )


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    original = _originals["query"]
    call = _signature(original).bind(self, *args, **kwargs).arguments
    plan = _plan(self, call)
    if plan is None:
        return original(self, *args, **kwargs)
    _pending.plan = plan
    try:
        return original(self, *args, **kwargs)
    finally:
        _pending.plan = None


def _all_items(self: Any) -> list[Any]:
    plan: _Plan | None = getattr(_pending, "plan", None)
    if plan is None or plan.table is not self:
        items: list[Any] = _originals["all_items"](self)
        return items
    _pending.plan = None  # the query's own single call, nothing else
    return plan.items


@cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


def _plan(table: Any, call: dict[str, Any]) -> _Plan | None:
    """The items one table-key query needs, or None for moto's original path."""
    from moto.dynamodb.comparisons import get_comparison_func

    hash_key = call.get("hash_key")
    range_comparison = call.get("range_comparison")
    limit = call.get("limit")
    range_conditions = call.get("range_key_conditions") or []
    if (
        call.get("index_name")
        or hash_key is None
        or call.get("filter_kwargs")  # legacy QueryFilter: moto may return non-matching keys
        or len(call.get("hash_key_conditions") or []) > 1
        or len(range_conditions) > 1
        or (range_conditions and range_conditions[-1][0] != table.range_key_attr)
        or (limit is not None and limit < 1)
    ):
        return None
    if table.range_key_attr is None:  # one item per partition
        if range_comparison:
            return None
        item = table.items.get(hash_key)
        return _Plan(table, [item] if item is not None else [])
    partition = table.items.get(hash_key) or {}  # .get: items is a defaultdict
    # moto orders a partition by its range keys' cast_value (one key type per table).
    ordered = sorted(((_value(k), item) for k, item in partition.items()), key=_first)
    if not range_comparison:
        return _Plan(table, [item for _, item in ordered])
    compare = get_comparison_func(range_comparison)
    if compare is None:
        return None
    bounds = [_value(v) for v in call.get("range_objs") or []]
    hits = [i for i, (value, _) in enumerate(ordered) if compare(value, *bounds)]
    if not hits:
        return _Plan(table, [])
    # moto ends a page at Limit only when another item follows in scan order: keep that one.
    forward = call.get("scan_index_forward") is not False
    after = hits[-1] + 1 if forward else hits[0] - 1
    if 0 <= after < len(ordered):
        hits = sorted([*hits, after])
    return _Plan(table, [ordered[i][1] for i in hits])


def _value(d: Any) -> Any:
    # DynamoType.cast_value, without its five type tests for the common string key.
    return d.value if d.type == "S" else d.cast_value


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]
