"""The covering of an area by geohash cells: the precision-9 intervals that may hold its points.

An area is anything `Coverable`: circles, polygons and corridors in `shapes`.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Protocol

from chalicelib.domain.geo.keys import PARTITION_BITS, PLACE_BITS, TAIL_BITS, partition_cells
from chalicelib.domain.geo.sphere import METRES_PER_DEGREE, Box

# A cell may hold a point of the area unless it lies beyond the edge by more than REL of the size
# (radius, buffer) plus ABS; the same margin, inward, decides that a cell is wholly inside. The
# tests of cells are exact, so the margin only absorbs floating-point rounding and a position read
# back slightly off the one its key was computed from: cheap insurance, since a missed cell is a
# missed participant while an extra cell only costs reads.
EDGE_MARGIN_REL = 0.001
EDGE_MARGIN_M = 2.0

Interval = tuple[int, int]  # inclusive precision-9 positions


class Fit(Enum):
    """Where a cell lies with respect to an area."""

    OUTSIDE = "outside"
    INSIDE = "inside"
    EDGE = "edge"


class Fitter(Protocol):
    """Tells where a cell lies; `fit` also returns the fitter for the cell's own children."""

    def fit(self, box: Box) -> tuple[Fit, Fitter]: ...


class Coverable(Protocol):
    """An area the covering can plan Queries for and select recipients in."""

    def bounds(self) -> Box:
        """A lat/lon box holding every point of the area, margin included."""
        ...

    def area_m2(self) -> float:
        """The area's size in square metres (an estimate is enough: it sizes reads)."""
        ...

    def detail_m(self) -> float:
        """The size edge cells are refined to."""
        ...

    def fitter(self) -> Fitter:
        """The fitter for the partition cells."""
        ...

    def distance_inside(self, lat: float, lon: float) -> float | None:
        """The distance recipients are ordered by, for a point in the area; None outside it."""
        ...


def cover(area: Coverable) -> list[Interval]:
    """Inclusive precision-9 intervals of the cells that may hold a point of the area."""
    south, north, west, east = area.bounds()
    max_bits = _finest_bits(area.detail_m(), (south + north) / 2)
    root = area.fitter()
    covering: list[Interval] = []
    # Depth-first over (code, bits, box, fitter); sorted into Z-order at the end.
    stack = [(code, PARTITION_BITS, box, root) for code, box in partition_cells(area.bounds())]
    while stack:
        code, bits, box, fitter = stack.pop()
        fit, fitter = fitter.fit(box)
        if fit is Fit.OUTSIDE:
            continue
        shift = PLACE_BITS - bits
        if bits >= max_bits or fit is Fit.INSIDE:
            covering.append((code << shift, ((code + 1) << shift) - 1))
            continue
        # Bit n+1 halves longitude when n is even (geohash starts with longitude), else latitude;
        # a 1 bit is the upper half, as the geohash encoder files a point on the midpoint in the
        # lower one.
        south, north, west, east = box
        if bits % 2 == 0:
            mid = (west + east) / 2
            stack.append((code << 1, bits + 1, (south, north, west, mid), fitter))
            stack.append(((code << 1) | 1, bits + 1, (south, north, mid, east), fitter))
        else:
            mid = (south + north) / 2
            stack.append((code << 1, bits + 1, (south, mid, west, east), fitter))
            stack.append(((code << 1) | 1, bits + 1, (mid, north, west, east), fitter))
    covering.sort()
    return covering


def touching_joined(intervals: list[Interval]) -> list[Interval]:
    """Sorted intervals with neighbours in one partition that touch in Z-order made one."""
    joined: list[Interval] = []
    for start, end in intervals:
        if (
            joined
            and start == joined[-1][1] + 1
            and start >> TAIL_BITS == joined[-1][1] >> TAIL_BITS
        ):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def position_m2(lat: float) -> float:
    """The area of one precision-9 cell at this latitude."""
    width = 360.0 / 2.0 ** ((PLACE_BITS + 1) // 2) * METRES_PER_DEGREE
    height = 180.0 / 2.0 ** (PLACE_BITS // 2) * METRES_PER_DEGREE
    return width * height * math.cos(math.radians(lat))


def _finest_bits(detail_m: float, lat: float) -> int:
    """The bit length at which edge cells are at most `detail_m` on their longer side."""
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    for bits in range(PARTITION_BITS, PLACE_BITS):
        width = 360.0 / 2 ** ((bits + 1) // 2) * METRES_PER_DEGREE * cos_lat
        height = 180.0 / 2 ** (bits // 2) * METRES_PER_DEGREE
        if max(width, height) <= detail_m:
            return bits
    return PLACE_BITS
