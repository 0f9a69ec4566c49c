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

Finding those items: a table walk per query made the bench quadratic (5 ms a look-up with 20,000
items, one per ended call). So each (table, attribute) queried keeps an index, string value ->
the items holding it, built by one walk at its first query and kept current by the writes: every
`Table.put_item`, `Table.delete_item` and `DynamoDBBackend.update_item` (which changes an item in
place) marks its key, and a query first re-reads the marked keys' items. moto writes items only
through those three (batches and transactions call them); a table a transaction rolled back is a
new Table object, with an index of its own.

It layers on whatever `Table.query`/`Table.all_items` are in place (tools/moto_index.py patches
them too), and `uninstall()` puts those back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from tools.patches import scoped

_pending = threading.local()  # the items the index query running on this thread may read
_saved: dict[str, Callable[..., Any]] = {}
_lock = threading.RLock()
Key = tuple[Any, Any]  # (hash key, range key or None) as moto's DynamoType values


@dataclass
class _ValueIndex:
    """One table's items by one attribute's string value, and the keys written since."""

    by_value: dict[str, dict[Key, Any]] = field(default_factory=dict)
    value_of: dict[Key, str] = field(default_factory=dict)
    dirty: set[Key] = field(default_factory=set)

    def put(self, key: Key, item: Any, attribute: str) -> None:
        """File the item (None: gone) under its current value, and nowhere else."""
        old = self.value_of.pop(key, None)
        if old is not None:
            holders = self.by_value[old]
            holders.pop(key, None)
            if not holders:
                del self.by_value[old]
        got = item.attrs.get(attribute) if item is not None else None
        if got is not None and got.type == "S":
            self.value_of[key] = got.value
            self.by_value.setdefault(got.value, {})[key] = item


# Table object -> attribute -> its index (a Table is not hashable by identity in moto)
_indexes: dict[int, tuple[Any, dict[str, _ValueIndex]]] = {}


def install() -> None:
    """Patch moto's Table.query/all_items (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if _saved:
        return
    _saved["query"] = Table.query
    _saved["all_items"] = Table.all_items
    _saved["put_item"] = Table.put_item
    _saved["delete_item"] = Table.delete_item
    _saved["update_item"] = DynamoDBBackend.update_item
    setattr(Table, "query", _query)  # noqa: B010 (patching a method)
    setattr(Table, "all_items", _all_items)  # noqa: B010
    setattr(Table, "put_item", _put_item)  # noqa: B010
    setattr(Table, "delete_item", _delete_item)  # noqa: B010
    setattr(DynamoDBBackend, "update_item", _update_item)  # noqa: B010


def uninstall() -> None:
    """Put back what was there before install()."""
    from moto.dynamodb.models.table import Table

    if not _saved:
        return
    if Table.query is not _query or Table.all_items is not _all_items:
        raise RuntimeError(
            "moto's Table.query was patched again after bench.moto_gsi: undo that first"
        )
    from moto.dynamodb.models import DynamoDBBackend

    setattr(Table, "query", _saved.pop("query"))  # noqa: B010
    setattr(Table, "all_items", _saved.pop("all_items"))  # noqa: B010
    setattr(Table, "put_item", _saved.pop("put_item"))  # noqa: B010
    setattr(Table, "delete_item", _saved.pop("delete_item"))  # noqa: B010
    setattr(DynamoDBBackend, "update_item", _saved.pop("update_item"))  # noqa: B010
    with _lock:
        _indexes.clear()


def indexed() -> AbstractContextManager[None]:
    """The fast path for the duration of a block."""
    return scoped(lambda: bool(_saved), install, uninstall)


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
    with _lock:
        index = _index(table, attribute)
        for key in index.dirty:
            index.put(key, _item_at(table, key), attribute)
        index.dirty.clear()
        found = list(index.by_value.get(value, {}).values())
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _index(table: Any, attribute: str) -> _ValueIndex:
    entry = _indexes.get(id(table))
    if entry is None or entry[0] is not table:
        entry = _indexes[id(table)] = (table, {})
    index = entry[1].get(attribute)
    if index is None:
        from moto.dynamodb.models.dynamo_type import Item

        index = entry[1][attribute] = _ValueIndex()
        for bucket in list(table.items.values()):
            for item in list(bucket.values()) if table.range_key_attr else [bucket]:
                if isinstance(item, Item):
                    index.put((item.hash_key, item.range_key), item, attribute)
    return index


def _item_at(table: Any, key: Key) -> Any:
    bucket = table.items.get(key[0])
    if bucket is None:
        return None
    return bucket.get(key[1]) if table.range_key_attr else bucket


def _written(table: Any, key: Key) -> None:
    with _lock:
        entry = _indexes.get(id(table))
        if entry is not None and entry[0] is table:
            for index in entry[1].values():
                index.dirty.add(key)


def _key_of(table: Any, attrs: dict[str, Any]) -> Key:
    from moto.dynamodb.models.dynamo_type import DynamoType

    range_attr = table.range_key_attr
    return (
        DynamoType(attrs[table.hash_key_attr]),
        DynamoType(attrs[range_attr]) if range_attr and range_attr in attrs else None,
    )


def _put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return _saved["put_item"](self, item_attrs, *args, **kwargs)
    finally:
        _written(self, _key_of(self, item_attrs))


def _delete_item(self: Any, hash_value: Any, range_value: Any = None) -> Any:
    try:
        return _saved["delete_item"](self, hash_value, range_value)
    finally:
        _written(self, (hash_value, range_value if self.range_key_attr else None))


def _update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kw: Any) -> Any:
    try:
        return _saved["update_item"](backend, table_name, key, *args, **kw)
    finally:
        table = backend.tables.get(table_name)
        if table is not None and table.hash_key_attr in key:
            _written(table, _key_of(table, key))
