"""The Atom 1.0 index (RFC 4287) of the public actions' CAP messages, as CAP consumers poll it."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element  # nosec B405 # builds XML, never parses any

from chalicelib.domain.cap import MEDIA_TYPE as CAP_MEDIA_TYPE
from chalicelib.domain.cap import child, description, document
from chalicelib.domain.model import Language, iso
from chalicelib.domain.public import PublicAction, Site, title
from chalicelib.domain.signup import AMSTERDAM

NAMESPACE = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
# An empty feed's <updated>: fixed, so an unchanged empty feed keeps its ETag.
NEVER = "1970-01-01T00:00:00Z"


def entry_id(action: PublicAction, site: Site) -> str:
    """The entry's permanent id, a tag URI (RFC 4151) of the public host, the action's start
    day and its reference: tag:www.burgernet.nl,2026-12-05:K7P2QX. Never the internal id."""
    host = urlsplit(site.url).hostname or "burgernet"
    return f"tag:{host},{action.started.astimezone(AMSTERDAM):%Y-%m-%d}:{action.ref}"


def feed(actions: Sequence[PublicAction], site: Site) -> str:
    """The index, newest message first; each entry links to the action's latest CAP message."""
    newest_first = sorted(actions, key=lambda a: a.latest.sent, reverse=True)
    root = Element("feed", {"xmlns": NAMESPACE, "xml:lang": "nl"})
    child(root, "id", site.feed)
    child(root, "title", "Burgernet")
    child(root, "subtitle", "Acties van Burgernet als CAP 1.2-berichten")
    child(root, "updated", iso(newest_first[0].latest.sent) if newest_first else NEVER)
    child(root, "link", rel="self", type=MEDIA_TYPE, href=site.feed)
    child(child(root, "author"), "name", "Burgernet")
    for action in newest_first:
        entry = child(root, "entry")
        child(entry, "id", entry_id(action, site))
        child(entry, "title", title(action, Language.NL))
        child(entry, "published", iso(action.started))
        child(entry, "updated", iso(action.latest.sent))  # the time of the message linked to
        child(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=site.cap(action.ref))
        # Also an alternate, as HTML: feed readers (feedparser's entry.link) open only an HTML
        # alternate, and would otherwise offer the tag: id. RFC 4287 allows one per type.
        child(entry, "link", rel="alternate", type="text/html", href=site.page(action.ref))
        # What the linked message says, so a new message changes the feed within its second too.
        child(entry, "summary", description(action, Language.NL))
    return document(root)  # refuses a character XML cannot carry (child() replaced old ones)
