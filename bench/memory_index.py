"""An in-memory geo index with DynamoDB's key semantics, for the targeting bench and tests.

Items are filed exactly as production files them (`place_cell`, `place_sort_key`), a put with an
existing key replaces the item, and a Query is an inclusive `sk BETWEEN lower AND upper` on one
partition, so what the plan reads here is what it would read from the table.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from chalicelib.domain.geo.keys import KeyRange, place_cell, place_sort_key
from chalicelib.domain.geo.planning import PLACE_ITEM_BYTES, Located, query_units


class PlaceLike(Located, Protocol):
    """What the index needs of a place to file it: a located row with its label."""

    @property
    def label(self) -> str: ...


R = TypeVar("R", bound=PlaceLike)


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """A geo-index item as the bench needs it."""

    participant_id: str
    lat: float
    lon: float
    label: str


class MemoryGeoIndex(Generic[R]):
    """Partition -> items by sort key, with the cost counters of the Queries made."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, R]] = {}
        self._sorted: dict[str, list[str]] = {}  # sorted sort keys, rebuilt lazily after puts
        self.queries = 0
        self.items_read = 0
        self.bytes_read = 0
        self.read_units = 0.0

    def add(self, row: R) -> None:
        """Put one place item; like PutItem, an item with the same key is replaced."""
        partition = place_cell(row.lat, row.lon)
        sort_key = place_sort_key(row.lat, row.lon, row.participant_id, row.label)
        self._items.setdefault(partition, {})[sort_key] = row
        self._sorted.pop(partition, None)

    def __len__(self) -> int:
        return sum(len(items) for items in self._items.values())

    @property
    def partitions(self) -> int:
        """How many partitions hold at least one item."""
        return len(self._items)

    def query(self, key_range: KeyRange) -> tuple[list[R], str | None]:
        """One Query, counted: items of one partition with lower <= sk <= upper, in key order.

        Like DynamoDB, it starts after `after` and stops at `limit` items, and then answers
        the last item's sort key (even when nothing follows); otherwise None.
        """
        items = self._items.get(key_range.partition, {})
        keys = self._sorted.get(key_range.partition)
        if keys is None:
            keys = self._sorted[key_range.partition] = sorted(items)
        first = bisect_left(keys, key_range.lower)
        if key_range.after is not None:
            first = max(first, bisect_right(keys, key_range.after))
        end = bisect_right(keys, key_range.upper)
        last_key = None
        if key_range.limit is not None and end - first >= key_range.limit:
            end = first + key_range.limit
            last_key = keys[end - 1]
        found = [items[k] for k in keys[first:end]]
        self.queries += 1
        self.items_read += len(found)
        self.bytes_read += len(found) * PLACE_ITEM_BYTES
        # 1 MB pages (about 5,800 items) are ignored: one more rounding per page at most.
        self.read_units += query_units(len(found))
        return found, last_key

    def read(self, key_ranges: Sequence[KeyRange]) -> list[tuple[list[R], str | None]]:
        """A batch of Queries, as `geo.gather` reads them."""
        return [self.query(key_range) for key_range in key_ranges]

    def reset_counters(self) -> None:
        """Zero the counters, between two measured plans."""
        self.queries = self.items_read = self.bytes_read = 0
        self.read_units = 0.0
