"""An in-memory geo index with DynamoDB's key semantics, for the targeting bench and tests.

Items are filed exactly as production files them (`place_cell`, `place_sort_key`), a put with an
existing key replaces the item, and a Query is an inclusive `sk BETWEEN lower AND upper` on one
partition, so what the plan reads here is what it would read from the table.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from chalicelib.domain.geo import KeyRange, Located, place_cell, place_sort_key

# Size of a projected geo-index item (keys, participant id, label, position, phone, language,
# channel) as DynamoDB counts it: attribute names plus values. An estimate, not a measurement.
PLACE_ITEM_BYTES = 120
READ_UNIT_BYTES = 4096  # a read unit covers up to 4 KB of one Query's items, summed then rounded up
EVENTUALLY_CONSISTENT_UNIT = 0.5  # read units per 4 KB for an eventually consistent read


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

    def query(self, key_range: KeyRange) -> list[R]:
        """The items of one partition with lower <= sk <= upper, in key order, counted."""
        items = self._items.get(key_range.partition, {})
        keys = self._sorted.get(key_range.partition)
        if keys is None:
            keys = self._sorted[key_range.partition] = sorted(items)
        found = [
            items[k]
            for k in keys[bisect_left(keys, key_range.lower) : bisect_right(keys, key_range.upper)]
        ]
        size = len(found) * PLACE_ITEM_BYTES
        self.queries += 1
        self.items_read += len(found)
        self.bytes_read += size
        # An empty Query is still charged one unit (the 1 MB pages, at ~8,700 items, are ignored).
        self.read_units += max(1, math.ceil(size / READ_UNIT_BYTES)) * EVENTUALLY_CONSISTENT_UNIT
        return found

    def reset_counters(self) -> None:
        """Zero the counters, between two measured plans."""
        self.queries = self.items_read = self.bytes_read = 0
        self.read_units = 0.0
