"""Geohash keys of the geo index: a place's partition and sort keys, and the Queries' key ranges.

The geo index holds one item per participant place: partition key `cell` is the place's geohash of
precision 5, sort key `sk` is "<geohash 9>#<participant id>#<label>". Geohash interleaves
longitude and latitude bits (longitude first), so a cell of any *bit* length - not only whole
characters - is one contiguous run of precision-9 geohashes, and the base32 alphabet is in ASCII
order: such a run is one `sk BETWEEN lower AND upper` on its partition. Covering and planning work
on integers: a position is the 45-bit number of its precision-9 geohash, and a cell of n bits runs
from `code << (45 - n)` up to the next cell's start.

geohash2 encodes the keys; decoding them into positions and cells is ours, on the same bisection
(a property test holds the two together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geohash2

from chalicelib.domain.geo.sphere import Box

PARTITION_PRECISION = 5
PLACE_PRECISION = 9
PARTITION_BITS = 5 * PARTITION_PRECISION
PLACE_BITS = 5 * PLACE_PRECISION
TAIL_BITS = PLACE_BITS - PARTITION_BITS  # precision-9 bits below a partition

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_UPPER_SENTINEL = "~"  # sorts after every base32 character and after "#"


@dataclass(frozen=True)
class KeyRange:
    """One DynamoDB Query: partition key and inclusive BETWEEN bounds on the sort key.

    `limit` stops it after that many items (a first-round Query); `after` starts it after the
    item with that sort key (DynamoDB's ExclusiveStartKey), where a first-round Query stopped.
    """

    partition: str
    lower: str
    upper: str
    limit: int | None = None
    after: str | None = None


def place_cell(lat: float, lon: float) -> str:
    """The partition key of a place: its geohash of precision 5."""
    return _encode(lat, lon, PARTITION_PRECISION)


def place_sort_key(lat: float, lon: float, participant_id: str, label: str) -> str:
    """The sort key of a place: geohash 9, participant id and label, so Z-order is key order."""
    return f"{_encode(lat, lon, PLACE_PRECISION)}#{participant_id}#{label}"


def key_range(start: int, end: int, limit: int | None = None, after: str | None = None) -> KeyRange:
    """The Query for precision-9 positions start..end, one partition, with short bounds."""
    lower, upper = geohash_of(start), geohash_of(end)
    # "abc" sorts before every "abc0..." and "abc~" after every "abczz...": trailing 0s of the
    # lower bound and trailing zs of the upper bound add nothing, so they are left off.
    lower = lower[:PARTITION_PRECISION] + lower[PARTITION_PRECISION:].rstrip("0")
    upper = upper[:PARTITION_PRECISION] + upper[PARTITION_PRECISION:].rstrip("z")
    return KeyRange(lower[:PARTITION_PRECISION], lower, upper + _UPPER_SENTINEL, limit, after)


def geohash_of(position: int) -> str:
    """The precision-9 geohash of a position (its 45-bit number)."""
    return "".join(
        _BASE32[(position >> (PLACE_BITS - 5 * (i + 1))) & 31] for i in range(PLACE_PRECISION)
    )


def position_of(sort_key: str) -> int:
    """The precision-9 position a sort key files its place at."""
    position = 0
    for char in sort_key[:PLACE_PRECISION]:
        position = (position << 5) | _BASE32.index(char)
    return position


def partition_cells(bounds: Box) -> list[tuple[int, Box]]:
    """Every precision-5 cell meeting the lat/lon box, with its own box."""
    south, north, west, east = bounds
    lon_bits, lat_bits = (PARTITION_BITS + 1) // 2, PARTITION_BITS // 2
    lon_step, lat_step = 360.0 / 2**lon_bits, 180.0 / 2**lat_bits
    first = math.floor((west + 180.0) / lon_step)
    last = math.floor((east + 180.0) / lon_step)
    columns = range(first, min(last, first + 2**lon_bits - 1) + 1)
    rows = range(
        max(math.floor((south + 90.0) / lat_step), 0),
        min(math.floor((north + 90.0) / lat_step), 2**lat_bits - 1) + 1,
    )
    cells = []
    for column in columns:
        x = column % 2**lon_bits
        for y in rows:
            box = (
                -90.0 + y * lat_step,
                -90.0 + (y + 1) * lat_step,
                -180.0 + x * lon_step,
                -180.0 + (x + 1) * lon_step,
            )
            cells.append((_interleave(x, y, PARTITION_BITS), box))
    return cells


def _encode(lat: float, lon: float, precision: int) -> str:
    # geohash2 files a point on a midpoint in the lower half, as the covering's bisection does.
    code: str = geohash2.encode(lat, lon, precision)
    return code


def _interleave(x: int, y: int, bits: int) -> int:
    """The geohash code of longitude index x and latitude index y: lon, lat, lon... from the top."""
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    code = 0
    for k in range(bits):
        bit = x >> (lon_bits - 1 - k // 2) if k % 2 == 0 else y >> (lat_bits - 1 - k // 2)
        code = (code << 1) | (bit & 1)
    return code
