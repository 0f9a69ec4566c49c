"""A reader of Burgernet's public alert list, written from what its published consumers do.

Not our code's idea of the list: the rules come from the consumers (docs/api.md, "Reading our
public feeds"). A Go dashboard decodes every field as a string (a number fails the whole list);
Home Assistant integrations and bots index Message, Media, Area and Location without a look;
the NL-Alert app keeps `State == "Actual"` and `Type` in (Alert, Update) and reads `Circle` as
"lat,lon km", with `CircleKM` when Circle has no radius; a Discord bot writes `<t:{Sent}:R>`,
which takes whole Unix seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.geo.sphere import haversine_m

# Burgernet's own keys and nesting (AmberLoader's fixtures of the live list), nothing more.
KEYS: dict[str, Any] = {
    "AlertId": None,
    "MessageId": None,
    "Sender": None,
    "Sent": None,
    "State": None,
    "Type": None,
    "Scope": None,
    "AlertLevel": None,
    "Location": {"Description": None, "Latitude": None, "Longitude": None},
    "Message": {
        "Title": None,
        "Description": None,
        "DescriptionExt": None,
        "Readmore_URL": None,
        "Media_URL": None,
        "Media": {"Image": None, "SmallImage": None},
    },
    "Area": {"Description": None, "Circle": None, "CircleKM": None},
}
SHOWN_TYPES = ("Alert", "Update")
NATIONAL = "10"


class NotBurgernet(ValueError):
    """The body is not a list its consumers can read."""


@dataclass(frozen=True)
class Shown:
    """One alert a consumer shows."""

    alert_id: str
    kind: str
    title: str | None
    description: str | None
    sent: int  # Unix seconds
    circle: tuple[float, float, float] | None  # lat, lon, radius in metres; None: national

    def covers(self, lat: float, lon: float) -> bool:
        """Whether a reader at (lat, lon) is inside the alert's circle."""
        if self.circle is None:
            return True
        c_lat, c_lon, radius_m = self.circle
        return haversine_m(c_lat, c_lon, lat, lon) <= radius_m


def decode(body: str | bytes) -> list[dict[str, Any]]:
    """The list, strictly: a bare array of items with exactly Burgernet's keys, every value a
    string or null, and its four objects never null."""
    items = json.loads(body)
    if not isinstance(items, list):
        raise NotBurgernet(f"the list is a bare JSON array, not {type(items).__name__}")
    for index, item in enumerate(items):
        _strict(item, KEYS, f"[{index}]")
    return items


def _strict(value: Any, shape: dict[str, Any], path: str) -> None:
    if not isinstance(value, dict):
        raise NotBurgernet(f"{path} is an object, never {json.dumps(value)}")
    for key, inner in value.items():
        if isinstance(shape.get(key), dict):
            _strict(inner, shape[key], f"{path}.{key}")
        elif inner is not None and not isinstance(inner, str):
            raise NotBurgernet(f"{path}.{key} is a string or null, not {json.dumps(inner)}")
    if set(value) != set(shape):
        raise NotBurgernet(f"{path} has keys {sorted(value)}, not {sorted(shape)}")


def circle(area: dict[str, Any]) -> tuple[float, float, float]:
    """(lat, lon, radius in metres) from Circle "lat,lon km", CircleKM when it has no radius."""
    text = area["Circle"]
    if text is None:
        raise NotBurgernet("a regional alert (not AlertLevel 10) has a Circle")
    centre, *radius = text.split(" ")
    lat, lon = (float(part) for part in centre.split(","))
    km = float(radius[0] if radius else area["CircleKM"])
    if not all(math.isfinite(x) for x in (lat, lon, km)):
        raise NotBurgernet(f"Circle {text!r} is not three numbers")
    return lat, lon, km * 1000


def shown(body: str | bytes) -> list[Shown]:
    """The alerts a consumer shows, in the list's order."""
    kept = []
    for item in decode(body):
        if item["State"] != "Actual" or item["Type"] not in SHOWN_TYPES:
            continue
        message = item["Message"]
        kept.append(
            Shown(
                alert_id=item["AlertId"],
                kind=item["Type"],
                title=message["Title"],
                description=message["Description"],
                sent=int(item["Sent"]),  # as <t:{Sent}:R> needs it: whole seconds
                circle=None if item["AlertLevel"] == NATIONAL else circle(item["Area"]),
            )
        )
    return kept
