"""An action's public state as an OASIS CAP 1.2 message (docs.oasis-open.org/emergency/cap/v1.2).

Built as an element tree, so whatever a dispatcher typed is escaped by the serializer. The API
refuses characters XML cannot carry; text stored before that rule has them replaced by U+FFFD on
the way in (`child`), and `document` refuses to write any that got into the tree another way.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring  # nosec B405 # builds XML, never parses any

from chalicelib.domain.geo.enclosing import enclosing_ring
from chalicelib.domain.geo.shapes import Circle
from chalicelib.domain.messages import outcome_sentence
from chalicelib.domain.model import Incident, Language
from chalicelib.domain.public import (
    SHOWN_AFTER_CLOSE,
    PublicAction,
    Site,
    callback_line,
    event,
    kilometres,
    looking_for,
    number,
    polygon_text,
    public_area,
    title,
)
from chalicelib.domain.signup import AMSTERDAM
from chalicelib.domain.validation import UNREADABLE, legible

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
LANGUAGES = {Language.NL: "nl-NL", Language.EN: "en-GB"}

# (severity, certainty) per incident; docs/architecture.md gives the reasons. Every incident was
# reported to the police before an action starts, hence Observed; "other" is whatever dispatch
# asks, so only Likely.
ASSESSMENT: dict[Incident, tuple[str, str]] = {
    Incident.BURGLARY: ("Moderate", "Observed"),
    Incident.ROBBERY: ("Severe", "Observed"),
    Incident.HIT_AND_RUN: ("Moderate", "Observed"),
    Incident.MISSING_PERSON: ("Severe", "Observed"),
    Incident.SHOPLIFTING: ("Minor", "Observed"),
    Incident.OTHER: ("Moderate", "Likely"),
}

_NEW_DESCRIPTION = {Language.NL: "Nieuwe beschrijving.", Language.EN: "New description."}
_AFTER_RESULT = {
    Language.NL: "Heeft u nog informatie? Bel gratis {callback} en noem ref. {ref}. "
    "Bedankt voor uw hulp!",
    Language.EN: "Any more information? Call the free number {callback} and quote ref. {ref}. "
    "Thank you for your help!",
}
_SEARCH_AREA = {Language.NL: "Zoekgebied van de politie", Language.EN: "Police search area"}
_PHOTO = {Language.NL: "Foto", Language.EN: "Photo"}


def cap_time(moment: datetime) -> str:
    """CAP's time: to the second with a numeric offset (CAP forbids "Z"); Dutch local time."""
    return moment.astimezone(AMSTERDAM).isoformat(timespec="seconds")


def message(action: PublicAction, site: Site) -> str:
    """The CAP message of the action's latest public state, as UTF-8 XML text."""
    latest = action.latest
    alert = Element("alert", xmlns=NAMESPACE)
    child(alert, "identifier", identifier(action, len(action.bulletins)))
    child(alert, "sender", site.cap_sender)
    child(alert, "sent", cap_time(latest.sent))
    child(alert, "status", "Test" if action.exercise else "Actual")
    child(alert, "msgType", "Alert" if latest.kind == "start" else "Update")
    child(alert, "scope", "Public")
    earlier = action.bulletins[:-1]
    if earlier:
        child(
            alert,
            "references",
            " ".join(
                f"{site.cap_sender},{identifier(action, number)},{cap_time(b.sent)}"
                for number, b in enumerate(earlier, start=1)
            ),
        )
    for language in LANGUAGES:
        _info(alert, action, site, language)
    return document(alert)


def identifier(action: PublicAction, number: int) -> str:
    """CAP's identifier of the action's number-th public message (the start is 1), never its
    internal id: K7P2QX-20261205-1. The start day (Dutch time) is in it because references are
    drawn at random and may come back one day; CAP forbids spaces, commas, < and &: none here."""
    return f"{action.ref}-{action.started.astimezone(AMSTERDAM):%Y%m%d}-{number}"


def _info(alert: Element, action: PublicAction, site: Site, language: Language) -> None:
    ended = action.latest.kind == "result"
    severity, certainty = ASSESSMENT[action.incident]
    info = child(alert, "info")
    child(info, "language", LANGUAGES[language])
    child(info, "category", "Rescue" if action.incident is Incident.MISSING_PERSON else "Security")
    child(info, "event", event(action.incident, language))
    # Look out while it runs; once it has ended nothing is asked of anyone any more.
    child(info, "responseType", "AllClear" if ended else "Monitor")
    child(info, "urgency", "Past" if ended else "Immediate")
    child(info, "severity", severity)
    child(info, "certainty", certainty)
    closed = action.closed
    child(info, "expires", cap_time(closed + SHOWN_AFTER_CLOSE if closed else action.expires))
    child(info, "senderName", "Burgernet")
    child(info, "headline", title(action, language))
    child(info, "description", description(action, language))
    if ended:
        instruction = _AFTER_RESULT[language].format(callback=site.callback_number, ref=action.ref)
    else:
        instruction = callback_line(action.ref, site.callback_number, language)
    child(info, "instruction", instruction)
    child(info, "web", site.page(action.ref))
    child(info, "contact", site.callback_number)
    if action.photo:
        resource = child(info, "resource")
        child(resource, "resourceDesc", _PHOTO[language])
        media_type = mimetypes.guess_type(urlsplit(action.photo.large).path)[0]
        child(resource, "mimeType", media_type or "image/jpeg")
        child(resource, "uri", action.photo.large)
    area = child(info, "area")
    child(area, "areaDesc", action.place or _SEARCH_AREA[language])
    shape = public_area(action.area)  # never the exact point: rounded, and grown to cover
    if isinstance(shape, Circle):
        circle = f"{number(shape.lat)},{number(shape.lon)} {kilometres(shape.radius_m)}"
        child(area, "circle", circle)
    else:
        child(area, "polygon", polygon_text(enclosing_ring(shape)))


def description(action: PublicAction, language: Language) -> str:
    """What the latest message says: the search, an update to it, or how it ended."""
    latest = action.latest
    if latest.kind == "result" and action.outcome:
        ended = [outcome_sentence(action.outcome, language), action.result_message]
        return " ".join(part for part in ended if part)
    parts = []
    update = action.update_of(latest) if latest.kind == "update" else None
    if update:
        if update.message:
            parts += ["Update:", update.message]  # the same word in Dutch and English
        if update.description:
            parts.append(_NEW_DESCRIPTION[language])
    parts.append(looking_for(action, language))
    return " ".join(parts)


def child(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    """A new element in its parent's namespace, with text (escaped when written)."""
    # Old data may hold a character XML cannot carry: a feed with U+FFFD in its place still
    # parses for every reader, where refusing it would leave them with no feed for 48 hours.
    element = SubElement(parent, tag, {name: legible(v) for name, v in attributes.items()})
    element.text = None if text is None else legible(text)
    return element


class UnwritableText(ValueError):
    """A text in the tree holds a character XML 1.0 cannot carry; writing it would give every
    reader a document that is not well-formed."""


def document(root: Element) -> str:
    """The tree as UTF-8 XML text with its declaration; UnwritableText rather than a broken one."""
    for element in root.iter():
        texts = [("text", element.text), ("tail", element.tail), *element.attrib.items()]
        for where, value in texts:
            found = UNREADABLE.search(value or "")
            if found:
                raise UnwritableText(
                    f"<{element.tag}> {where} holds U+{ord(found.group()):04X} at character "
                    f"{found.start() + 1}, which XML cannot carry; build it with child()."
                )
    xml: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return xml.decode("utf-8")  # with its declaration: <?xml version='1.0' encoding='utf-8'?>
