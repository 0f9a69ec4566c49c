"""Rings of positions, straight in longitude and latitude as RFC 7946 draws them: their crossings,
areas and centroids, and whether a position lies inside one."""

from __future__ import annotations

from itertools import pairwise

from chalicelib.domain.geo.sphere import Position, Ring, signed_ring_area_m2


def first_crossing(rings: tuple[Ring, ...]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Two edges (ring, index of their first position) that touch or cross, if any.

    Neighbouring edges of a ring share a position, and that is allowed. One folding back over
    the other needs no test of its own: the edge after the fold starts on the edge before it
    (or, in a triangle, the ring encloses nothing). Edges are swept in order of their western
    end, so only edges whose longitudes overlap are compared.
    """
    edges = sorted(
        (min(a[0], b[0]), max(a[0], b[0]), r, i, a, b)
        for r, ring in enumerate(rings)
        for i, (a, b) in enumerate(pairwise(ring))
    )
    for j, (_, east, r1, i1, a1, b1) in enumerate(edges):
        for west, _, r2, i2, a2, b2 in edges[j + 1 :]:
            if west > east:
                break
            if r1 == r2 and _neighbours(i1, i2, len(rings[r1]) - 1):
                continue
            if _segments_meet(a1, b1, a2, b2):
                first, second = sorted([(r1, i1), (r2, i2)])
                return first, second
    return None


def ring_area_m2(ring: Ring) -> float:
    """The area one ring encloses, on the sphere."""
    return abs(signed_ring_area_m2(ring))


def planar_centroid(ring: Ring) -> tuple[float, float, float]:
    """Signed lon/lat area and centroid of one ring (shoelace)."""
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in pairwise(ring):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    area /= 2
    if area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return area, cx / (6 * area), cy / (6 * area)


def segment_meets_box(
    edge: tuple[float, float, float, float], south: float, north: float, west: float, east: float
) -> bool:
    """Whether a straight lon/lat segment meets the box (Liang-Barsky clipping)."""
    x1, y1, x2, y2 = edge
    if max(x1, x2) < west or min(x1, x2) > east or max(y1, y2) < south or min(y1, y2) > north:
        return False
    dx, dy = x2 - x1, y2 - y1
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x1 - west), (dx, east - x1), (-dy, y1 - south), (dy, north - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _neighbours(i: int, j: int, edges: int) -> bool:
    return abs(i - j) == 1 or {i, j} == {0, edges - 1}


def _orientation(a: Position, b: Position, c: Position) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Position, b: Position, c: Position) -> bool:
    """Whether c, collinear with a and b, lies within their box."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def _segments_meet(a: Position, b: Position, c: Position, d: Position) -> bool:
    """Whether closed segments ab and cd share a point."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if ((o1 > 0 and o2 < 0) or (o1 < 0 and o2 > 0)) and (
        (o3 > 0 and o4 < 0) or (o3 < 0 and o4 > 0)
    ):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )
