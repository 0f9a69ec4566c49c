"""A partition index for moto's DynamoDB `Query`, for the local runner and benches only.

Why: in moto 5.2.5 a query cost grew with the whole table, not with what it reads.
- `Table.query` starts every query on a table's own key with `Table.all_items()`, which lists
  every item of the table and sorts them by (hash key, range key) through
  `DynamoType.__eq__`/`__lt__` (each computes `cast_value` in Python), and only then keeps the
  queried partition and walks all of it with the key condition. cProfile on a table of 100,000
  items: 1.6 s per query, 94 % of it in that sort, the rest in the hash-key filter.
- Every item returned costs 0.4 ms in moto's response serializer, which asks for each of
  AttributeValue's ten members (S, N, B, ... BOOL) through five alias providers.
Local targeting issues up to 64 range queries per action: `POST /reach` for 1.5 km around the
Domplein took ~50 s with 20,000 demo participants.

What `install()` changes, keeping moto's answers:
- While a `Query` on a table's own key (no IndexName) runs, `all_items()` hands moto's own loop
  only what that loop could return or stop on: the queried partition's items that pass moto's
  own comparison function for the key condition, plus the item that follows the last of them in
  scan order (so a page that ends at Limit carries LastEvaluatedKey exactly when moto's would),
  in moto's order. Each partition's items are kept sorted by range key between queries, so a
  query bisects instead of walking; any put or delete on the table drops that order.
- The serializer visits only the one member an AttributeValue has, with moto's own code.
- DynamoDB Items are no longer added to moto's list of every model instance (its dashboard shows
  them as `{"range_key": null}`): with each query's copies kept there, the process grew with
  every query and paused over a second in each full garbage collection.
Sorting, ExclusiveStartKey, Limit, ScanIndexForward, filters, projections and responses are
still moto's code. Index (GSI/LSI) queries, scans and anything unusual (legacy QueryFilter,
multi-attribute keys) take moto's original path. tests/integration/test_moto_index.py proves
the answers are the same with and without the patch.

Known difference: moto also ends a page at 1 MB by counting items outside the key condition
that its loop walks past; with the index it never walks them (nor does DynamoDB).

Production code never sees this: chalicelib/ knows nothing of moto. It is pinned to the moto
version in requirements-dev.txt and refuses to install on any other.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tools.patches import scoped

MOTO_VERSION = "5.2.5"  # the version whose internals this was written against
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
_patches: list[tuple[Any, str, Callable[..., Any]]] = []  # (class, attribute, replacement)
_saved: list[tuple[Any, str, Any]] = []  # (class, attribute, what its __dict__ held)
_ABSENT = object()
_writes = itertools.count(1)  # a stamp per write; next() is atomic under the GIL


@dataclass
class _Partition:
    """One partition's items in moto's order, as of one write stamp of its table."""

    stamp: int
    values: list[Any]  # the range keys' cast_value, ascending
    items: list[Any]


@dataclass
class _TableIndex:
    stamp: int = 0  # the table's last write
    partitions: dict[Any, _Partition] = field(default_factory=dict)


_indexes: weakref.WeakKeyDictionary[Any, _TableIndex] = weakref.WeakKeyDictionary()


@dataclass
class _Plan:
    """What `all_items()` returns to one running query."""

    table: Any
    items: list[Any]


def install() -> None:
    """Give moto's DynamoDB Query a partition index (idempotent); fail loudly on another moto."""
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    if _originals:
        return
    _check_moto(Table)
    _patches[:] = [
        (Table, "query", _query),
        (Table, "all_items", _all_items),
        (Table, "put_item", _put_item),
        (Table, "delete_item", _delete_item),
        (BaseJSONSerializer, "_serialize_type_structure", _serialize_structure),
        (Item, "__new__", _new_item),
    ]
    for owner, name, replacement in _patches:
        _originals[name] = getattr(owner, name)
        _saved.append((owner, name, owner.__dict__.get(name, _ABSENT)))
        setattr(owner, name, staticmethod(replacement) if name == "__new__" else replacement)


def uninstall() -> None:
    """Put moto's own code back."""
    if any(getattr(owner, name) is not ours for owner, name, ours in _patches):
        raise RuntimeError("moto was patched again after tools.moto_index: undo that first")
    for owner, name, raw in _saved:
        if raw is _ABSENT:
            delattr(owner, name)  # it was inherited
        else:
            setattr(owner, name, raw)
    _patches.clear()
    _saved.clear()
    _originals.clear()
    _indexes.clear()


def installed() -> bool:
    """Whether the index is in place."""
    return bool(_originals)


def indexed() -> AbstractContextManager[None]:
    """The index for the duration of a block (and moto's own Query after it, if it was so)."""
    return scoped(installed, install, uninstall)


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
            f"(Table.query, Table.all_items, the JSON serializer), but {problem}. Re-read "
            "moto/dynamodb/models/table.py, adapt the patch, run "
            "tests/integration/test_moto_index.py, then update MOTO_VERSION to match "
            "requirements-dev.txt."
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


def _put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _originals["put_item"](self, *args, **kwargs)
    finally:
        _written(self)


def _delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _originals["delete_item"](self, *args, **kwargs)
    finally:
        _written(self)


def _written(table: Any) -> None:
    # Stamped after the write: an order built from before it carries an older stamp.
    _indexes.setdefault(table, _TableIndex()).stamp = next(_writes)


@cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


def _plan(table: Any, call: dict[str, Any]) -> _Plan | None:
    """The items one table-key query needs, or None for moto's original path."""
    hash_key = call.get("hash_key")
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
        if call.get("range_comparison"):
            return None
        item = table.items.get(hash_key)  # .get: items is a defaultdict
        return _Plan(table, [item] if item is not None else [])
    try:
        hits = _hits(_partition(table, hash_key), call)
    except (TypeError, AttributeError):  # keys of mixed types, begins_with on numbers: moto decides
        return None
    return None if hits is None else _Plan(table, hits)


def _partition(table: Any, hash_key: Any) -> _Partition:
    """The partition in moto's order (by the range keys' cast_value), sorted once per write."""
    index = _indexes.setdefault(table, _TableIndex())
    stamp = index.stamp  # read before the items: a write during the sort makes it stale
    known = index.partitions.get(hash_key)
    if known is not None and known.stamp == stamp:
        return known
    items = table.items.get(hash_key) or {}
    ordered = sorted(((_value(k), item) for k, item in items.items()), key=_first)
    partition = _Partition(stamp, [v for v, _ in ordered], [i for _, i in ordered])
    index.partitions[hash_key] = partition
    return partition


def _hits(partition: _Partition, call: dict[str, Any]) -> list[Any] | None:
    """The partition's items that moto's loop reads for this key condition, in moto's order."""
    from moto.dynamodb.comparisons import get_comparison_func

    values = partition.values
    operator = call.get("range_comparison")
    if not operator:
        return partition.items
    compare = get_comparison_func(operator)
    if compare is None:
        return None
    bounds = [_value(v) for v in call.get("range_objs") or []]
    low, high = _window(operator, values, bounds)
    # moto's own comparison decides within the window; outside it none can match.
    hits = [i for i in range(low, high) if compare(values[i], *bounds)]
    if not hits:
        return []
    # moto ends a page at Limit only when another item follows in scan order: keep that one.
    after = hits[-1] + 1 if call.get("scan_index_forward") is not False else hits[0] - 1
    if 0 <= after < len(values):
        hits = sorted([*hits, after])
    return [partition.items[i] for i in hits]


def _window(operator: str, values: list[Any], bounds: list[Any]) -> tuple[int, int]:
    """Where in the sorted range keys a key condition's matches can be (all of it if unsure)."""
    if operator == "BETWEEN" and len(bounds) == 2:
        return bisect_left(values, bounds[0]), bisect_right(values, bounds[1])
    if len(bounds) != 1:
        return 0, len(values)
    (bound,) = bounds
    if operator in ("=", "EQ"):
        return bisect_left(values, bound), bisect_right(values, bound)
    if operator in ("<", "LT"):
        return 0, bisect_left(values, bound)
    if operator in ("<=", "LE"):
        return 0, bisect_right(values, bound)
    if operator in (">", "GT"):
        return bisect_right(values, bound), len(values)
    if operator in (">=", "GE"):
        return bisect_left(values, bound), len(values)
    if operator == "BEGINS_WITH":
        start = end = bisect_left(values, bound)
        while end < len(values) and values[end].startswith(bound):
            end += 1
        return start, end
    return 0, len(values)


def _value(d: Any) -> Any:
    # DynamoType.cast_value, without its five type tests for the common string key.
    return d.value if d.type == "S" else d.cast_value


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _new_item(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """A DynamoDB Item, not added to moto's list of every model instance ever made.

    moto's BaseModel keeps each instance for its /moto-api/data.json dashboard, where an Item
    shows only as `{"range_key": null}`. Every query's deep copies were kept too: memory grew with
    each query, full garbage collections walking it paused the process for over a second at
    50,000 participants, and data.json took 5.5 s (`make sms` gives up after 5).
    """
    return object.__new__(cls)


def _serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    """moto's structure serializer, visiting only the member a DynamoDB AttributeValue has.

    A value is always one `{type: value}` pair: its member is serialized by moto's own code, and
    the nine absent ones moto would have looked up only to skip them as None.
    """
    if (
        shape.name == "AttributeValue"
        and type(value) is dict
        and len(value) == 1
        and not shape.is_document_type
        and self.service_model.service_name == "dynamodb"
    ):
        (member,) = value
        member_shape = shape.members.get(member)
        if member_shape is not None:
            member_shape.parent = shape
            wrapper = self.MAP_TYPE() if key else serialized
            self._serialize_structure_member(wrapper, value, member_shape, member)
            if key:
                self._default_serialize(serialized, wrapper, shape, key)
            return
    _originals["_serialize_type_structure"](self, serialized, value, shape, key)
