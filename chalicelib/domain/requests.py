"""Validation of the dispatch API's inputs: JSON in, typed requests out, or a clear InvalidInput."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.domain import messages
from chalicelib.domain.errors import InvalidInput, PayloadTooLarge
from chalicelib.domain.geo.geojson import to_geojson
from chalicelib.domain.geo.rings import first_crossing, ring_area_m2
from chalicelib.domain.geo.shapes import Circle, Corridor, Polygon, Shape, ring_contains
from chalicelib.domain.geo.sphere import Ring
from chalicelib.domain.model import Channel, Incident, Outcome

MAX_BODY_BYTES = 16 * 1024  # far above any valid request; refuses junk before parsing it
MAX_DISPATCH_BODY_BYTES = 64 * 1024  # an area of 500 vertices is about 21 KB of JSON
MIN_RADIUS_M, MAX_RADIUS_M = 100, 20_000
MAX_VERTICES = 500
MIN_BUFFER_M, MAX_BUFFER_M = 50, 2_000
MAX_AREA_M2 = math.pi * MAX_RADIUS_M**2  # a shape may be as large as the largest circle
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 5, 480, 60
MAX_PLACE = 80  # characters of an area's name
MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT = 100, 25

# The service area: a box around the European Netherlands, Wadden islands and Zuid-Limburg included.
SERVICE_AREA = {"lat": (50.75, 53.70), "lon": (3.20, 7.25)}

E = TypeVar("E", Incident, Outcome, Channel)

CLOSE_OUTCOMES = tuple(o for o in Outcome if o is not Outcome.EXPIRED)


@dataclass(frozen=True)
class ActionRequest:
    """A validated request to start an action."""

    incident: Incident
    description: str
    area: Shape
    duration_minutes: int
    channels: tuple[Channel, ...]
    public: bool = True  # shown in the public feeds, on its page and on social networks
    exercise: bool = False  # a drill: its public messages say so (CAP status Test)
    place: str | None = None  # the area's name for people; else the municipality's

    def fingerprint(self) -> str:
        """A stable text of the request, to tell a retry from a different request."""
        return json.dumps(
            {
                "incident": self.incident.value,
                "description": self.description,
                "area": (
                    [self.area.lat, self.area.lon, self.area.radius_m]
                    if isinstance(self.area, Circle)
                    else to_geojson(self.area)
                ),
                "duration_minutes": self.duration_minutes,
                "channels": sorted(c.value for c in self.channels),
                "public": self.public,
                "exercise": self.exercise,
                "place": self.place,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class UpdateRequest:
    """A validated update during an action: a message, and perhaps a new description."""

    message: str
    description: str | None = None


@dataclass(frozen=True)
class CloseRequest:
    """A validated request to close an action."""

    outcome: Outcome
    message: str | None


def parse_json_object(raw: bytes | str | None, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Decode a request body that must be one JSON object."""
    if isinstance(raw, str):
        raw = raw.encode()
    if raw is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(
            "body_too_large", f"The body is {len(raw)} bytes; at most {max_bytes} are allowed."
        )
    if not raw:
        raise InvalidInput("missing_body", "The request needs a JSON object as its body.")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("malformed_json", f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidInput("malformed_json", "The body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise InvalidInput("invalid_body", "The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def check_fields(body: Mapping[str, Any], allowed: Sequence[str], where: str = "") -> None:
    """Refuse fields the request does not know (typos would otherwise be silently ignored)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(
            "unknown_field",
            f"Unknown field '{where}{unknown[0]}'; allowed fields are: {', '.join(allowed)}.",
            field=f"{where}{unknown[0]}",
        )


def required(body: Mapping[str, Any], name: str, where: str = "") -> Any:
    """The value of a required field, or InvalidInput naming it."""
    if name not in body or body[name] is None:
        raise InvalidInput(
            "missing_field", f"The field {where}{name} is required.", f"{where}{name}"
        )
    return body[name]


def _is_number(value: Any) -> bool:
    # bool is an int to Python, not to a caller; ints are compared as ints (10**400 stays exact).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _number(value: Any, field: str, low: float, high: float, unit: str = "") -> float:
    if not _is_number(value):
        raise InvalidInput("wrong_type", f"{field} must be a number.", field)
    if not low <= value <= high:
        raise InvalidInput(
            "out_of_range", f"{field} is {value}{unit}; allowed is {low}–{high}{unit}.", field
        )
    return float(value)


def _integer(value: Any, field: str, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("wrong_type", f"{field} must be a whole number.", field)
    _number(value, field, low, high, unit)
    return value


def _choice(
    value: Any, field: str, kind: type[E], allowed: Sequence[E], noun: str | None = None
) -> E:
    noun = noun or field
    names = ", ".join(a.value for a in allowed)
    if not isinstance(value, str):
        raise InvalidInput("wrong_type", f"{field} must be a string, one of: {names}.", field)
    try:
        choice = kind(value)
    except ValueError:
        choice = None
    if choice is None or choice not in allowed:
        raise InvalidInput(f"unknown_{noun}", f"Unknown {noun} {value!r}; allowed: {names}.", field)
    return choice


def parse_area(value: Any) -> Shape:
    """Validate an area: a circle, or a GeoJSON Polygon or LineString, inside the service area."""
    if not isinstance(value, dict):
        raise InvalidInput(
            "wrong_type",
            "area must be an object: a circle (lat, lon, radius_m), or a GeoJSON Polygon, or a "
            "LineString with buffer_m.",
            "area",
        )
    if "type" in value:
        return _parse_geometry(value)
    check_fields(value, ("lat", "lon", "radius_m"), "area.")
    (lat_lo, lat_hi), (lon_lo, lon_hi) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
    lat = required(value, "lat", "area.")
    lon = required(value, "lon", "area.")
    radius = required(value, "radius_m", "area.")
    for name, coord, (lo, hi) in (("lat", lat, (lat_lo, lat_hi)), ("lon", lon, (lon_lo, lon_hi))):
        if not _is_number(coord):
            raise InvalidInput("wrong_type", f"area.{name} must be a number.", f"area.{name}")
        if not lo <= coord <= hi:
            raise InvalidInput(
                "outside_service_area",
                f"area.{name} {coord} is outside the service area (the Netherlands): "
                f"lat {lat_lo}–{lat_hi}, lon {lon_lo}–{lon_hi}.",
                f"area.{name}",
            )
    radius_m = _number(radius, "area.radius_m", MIN_RADIUS_M, MAX_RADIUS_M, " m")
    return Circle(lat=float(lat), lon=float(lon), radius_m=radius_m)


def _parse_geometry(value: dict[str, Any]) -> Polygon | Corridor:
    """A GeoJSON Polygon, or a LineString with buffer_m (a corridor), checked rule by rule."""
    kind = value["type"]
    if kind == "Polygon":
        check_fields(value, ("type", "coordinates"), "area.")
        raw = required(value, "coordinates", "area.")
        if not isinstance(raw, list) or not raw:
            raise _invalid(
                "area.coordinates must be a list of rings: the outer ring, then any holes.",
                "area.coordinates",
            )
        rings = tuple(_ring(ring, f"area.coordinates[{r}]") for r, ring in enumerate(raw))
        vertices = sum(len(ring) - 1 for ring in rings)  # a ring's closing position repeats
        if vertices > MAX_VERTICES:
            raise _invalid(
                f"area has {vertices} vertices; at most {MAX_VERTICES} are allowed (the closing "
                "position of a ring is not counted). Simplify the outline.",
                "area.coordinates",
            )
        _check_rings(rings)
        polygon = Polygon(rings)
        _check_size(polygon.area_m2(), "area encloses")
        return polygon
    if kind == "LineString":
        check_fields(value, ("type", "coordinates", "buffer_m"), "area.")
        raw = required(value, "coordinates", "area.")
        if not isinstance(raw, list) or len(raw) < 2:
            raise _invalid(
                "area.coordinates must list at least two [lon, lat] positions along the line.",
                "area.coordinates",
            )
        if len(raw) > MAX_VERTICES:
            raise _invalid(
                f"area has {len(raw)} vertices; at most {MAX_VERTICES} are allowed. Simplify "
                "the line.",
                "area.coordinates",
            )
        line = _positions(raw, "area.coordinates")
        buffer = required(value, "buffer_m", "area.")
        if not _is_number(buffer) or not MIN_BUFFER_M <= buffer <= MAX_BUFFER_M:
            raise _invalid(
                f"area.buffer_m is {buffer!r}; it is the distance either side of the line, "
                f"{MIN_BUFFER_M}–{MAX_BUFFER_M} m.",
                "area.buffer_m",
            )
        corridor = Corridor(line, float(buffer))
        _check_size(corridor.area_m2(), "the corridor (2 × buffer_m × length + the ends) covers")
        return corridor
    raise _invalid(
        f"area.type {kind!r} is not an area; use Polygon or LineString (GeoJSON), or give a "
        "circle as lat, lon and radius_m without a type.",
        "area.type",
    )


def _invalid(message: str, field: str) -> InvalidInput:
    return InvalidInput("invalid_area", message, field)


def _positions(raw: list[Any], where: str) -> tuple[tuple[float, float], ...]:
    """[lon, lat] positions inside the service area, none repeating the one before it."""
    (lat_lo, lat_hi), (lon_lo, lon_hi) = SERVICE_AREA["lat"], SERVICE_AREA["lon"]
    positions: list[tuple[float, float]] = []
    for i, position in enumerate(raw):
        field = f"{where}[{i}]"
        if not (
            isinstance(position, list) and len(position) == 2 and all(map(_is_number, position))
        ):
            raise _invalid(f"{field} must be a position: [lon, lat], two numbers.", field)
        # Compared before float(): an integer like 10**400 is valid JSON and too large for one.
        if not (lon_lo <= position[0] <= lon_hi and lat_lo <= position[1] <= lat_hi):
            raise _invalid(
                f"{field} [{position[0]}, {position[1]}] is outside the service area (the "
                f"Netherlands): lon {lon_lo}–{lon_hi}, lat {lat_lo}–{lat_hi}, in GeoJSON's "
                "[lon, lat] order.",
                field,
            )
        lon, lat = float(position[0]), float(position[1])
        if positions and positions[-1] == (lon, lat):
            raise _invalid(f"{field} repeats the position before it; leave it out.", field)
        positions.append((lon, lat))
    return tuple(positions)


def _ring(raw: Any, where: str) -> Ring:
    """One closed ring of at least three distinct vertices."""
    if not isinstance(raw, list) or len(raw) < 4:
        raise _invalid(
            f"{where} must be a ring: at least four [lon, lat] positions, the last equal to "
            "the first.",
            where,
        )
    ring = _positions(raw, where)
    if ring[0] != ring[-1]:
        raise _invalid(f"{where} is not closed: its last position must equal its first.", where)
    return ring


def _check_rings(rings: tuple[Ring, ...]) -> None:
    """Rings that enclose an area, touch nothing but their own neighbouring edges, holes inside."""
    crossing = first_crossing(rings)
    if crossing is not None:
        (r1, i1), (r2, i2) = crossing
        where = "itself" if r1 == r2 else f"ring {r2}"
        raise _invalid(
            f"area.coordinates[{r1}]: the edge from position {i1} to {i1 + 1} meets {where} at "
            f"the edge from position {i2} to {i2 + 1}; a ring must not cross or touch itself "
            "or another ring.",
            f"area.coordinates[{r1}][{i1}]",
        )
    for r, ring in enumerate(rings):
        if ring_area_m2(ring) < 1.0:  # all its positions on one line
            raise _invalid(f"area.coordinates[{r}] encloses no area.", f"area.coordinates[{r}]")
    outer, holes = rings[0], rings[1:]
    for h, hole in enumerate(holes, start=1):
        if not ring_contains(outer, hole[0]):
            raise _invalid(
                f"area.coordinates[{h}] is a hole outside the outer ring (area.coordinates[0]).",
                f"area.coordinates[{h}]",
            )
        for o, other in enumerate(holes, start=1):
            if o != h and ring_contains(other, hole[0]):
                raise _invalid(
                    f"area.coordinates[{h}] is a hole inside another hole (area.coordinates[{o}]).",
                    f"area.coordinates[{h}]",
                )


def _check_size(area_m2: float, what: str) -> None:
    if area_m2 > MAX_AREA_M2:
        raise _invalid(
            f"{what} {area_m2 / 1e6:,.0f} km²; at most {MAX_AREA_M2 / 1e6:,.0f} km² (a circle of "
            f"{MAX_RADIUS_M // 1000} km) is allowed.",
            "area",
        )


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("wrong_type", f"{field} must be a string.", field)
    return " ".join(value.split())


def parse_action_request(
    body: Mapping[str, Any], available: Sequence[Channel], callback_number: str
) -> ActionRequest:
    """Validate a POST /actions body against the channels this deployment has."""
    check_fields(
        body,
        (
            "incident",
            "description",
            "area",
            "duration_minutes",
            "channels",
            "public",
            "exercise",
            "place",
        ),
    )
    incident = _choice(required(body, "incident"), "incident", Incident, list(Incident))
    description = _description(required(body, "description"), incident, callback_number)
    area = parse_area(required(body, "area"))
    duration = body.get("duration_minutes", DEFAULT_DURATION)
    duration_minutes = _integer(duration, "duration_minutes", MIN_DURATION, MAX_DURATION, " min")
    raw_channels = body.get("channels", [c.value for c in available])
    if not isinstance(raw_channels, list) or not raw_channels:
        raise InvalidInput(
            "wrong_type",
            f"channels must be a non-empty list; available: {', '.join(available)}.",
            "channels",
        )
    channels = tuple(
        dict.fromkeys(_choice(c, "channels", Channel, available, "channel") for c in raw_channels)
    )
    place = body.get("place")
    if place is not None:
        place = _text(place, "place")
        if not 1 <= len(place) <= MAX_PLACE:
            raise InvalidInput(
                "invalid_place",
                f"place must be the area's name in 1–{MAX_PLACE} characters, e.g. "
                '"Utrecht, Binnenstad".',
                "place",
            )
    return ActionRequest(
        incident,
        description,
        area,
        duration_minutes,
        channels,
        public=_flag(body, "public", default=True),
        exercise=_flag(body, "exercise", default=False),
        place=place,
    )


def _description(value: Any, incident: Incident, callback_number: str) -> str:
    """The description of whom to look out for: it must fit the alert it goes into."""
    description = _text(value, "description")
    if not messages.to_gsm7(description).strip(" ?"):  # nothing a reader would see
        raise InvalidInput(
            "empty_description",
            "description is empty; describe the person or vehicle to look out for.",
            "description",
        )
    overflow = messages.description_overflow(incident, description, callback_number)
    if overflow:
        raise InvalidInput(
            "description_too_long",
            f"description is {overflow} characters too long: the alert must fit in "
            f"{messages.MAX_SEGMENTS} SMS segments in every language.",
            "description",
        )
    return description


def _flag(body: Mapping[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidInput("wrong_type", f"{field} must be true or false.", field)
    return value


def parse_update_request(
    body: Mapping[str, Any], incident: Incident, callback_number: str
) -> UpdateRequest:
    """Validate a POST /actions/{id}/updates body for an action of this incident."""
    check_fields(body, ("message", "description"))
    message = _text(required(body, "message"), "message")
    if not messages.to_gsm7(message).strip(" ?"):
        raise InvalidInput(
            "empty_message", "message is empty; say what changed or what to look for.", "message"
        )
    overflow = messages.update_message_overflow(incident, message, callback_number)
    if overflow:
        raise InvalidInput(
            "message_too_long",
            f"message is {overflow} characters too long: the update must fit in "
            f"{messages.MAX_SEGMENTS} SMS segments in every language.",
            "message",
        )
    description = body.get("description")
    if description is not None:
        description = _description(description, incident, callback_number)
    return UpdateRequest(message, description)


def parse_close_request(body: Mapping[str, Any]) -> CloseRequest:
    """Validate a POST /actions/{id}/close body."""
    check_fields(body, ("outcome", "message"))
    outcome = _choice(required(body, "outcome"), "outcome", Outcome, CLOSE_OUTCOMES)
    message = body.get("message")
    if message is not None:
        message = _text(message, "message") or None
    if message:
        overflow = messages.result_message_overflow(outcome, message)
        if overflow:
            raise InvalidInput(
                "message_too_long",
                f"message is {overflow} characters too long: the result must fit in "
                f"{messages.MAX_SEGMENTS} SMS segments in every language.",
                "message",
            )
    return CloseRequest(outcome, message)


def parse_reach_request(body: Mapping[str, Any]) -> Shape:
    """Validate a POST /reach body."""
    check_fields(body, ("area",))
    return parse_area(required(body, "area"))


def parse_list_query(params: Mapping[str, str] | None) -> tuple[str, int, str | None]:
    """Validate GET /actions query parameters: status, limit and the page token."""
    params = params or {}
    limit, page = parse_page_query(params, ("status",))
    status = params.get("status", "active")
    if status not in ("active", "closed"):
        raise InvalidInput(
            "unknown_status", f"Unknown status {status!r}; allowed: active, closed.", "status"
        )
    return status, limit, page


def parse_page_query(
    params: Mapping[str, str] | None, extra: tuple[str, ...] = ()
) -> tuple[int, str | None]:
    """Validate a list route's `limit` and `next` (and refuse parameters other than `extra`)."""
    params = params or {}
    check_fields(params, (*extra, "limit", "next"))
    raw_limit = params.get("limit", str(DEFAULT_LIST_LIMIT))
    if (
        not (raw_limit.isascii() and raw_limit.isdigit())
        or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT
    ):
        raise InvalidInput(
            "out_of_range", f"limit is {raw_limit!r}; allowed is 1–{MAX_LIST_LIMIT}.", "limit"
        )
    return int(raw_limit), params.get("next")
