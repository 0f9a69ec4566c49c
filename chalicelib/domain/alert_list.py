"""Burgernet's public alert list (services.burgernet.nl/landactiehost/api/v1/alerts), item by item.

Displays, Home Assistant integrations and bots read that list today, so ours keeps its keys, its
nesting and its types: every value a string or null, and Message, Media, Area and Location always
objects (consumers index into them without looking). docs/api.md, "Reading our public feeds".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.cap import description as cap_description
from chalicelib.domain.messages import outcome_sentence
from chalicelib.domain.model import Language, Stage
from chalicelib.domain.public import (
    PublicAction,
    Site,
    callback_line,
    event,
    exercise_marked,
    kilometres,
    number,
    public_circle,
    title,
)

# A closed action stays in the list this long as a Cancel, so that a display at a stop tells its
# passers-by the search is over. An hour is the least: AmberLoader keeps what it read for an hour.
# Three hours reach everyone who polls, every ten minutes or hourly, several times, and still
# clear a display (and the Home Assistant sensor that counts a Cancel as active) the same part of
# the day: a search that ended in the morning is not on screen in the evening.
CANCEL_SHOWN = timedelta(hours=3)
ACTION_LEVEL = "5"  # "10" is a national AMBER Alert, which this system never starts
SCOPE = "Public"
ACTUAL, EXERCISE = "Actual", "Exercise"
ALERT, UPDATE, CANCEL = "Alert", "Update", "Cancel"
_THANKS = "Dank voor uw inzet."  # Burgernet's own closing words

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def html_text(text: str | None) -> str | None:
    """Text as Burgernet's list carries it: &, <, >, quotes as entities, non-ASCII as &#NNN;.

    Consumers put the text into a web page as HTML (AmberLoader's innerHTML), so markup a
    dispatcher typed must arrive as characters, and ë as &#235;, as in Burgernet's own texts.
    """
    if text is None:
        return None
    return text.translate(_ESCAPES).encode("ascii", "xmlcharrefreplace").decode("ascii")


def alert_id(ref: str) -> str:
    """The action's number in the list: two digits per character of its reference (their
    character codes: A is 65, 2 is 50), so K7P2QX is 755580508188, a number as Burgernet's are."""
    return "".join(f"{ord(char):02d}" for char in ref)


def message_id(ref: str, state: int) -> str:
    """The number of one state of the action: its AlertId followed by the state's number
    (the start 1, each update one more, the close last)."""
    return f"{alert_id(ref)}{state}"


def alert_type(action: PublicAction) -> str:
    """Alert for the start, Update after any update, Cancel once closed."""
    kind = action.latest.kind
    if kind == Stage.RESULT:
        return CANCEL
    return UPDATE if kind == Stage.UPDATE else ALERT


def unix_seconds(moment: datetime) -> str:
    """Unix seconds as the list writes them: "1747557355"."""
    return str(int(moment.timestamp()))


def result_text(action: PublicAction) -> str:
    """How the action ended, in Dutch: the outcome, then the dispatcher's own closing words or
    Burgernet's thanks."""
    ended = outcome_sentence(action.outcome, Language.NL) if action.outcome else None
    closing = action.result_message or _THANKS
    return " ".join(part for part in (ended, closing) if part)


def alert_item(action: PublicAction, site: Site) -> dict[str, Any]:
    """One public action as one item of Burgernet's alert list (Dutch, as that list is)."""
    kind = alert_type(action)
    lat, lon, radius_m = public_circle(action.area)
    km = kilometres(radius_m)
    place = html_text(action.place)
    ended = kind == CANCEL
    photo = None if ended else action.photo  # a Cancel shows no picture of whom was sought
    if ended:
        text = result_text(action)
    else:
        looking = cap_description(action, Language.NL)
        if not looking.endswith((".", "!", "?")):  # the callback line starts a new sentence
            looking += "."
        text = f"{looking} {callback_line(action.ref, site.callback_number, Language.NL)}"
    # Not every consumer filters on State: the text itself says it is a drill, as the title does.
    text = exercise_marked(text, action.exercise, Language.NL)
    return {
        "AlertId": alert_id(action.ref),
        "MessageId": message_id(action.ref, len(action.bulletins)),
        "Sender": site.cap_sender,
        "Sent": unix_seconds(action.latest.sent),
        "State": EXERCISE if action.exercise else ACTUAL,
        "Type": kind,
        "Scope": SCOPE,
        "AlertLevel": ACTION_LEVEL,
        "Location": {"Description": place, "Latitude": number(lat), "Longitude": number(lon)},
        "Message": {
            "Title": None if ended else html_text(title(action, Language.NL)),
            "Description": html_text(text),
            "DescriptionExt": None if ended else html_text(event(action.incident, Language.NL)),
            "Readmore_URL": site.page(action.ref),
            "Media_URL": photo.large if photo else None,
            "Media": {
                "Image": photo.large if photo else None,
                "SmallImage": photo.small if photo else None,
            },
        },
        "Area": {
            "Description": place,
            "Circle": f"{number(lat)},{number(lon)} {km}",
            "CircleKM": km,
        },
    }
