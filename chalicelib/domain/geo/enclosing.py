"""One closed ring around a shape, for formats that know only polygons: CAP, the public alerts."""

from __future__ import annotations

import math
from itertools import pairwise

from chalicelib.domain.geo.shapes import Corridor, Polygon
from chalicelib.domain.geo.sphere import METRES_PER_DEGREE, Ring

# Points on each round end of a corridor's outline; the arcs are drawn just outside the buffer.
_OUTLINE_CAP_STEPS = 8


def enclosing_ring(shape: Polygon | Corridor) -> Ring:
    """One closed ring (lon, lat) around the shape, for formats that know only polygons (CAP,
    the public alert list): a polygon's outer ring (holes cannot be said there, so a consumer
    includes them), or a corridor's buffer drawn around its line, never inside it except at a
    sharp bend's outer corner."""
    if isinstance(shape, Polygon):
        return shape.rings[0]
    return _corridor_outline(shape)


def _corridor_outline(corridor: Corridor) -> Ring:
    # Flat metres around the line's first point: a corridor is at most a few tens of km long.
    lon0, lat0 = corridor.line[0]
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    points: list[tuple[float, float]] = []
    for lon, lat in corridor.line:
        p = ((lon - lon0) * kx, (lat - lat0) * METRES_PER_DEGREE)
        if not points or p != points[-1]:
            points.append(p)
    reach = corridor.buffer_m / math.cos(math.pi / (2 * _OUTLINE_CAP_STEPS))

    def normal(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy)
        return -dy / length, dx / length  # to the left of a -> b

    def side(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """The offset of `path` to its left, with mitred joins (bevelled when very sharp)."""
        normals = [normal(a, b) for a, b in pairwise(path)]
        out = [(path[0][0] + reach * normals[0][0], path[0][1] + reach * normals[0][1])]
        for vertex, n1, n2 in zip(path[1:-1], normals, normals[1:], strict=False):
            mx, my = n1[0] + n2[0], n1[1] + n2[1]
            cos_half = math.hypot(mx, my) / 2  # cos of half the turn
            if cos_half > 0.25:
                scale = reach / (2 * cos_half * cos_half)
                out.append((vertex[0] + mx * scale, vertex[1] + my * scale))
            else:
                out += [(vertex[0] + reach * n[0], vertex[1] + reach * n[1]) for n in (n1, n2)]
        n = normals[-1]
        out.append((path[-1][0] + reach * n[0], path[-1][1] + reach * n[1]))
        return out

    def cap(centre: tuple[float, float], start: tuple[float, float]) -> list[tuple[float, float]]:
        """The half circle around `centre` from the left normal `start`, turning clockwise."""
        angle = math.atan2(start[1], start[0])
        return [
            (
                centre[0] + reach * math.cos(angle - math.pi * k / _OUTLINE_CAP_STEPS),
                centre[1] + reach * math.sin(angle - math.pi * k / _OUTLINE_CAP_STEPS),
            )
            for k in range(1, _OUTLINE_CAP_STEPS)
        ]

    if len(points) == 1:  # a line of one point: a circle
        ring = cap(points[0], (1.0, 0.0)) + cap(points[0], (-1.0, 0.0))
    else:
        back = points[::-1]
        ring = (
            side(points)
            + cap(points[-1], normal(points[-2], points[-1]))
            + side(back)
            + cap(points[0], normal(points[1], points[0]))
        )
    ring.append(ring[0])
    return tuple((lon0 + x / kx, lat0 + y / METRES_PER_DEGREE) for x, y in ring)
