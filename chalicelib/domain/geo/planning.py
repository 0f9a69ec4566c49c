"""Planning the Queries that find everyone in an area: two rounds, the second chosen by cost.

The covering (`covering`) says which precision-9 intervals may hold a point of the area; planning
turns them into Queries on the geo index (`keys`), reads them through a caller's function, and
keeps the rows inside the area.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from chalicelib.domain.geo.covering import Coverable, Interval, cover, position_m2, touching_joined
from chalicelib.domain.geo.keys import TAIL_BITS, KeyRange, key_range, position_of

DEFAULT_MAX_QUERIES = 64

# What a Query costs (eventually consistent): half a read unit per started 4 KB of the items it
# returns, and half a unit even when it returns nothing.
READ_UNIT_BYTES = 4096
QUERY_UNITS = 0.5
# A geo-index item as DynamoDB sizes it (attribute names plus values) with a UUID participant id,
# a mobile number and a position to 1 cm: 175 bytes, measured from the Place model by
# tests/unit/test_geo.py. Planning only estimates with it; nothing depends on it exactly.
PLACE_ITEM_BYTES = 180
# A first-round Query stops after what one read unit holds: a sparse area is then read in one
# cheap Query per range, and a dense one has told us its density for the price of one unit.
PROBE_ITEMS = READ_UNIT_BYTES // PLACE_ITEM_BYTES
# The first round's ranges may cover this many times the area's own (the gaps they bridge plus
# the cells along the edge): places read / places inside is bounded by 1.5, and places are not
# spread quite evenly. In a sparse area this bound, not the price of reading, sets how few
# Queries will do: every one it saves is half a read unit.
PROBE_AMPLIFICATION = 1.45


@dataclass(frozen=True)
class Stop:
    """A first-round Query that reached its limit: which one, its last sort key, items read."""

    probe: int
    last_key: str
    items: int


class Located(Protocol):
    """Anything with a participant and a position: a geo-index item as read back."""

    @property
    def participant_id(self) -> str: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


T = TypeVar("T", bound=Located)


@dataclass(frozen=True)
class Plan:
    """The first round of Queries (`probes`), and what planning the second round needs.

    Each probe spans one or more of the covering's intervals of one partition, read with a limit
    of PROBE_ITEMS. A probe that ends within its limit has read everything of its span; one that
    stops has measured the density of its places, and `rest` plans what is left of it by cost.
    """

    probes: tuple[KeyRange, ...]
    spans: tuple[tuple[Interval, ...], ...]  # per probe, the covering's intervals it spans
    max_queries: int

    def rest(self, stops: Sequence[Stop]) -> list[KeyRange]:
        """The second round: what the stopped probes left unread, in ranges chosen by cost.

        A probe read `items` places from its start to its last key, so its span holds about
        items / positions per position. Neighbouring ranges are joined where reading the gap
        between them is expected to cost less than a Query of its own; then, while the two
        rounds together would exceed `max_queries`, the gaps expected to hold fewest places are
        bridged too (never below one Query per stopped probe with something left).
        """
        pieces: list[tuple[int, int, str | None]] = []  # start, end, resume-after key
        density: list[float] = []  # places per position, per piece
        probe_of: list[int] = []
        for stop in stops:
            span = self.spans[stop.probe]
            last = position_of(stop.last_key)
            per_position = stop.items / (last - span[0][0] + 1)
            for start, end in span:
                if end < last:
                    continue
                # Items at the last key's own position may follow it: resume after that item.
                piece = (last, end, stop.last_key) if start <= last else (start, end, None)
                pieces.append(piece)
                density.append(per_position)
                probe_of.append(stop.probe)
        if not pieces:
            return []
        joined = _Joins([(start, end) for start, end, _ in pieces], density)
        gaps = [i for i in range(len(pieces) - 1) if probe_of[i] == probe_of[i + 1]]
        for i in sorted(gaps, key=joined.gap_places):
            joined.join_if_cheaper(i)
        budget = max(self.max_queries - len(self.probes), len(set(probe_of)))
        for i in sorted((i for i in gaps if not joined.joined(i)), key=joined.gap_places):
            if joined.count <= budget:
                break
            joined.join(i)
        return [
            key_range(pieces[first][0], pieces[last][1], after=pieces[first][2])
            for first, last in joined.groups()
        ]


def plan_queries(area: Coverable, max_queries: int = DEFAULT_MAX_QUERIES) -> Plan:
    """The first round of Queries for an area: every place in it lies in one of their spans.

    Cells are refined like an S2 region coverer: a precision-5 cell wholly inside the area
    stays whole, one crossing the edge is split bit by bit until its cells are small next to the
    area (precision 9 at most), and cells wholly outside are dropped. Cells touching in Z-order
    are joined. Then the smallest gaps between ranges of one partition are bridged while the
    ranges cover at most PROBE_AMPLIFICATION times the area: the fewest Queries at that bound,
    which is what a sparse area costs least with. While there are more than half `max_queries`
    ranges, more gaps are bridged (so the second round has room). A Query reads one partition,
    so every partition the area touches keeps at least one: in the Netherlands, past about 14.5
    km radius a circle touches more than 64 partitions (a 20 km circle about 110), and then the
    probes read everything at once, as there is no room left for a second round.

    Both rounds together make at most `max_queries` Queries, or up to two per partition for an
    area touching more than half that many partitions.
    """
    if max_queries < 1:
        raise ValueError("max_queries must be at least 1")
    intervals = touching_joined(cover(area))
    partitions = len({start >> TAIL_BITS for start, _ in intervals})
    south, north, _, _ = area.bounds()
    allowance = PROBE_AMPLIFICATION * area.area_m2() / position_m2((south + north) / 2) - sum(
        end - start + 1 for start, end in intervals
    )
    spans = _probe_spans(intervals, allowance, max(max_queries // 2, partitions))
    # With no Queries left for a second round, stopping a probe early would only split it in two.
    limit = PROBE_ITEMS if len(spans) < max_queries else None
    return Plan(
        tuple(key_range(span[0][0], span[-1][1], limit=limit) for span in spans),
        tuple(tuple(span) for span in spans),
        max_queries,
    )


def gather(
    area: Coverable,
    read: Callable[[Sequence[KeyRange]], Sequence[tuple[Sequence[T], str | None]]],
    max_queries: int = DEFAULT_MAX_QUERIES,
) -> list[T]:
    """Every row the two rounds of Queries return for the area.

    `read` runs a batch of Queries and answers, for each, its items and - for a Query that
    stopped at its limit - the sort key of its last item (None when it read everything).
    """
    plan = plan_queries(area, max_queries)
    rows: list[T] = []
    stops: list[Stop] = []
    for probe, (items, last_key) in enumerate(read(plan.probes)):
        rows.extend(items)
        if last_key is not None:
            stops.append(Stop(probe, last_key, len(items)))
    rest = plan.rest(stops)
    if rest:
        for items, _ in read(rest):
            rows.extend(items)
    return rows


def select_recipients(area: Coverable, rows: Iterable[T]) -> list[tuple[float, T]]:
    """The rows within the area, one per participant (their nearest place), nearest first.

    Nearest means by the area's own distance: to a circle's centre, a polygon's centroid, or a
    corridor's line.
    """
    nearest: dict[str, tuple[float, T]] = {}
    for row in rows:
        distance = area.distance_inside(row.lat, row.lon)
        if distance is None:
            continue
        known = nearest.get(row.participant_id)
        if known is None or distance < known[0]:
            nearest[row.participant_id] = (distance, row)
    return sorted(nearest.values(), key=lambda pair: (pair[0], pair[1].participant_id))


def query_units(items: int, item_bytes: int = PLACE_ITEM_BYTES) -> float:
    """Read units one Query returning this many items costs (eventually consistent)."""
    return max(1, math.ceil(items * item_bytes / READ_UNIT_BYTES)) * QUERY_UNITS


class _Joins:
    """Pieces of the second round joined into Queries: contiguous groups, by union of neighbours."""

    def __init__(self, pieces: list[Interval], density: list[float]) -> None:
        self.pieces = pieces
        self.density = density
        self.first = list(range(len(pieces)))  # per piece: the first piece of its group
        self.last = list(range(len(pieces)))  # per first piece: the last piece of its group
        self.count = len(pieces)

    def gap_places(self, i: int) -> float:
        """Places expected between piece i and the next."""
        return (self.pieces[i + 1][0] - self.pieces[i][1] - 1) * self.density[i]

    def joined(self, i: int) -> bool:
        """Whether piece i and the next are read by one Query."""
        return self._head(i) == self._head(i + 1)

    def join_if_cheaper(self, i: int) -> None:
        """Join the groups either side of gap i if one Query for both is expected to cost less."""
        left, right = self._head(i), self._head(i + 1)
        apart = self._units(left, self.last[left]) + self._units(right, self.last[right])
        if self._units(left, self.last[right]) <= apart:
            self.join(i)

    def join(self, i: int) -> None:
        """Read the groups either side of gap i with one Query."""
        left, right = self._head(i), self._head(i + 1)
        self.first[right] = left
        self.last[left] = self.last[right]
        self.count -= 1

    def groups(self) -> list[tuple[int, int]]:
        """(first piece, last piece) of every group, in key order."""
        heads = sorted({self._head(i) for i in range(len(self.pieces))})
        return [(head, self.last[head]) for head in heads]

    def _head(self, i: int) -> int:
        while self.first[i] != i:
            self.first[i] = self.first[self.first[i]]
            i = self.first[i]
        return i

    def _units(self, first: int, last: int) -> float:
        # Expected cost: each started 4 KB is a half unit, so rounding up costs half of one on
        # average; a Query costs at least one half unit.
        positions = self.pieces[last][1] - self.pieces[first][0] + 1
        size = positions * self.density[first] * PLACE_ITEM_BYTES
        return max(1.0, size / READ_UNIT_BYTES + 0.5)


def _probe_spans(intervals: list[Interval], allowance: float, cap: int) -> list[list[Interval]]:
    """The intervals grouped into probes: smallest gaps bridged within the allowance (positions).

    Bridging gaps never changes another gap, so bridging the smallest ones first makes the
    fewest ranges for the area read; past the allowance, gaps are still bridged while there are
    more than `cap` ranges. Ties go to the earlier gap, so plans are deterministic.
    """
    gaps = sorted(
        (intervals[i + 1][0] - intervals[i][1] - 1, i)
        for i in range(len(intervals) - 1)
        if intervals[i][0] >> TAIL_BITS == intervals[i + 1][0] >> TAIL_BITS
    )
    within = 0
    for size, _ in gaps:
        if size > allowance:
            break
        allowance -= size
        within += 1
    bridged = {i for _, i in heapq.nsmallest(max(within, len(intervals) - cap), gaps)}
    spans: list[list[Interval]] = []
    for i, interval in enumerate(intervals):
        if i - 1 in bridged:
            spans[-1].append(interval)
        else:
            spans.append([interval])
    return spans
