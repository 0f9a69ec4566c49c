"""An action as the public sees it (the feeds, its CAP messages, its page), and their words.

Public texts keep the dispatcher's own characters (ë, é, emoji): unlike SMS, they are never
folded to GSM-7.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from chalicelib.domain.geo.enclosing import enclosing_ring
from chalicelib.domain.geo.shapes import Circle, Corridor, Shape
from chalicelib.domain.geo.sphere import Ring, haversine_m
from chalicelib.domain.messages import incident_name
from chalicelib.domain.model import Incident, Language, Outcome

# A closed action stays in the Atom feed, and its CAP message and page stay up, this long.
SHOWN_AFTER_CLOSE = timedelta(hours=48)
# How long a browser or the CDN may keep a public answer before asking again (Cache-Control).
# Lists and running actions can change at any moment (a new action, an update, a close): a reader
# sees the change within half a minute, and each CDN cache asks us at most twice a minute.
CHANGING_MAX_AGE = timedelta(seconds=30)
# A closed action's CAP message and page never change again, only go (410) when its time on show
# is over: kept up to an hour, never past that moment. Also the CDN's ceiling (infra: MaxTTL).
FINAL_MAX_AGE = timedelta(hours=1)
HOST = re.compile(r"[a-z0-9.-]{1,253}")  # a host name as urlsplit gives it (lower case)
# Public coordinates have 3 decimals: about 111 m of latitude, 68 m of longitude at 52°N.
PUBLIC_DECIMALS = 3
# The farthest a rounded point can lie from the true one: half a cell's diagonal, largest at the
# equator (78.6 m). A fixed margin, not each point's own distance: a radius grown by exactly that
# distance would tell a reader how far from the rounded centre the true one is.
ROUNDING_MARGIN_M = math.ceil(
    haversine_m(0.0, 0.0, 0.5 / 10**PUBLIC_DECIMALS, 0.5 / 10**PUBLIC_DECIMALS)
)


@dataclass(frozen=True)
class Site:
    """Where the public side is served, and who signs its CAP messages."""

    url: str  # PUBLIC_URL, without a trailing /
    cap_sender: str
    callback_number: str

    def page(self, ref: str) -> str:
        """The action's public page."""
        return f"{self.url}/a/{ref}"

    def cap(self, ref: str) -> str:
        """The action's latest CAP message."""
        return f"{self.url}/public/actions/{ref}.cap"

    @property
    def feed(self) -> str:
        """The Atom index of the CAP messages."""
        return f"{self.url}/public/feed.atom"


@dataclass(frozen=True)
class Photo:
    """The action's photo at its two sizes (stable public URLs)."""

    large: str  # 1280 px
    small: str  # 320 px


@dataclass(frozen=True)
class Update:
    """A dispatcher's update, as published."""

    update_id: str
    at: datetime
    message: str | None  # None once redacted
    description: str | None  # the new description, if it changed


@dataclass(frozen=True)
class Bulletin:
    """One public state of an action (start, update or result): one CAP message. It has no id of
    its own: CAP names it by the action's reference and its place among the bulletins."""

    sent: datetime
    kind: str  # start | update | result
    update_id: str | None = None


@dataclass(frozen=True)
class PublicAction:
    """What may be shown of a public action; free text is None once redacted. The internal
    action id is not in it, so no public format can show it: the reference is the public name."""

    ref: str
    incident: Incident
    description: str | None  # the latest description (an update may have replaced it)
    place: str | None
    area: Shape  # a circle, a polygon or a corridor
    exercise: bool
    started: datetime
    expires: datetime
    closed: datetime | None
    outcome: Outcome | None
    result_message: str | None
    photo: Photo | None
    updates: tuple[Update, ...]  # oldest first
    bulletins: tuple[Bulletin, ...]  # oldest first, never empty

    @property
    def latest(self) -> Bulletin:
        """The newest public state: what the CAP URL serves."""
        return self.bulletins[-1]

    def update_of(self, bulletin: Bulletin) -> Update | None:
        """The dispatcher's update a bulletin published, if it published one."""
        return next((u for u in self.updates if u.update_id == bulletin.update_id), None)


_LOOKING_FOR = {Language.NL: "De politie zoekt:", Language.EN: "The police are looking for:"}
_REDACTED = {
    Language.NL: "De beschrijving is verwijderd.",
    Language.EN: "The description has been removed.",
}
_CALLBACK = {
    Language.NL: "Gezien? Bel direct gratis {callback} en noem ref. {ref}.",
    Language.EN: "Seen them? Call the free number {callback} right away and quote ref. {ref}.",
}
_ENDED = {Language.NL: "beëindigd", Language.EN: "ended"}
_EXERCISE = {Language.NL: "OEFENING", Language.EN: "EXERCISE"}


def event(incident: Incident, language: Language) -> str:
    """What happened, in a few words ("Inbraak", "Missing person")."""
    name = incident_name(incident, language)
    return name[:1].upper() + name[1:]


def title(action: PublicAction, language: Language) -> str:
    """ "Burgernet: inbraak in Utrecht", marked when it is an exercise or has ended."""
    text = f"Burgernet: {incident_name(action.incident, language)}"
    if action.place:
        text += f" in {action.place}"  # the same word in Dutch and English
    if action.closed:
        text += f" ({_ENDED[language]})"
    return exercise_marked(text, action.exercise, language)


def exercise_marked(text: str, exercise: bool, language: Language) -> str:
    """The text, led by "OEFENING –" when the action is a drill."""
    return f"{_EXERCISE[language]} – {text}" if exercise else text


def looking_for(action: PublicAction, language: Language) -> str:
    """ "De politie zoekt: …" with the latest description, or that it was removed."""
    if action.description is None:
        return _REDACTED[language]
    return f"{_LOOKING_FOR[language]} {action.description}"


def callback_line(ref: str, callback_number: str, language: Language) -> str:
    """ "Gezien? Bel direct gratis 0800-0011 en noem ref. …" """
    return _CALLBACK[language].format(callback=callback_number, ref=ref)


def number(value: float) -> str:
    """A coordinate or distance as a plain decimal, as exact as it was stored (no 1e-05)."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def kilometres(metres: float) -> str:
    """Metres as kilometres, exactly (CAP's circle radius)."""
    return format((Decimal(repr(float(metres))) / 1000).normalize(), "f")


def public_point(lat: float, lon: float) -> tuple[float, float]:
    """A point as the public sees it: to PUBLIC_DECIMALS, a cell of ~111 m by ~68 m at 52°N."""
    return round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)


def public_area(area: Shape) -> Shape:
    """The area as every public format gives it: no point more exact than ~100 m, grown by
    ROUNDING_MARGIN_M so it still holds all of the area dispatch targeted.

    A circle's centre, often the victim's home, and a corridor's line, which often starts there,
    are rounded. A polygon stays as drawn: its corners are the edges of a search area dispatch
    drew, not a place someone lives, and rounding them would cut off parts of it.
    """
    if isinstance(area, Circle):
        lat, lon = public_point(area.lat, area.lon)
        return Circle(lat, lon, math.ceil(area.radius_m + ROUNDING_MARGIN_M))
    if isinstance(area, Corridor):
        # Each rounded vertex lies within the margin of the true one, so every rounded segment
        # lies within it of the true segment: the buffer grown by it holds the whole corridor.
        line = tuple((lon, lat) for lat, lon in (public_point(p[1], p[0]) for p in area.line))
        return Corridor(line, math.ceil(area.buffer_m + ROUNDING_MARGIN_M))
    return area


def public_circle(area: Shape) -> tuple[float, float, float]:
    """(lat, lon, radius_m) of the one circle every public format gives: the public circle, or
    the circle around a polygon's outer ring or around a (rounded) corridor and the outline CAP
    gives it; its centre is never more exact than public_point."""
    shown = public_area(area)
    if isinstance(shown, Circle):
        return shown.lat, shown.lon, shown.radius_m
    # The radius is measured from the rounded centre, so a reader's circle holds every point.
    lat, lon = public_point(*area.centre)
    reach = max(haversine_m(lat, lon, p_lat, p_lon) for p_lon, p_lat in enclosing_ring(shown))
    if isinstance(shown, Corridor):  # the buffer itself, wherever the outline cuts a corner
        reach = max(
            reach,
            max(haversine_m(lat, lon, p_lat, p_lon) for p_lon, p_lat in shown.line)
            + shown.buffer_m,
        )
    return lat, lon, math.ceil(reach)


def polygon_text(ring: Ring) -> str:
    """A ring as CAP and the alert list write it: "lat,lon lat,lon ...", first point last too."""
    return " ".join(f"{number(round(lat, 6))},{number(round(lon, 6))}" for lon, lat in ring)


def web_origin(url: str) -> str | None:
    """The origin (scheme://host[:port]) of an absolute http(s) URL, for a CSP source list."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a port number
        return None
    if parts.scheme not in ("http", "https") or not HOST.fullmatch(parts.hostname or ""):
        return None
    return f"{parts.scheme}://{parts.hostname}{port}"


def max_age(action: PublicAction, now: datetime) -> timedelta:
    """How long the action's CAP message and page may be cached: CHANGING_MAX_AGE while it runs,
    up to FINAL_MAX_AGE once closed, never past the end of its time on show."""
    if action.closed is None:
        return CHANGING_MAX_AGE
    left = action.closed + SHOWN_AFTER_CLOSE - now
    return max(timedelta(0), min(FINAL_MAX_AGE, left))
