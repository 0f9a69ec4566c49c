"""The peer: awslabs/dynamodb-geo's radius query, run by its Python port `dynamodbgeo` (0.0.3).

The port's own `GeoDataManager.queryRadius` plans and filters: S2 cells covering the circle's
bounding box (s2sphere's RegionCoverer, at most 8 cells), each cell's range of leaf ids split by
hash key (the first `HASH_KEY_LENGTH` decimal digits of the id), one Query per piece on the
`geohash-index` LSI. Only the DynamoDB client it calls is ours: `PeerTable` answers those Queries
from the bench's own points, filed by the peer's keys, and counts what they read.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

from dynamodbgeo import (
    GeoDataManager,
    GeoDataManagerConfiguration,
    GeoPoint,
    QueryRadiusRequest,
    S2Manager,
)

from bench.memory_index import PlaceLike
from chalicelib.domain.geo.planning import query_units
from chalicelib.domain.geo.shapes import Circle

HASH_KEY_LENGTH = 6  # the setting docs/benchmarks.md's targeting comparison measured


class PeerTable:
    """The peer's table in memory, standing in for the boto3 client `dynamodbgeo` queries.

    Items are filed by hash key and sorted by geohash (the S2 leaf cell id), as the LSI sorts
    them; a Query reads one hash key's items with geohash BETWEEN min AND max.
    """

    def __init__(self, rows: Sequence[PlaceLike]) -> None:
        s2 = S2Manager()
        filed: dict[int, list[tuple[int, int]]] = {}
        for number, row in enumerate(rows):
            cell_id = s2.generateGeohash(GeoPoint(row.lat, row.lon))
            filed.setdefault(s2.generateHashKey(cell_id, HASH_KEY_LENGTH), []).append(
                (cell_id, number)
            )
            if number and number % 250_000 == 0:
                print(f"peer: filed {number:,} places", file=sys.stderr)
        self._rows = rows
        self._partitions = {key: sorted(items) for key, items in filed.items()}
        self._ids = {
            key: [cell_id for cell_id, _ in items] for key, items in self._partitions.items()
        }
        self.queries = 0
        self.items_read = 0
        self.read_units = 0.0

    def query(self, **params: Any) -> dict[str, Any]:
        """boto3's `query`, for the key condition `dynamodbgeo` sends."""
        values = params["ExpressionAttributeValues"]
        key = int(values[":hashKey"]["N"])
        low, high = int(values[":geohashMin"]["N"]), int(values[":geohashMax"]["N"])
        ids = self._ids.get(key, [])
        found = self._partitions.get(key, [])[bisect_left(ids, low) : bisect_right(ids, high)]
        self.queries += 1
        self.items_read += len(found)
        self.read_units += query_units(len(found))  # the same item size and pricing as ours
        return {
            "Items": [
                {"geoJson": {"S": f"{self._rows[n].lat},{self._rows[n].lon}"}} for _, n in found
            ]
        }

    def measure(self, circle: Circle) -> dict[str, float]:
        """What the peer's radius query reads for the circle."""
        self.queries = self.items_read = 0
        self.read_units = 0.0
        config = GeoDataManagerConfiguration(self, "places")
        config.hashKeyLength = HASH_KEY_LENGTH
        request = QueryRadiusRequest(
            GeoPoint(circle.lat, circle.lon), circle.radius_m, {}, sort=False
        )
        GeoDataManager(config).queryRadius(request)
        return {
            "queries": self.queries,
            "items_read": self.items_read,
            "read_units": self.read_units,
        }
