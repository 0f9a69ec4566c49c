"""Our CAP and Atom judged by software nobody here wrote, called as its users call it: the WMO's
capvalidator and the OASIS schema for CAP 1.2, feedparser for Atom. Each judge is shown to refuse
a broken document too, so a pass means something."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import capvalidator
import feedparser
import pytest
import xmlschema

from tests.support.actions import started
from tests.support.cap import CAP_SCHEMA, NS
from tests.support.system import System

# Markup, an entity's ampersand, a quote and a letter outside ASCII: what breaks a careless writer.
TRICKY = '<b>&"ë'
DESCRIPTION = f"Man in rode jas {TRICKY}"
PLACE = f"Utrecht {TRICKY}"
UPDATE = f"Nu te voet richting station {TRICKY}"
RESULT = f"Dank voor het uitkijken {TRICKY}"


def _cap(system: System, ref: str) -> bytes:
    response = system.get(f"/public/actions/{ref}.cap")
    assert response.status_code == 200, response.body
    return bytes(response.body)


def _atom(system: System) -> bytes:
    response = system.get("/public/feed.atom")
    assert response.status_code == 200, response.body
    return bytes(response.body)


def _judged(message: bytes) -> ET.Element:
    """The CAP message, after capvalidator and the OASIS schema have passed it."""
    schema = capvalidator.check_schema(message)
    assert schema.passed, schema.message
    # What its CLI runs with --no-strict: the schema, then the signature we do not make.
    whole = capvalidator.validate_cap_message(message, strict=False)
    assert whole.passed, whole.message
    CAP_SCHEMA.validate(message.decode())
    return ET.fromstring(message)


def _read(atom: bytes) -> Any:
    """The feed as feedparser gives it, after checking it reported nothing wrong."""
    parsed = feedparser.parse(atom)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def _text(message: ET.Element, path: str) -> str:
    found = message.find(path, NS)
    assert found is not None, path
    return found.text or ""


@pytest.fixture
def action(system: System) -> dict[str, Any]:
    """A public action whose description and place hold markup, '&', a quote and 'ë'."""
    return started(system, description=DESCRIPTION, place=PLACE)


def test_feedparser_reads_the_feed_through_start_update_and_close(
    system: System, action: dict[str, Any]
) -> None:
    action_id = action["action_id"]
    seen = [_read(_atom(system))]
    update = system.post(f"/actions/{action_id}/updates", {"message": UPDATE})
    assert update.status_code == 202, update.body
    seen.append(_read(_atom(system)))
    close = system.post(f"/actions/{action_id}/close", {"outcome": "arrested", "message": RESULT})
    assert close.status_code == 200, close.body
    seen.append(_read(_atom(system)))

    for parsed, says in zip(seen, (DESCRIPTION, UPDATE, RESULT), strict=True):
        (entry,) = parsed.entries
        assert PLACE in entry.title
        assert says in entry.summary
        assert entry.summary_detail.type == "text/plain"  # shown as text, never as markup
        cap_links = [link for link in entry.links if link.type == "application/cap+xml"]
        assert [link.href.rsplit("/", 1)[1] for link in cap_links] == [f"{action['ref']}.cap"]
        assert entry.link.endswith(f"/a/{action['ref']}")  # what a feed reader opens: the page


def test_capvalidator_and_the_oasis_schema_pass_the_alert_the_update_and_the_result(
    system: System, action: dict[str, Any]
) -> None:
    action_id, ref = action["action_id"], action["ref"]
    alert = _judged(_cap(system, ref))
    assert system.post(f"/actions/{action_id}/updates", {"message": UPDATE}).status_code == 202
    update = _judged(_cap(system, ref))
    assert system.post(f"/actions/{action_id}/close", {"outcome": "arrested", "message": RESULT})
    result = _judged(_cap(system, ref))

    assert _text(alert, "cap:msgType") == "Alert"
    assert DESCRIPTION in _text(alert, "cap:info/cap:description")
    assert _text(alert, "cap:info/cap:area/cap:areaDesc") == PLACE
    for later, says in ((update, UPDATE), (result, RESULT)):
        assert _text(later, "cap:msgType") == "Update"
        references = _text(later, "cap:references").split()
        assert _text(alert, "cap:identifier") in references[0].split(",")
        assert says in _text(later, "cap:info/cap:description")
    assert len(_text(result, "cap:references").split()) == 2


# --- The judges refuse what is broken --------------------------------------------------------


def _with_control_character(document: bytes, tag: bytes) -> bytes:
    """The document with U+0001 written raw into the first <tag>'s text."""
    opening = b"<%s>" % tag
    assert opening in document
    return document.replace(opening, opening + b"\x01", 1)


def test_capvalidator_and_the_schema_refuse_a_control_character_or_a_missing_identifier(
    system: System, action: dict[str, Any]
) -> None:
    good = _cap(system, action["ref"])
    control = _with_control_character(good, b"description")
    no_identifier, count = re.subn(rb"<identifier>[^<]*</identifier>", b"", good)
    assert count == 1

    for broken in (control, no_identifier):
        assert not capvalidator.check_schema(broken).passed
        assert not capvalidator.validate_cap_message(broken, strict=False).passed
        with pytest.raises((xmlschema.XMLSchemaException, ET.ParseError)):
            CAP_SCHEMA.validate(broken.decode())


def test_feedparser_reports_bozo_for_a_control_character_or_a_broken_tag(
    system: System, action: dict[str, Any]
) -> None:
    good = _atom(system)
    control = _with_control_character(good, b"summary")
    unclosed = good.replace(b"</summary>", b"", 1)

    for broken in (control, unclosed):
        assert feedparser.parse(broken).bozo
