"""No text that breaks a reader: dispatch's free texts refuse characters XML cannot carry (and
invisible controls), and old text that holds one still gives feeds every reader can parse."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import capvalidator
import feedparser
import pytest

from chalicelib.dal import actions as action_store
from chalicelib.dal.models import Action
from chalicelib.domain.model import Outcome
from chalicelib.handlers.openapi import document
from tests.support.actions import action_body, assert_error, started
from tests.support.cap import CAP_SCHEMA, NS
from tests.support.system import System

# Every kind the rule names: C0 but tab/LF/CR, DEL and C1, lone surrogates, the two noncharacters.
REFUSED = [
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x0e",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
]


def _start(system: System, **changes: Any) -> Any:
    return system.post("/actions", action_body(**changes))


def _update(system: System, **body: Any) -> Any:
    action = started(system)
    return system.post(
        f"/actions/{action['action_id']}/updates", {"message": "Nu te voet.", **body}
    )


def _close(system: System, **body: Any) -> Any:
    action = started(system)
    return system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested", **body})


# (what dispatch sends, the field the answer names)
SENDS = {
    "description": (lambda s, t: _start(s, description=f"Man, rode jas{t}"), "description"),
    "place": (lambda s, t: _start(s, place=f"Utrecht{t}"), "place"),
    "update message": (lambda s, t: _update(s, message=f"Nu te voet{t}"), "message"),
    "update description": (
        lambda s, t: _update(s, description=f"Man, blauwe jas{t}"),
        "description",
    ),
    "result message": (lambda s, t: _close(s, message=f"Dank voor het uitkijken{t}"), "message"),
}


@pytest.mark.parametrize("sent", list(SENDS))
@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_a_free_text_with_a_character_no_reader_takes_is_a_400_naming_the_field(
    system: System, sent: str, character: str
) -> None:
    send, field = SENDS[sent]

    response = send(system, character)

    code_point = f"U+{ord(character):04X}"
    body = assert_error(response, 400, "invalid_character", field, field, code_point, "tab")
    assert body["character"] == code_point


def test_the_error_says_at_which_character_counted_as_people_count(system: System) -> None:
    response = _start(system, description="Man\x01 in rode jas")

    body = assert_error(response, 400, "invalid_character", "description", "at character 4")
    assert body["position"] == 4


def test_the_position_counts_an_emoji_as_one_character(system: System) -> None:
    response = _start(system, description="\U0001f6b2\x01 fiets")

    assert assert_error(response, 400, "invalid_character", "description")["position"] == 2


def test_the_openapi_document_gives_the_rule_on_every_free_text_field() -> None:
    schemas = document()["components"]["schemas"]
    fields = [
        ("ActionRequest", "description"),
        ("ActionRequest", "place"),
        ("UpdateRequest", "message"),
        ("UpdateRequest", "description"),
        ("CloseRequest", "message"),
    ]
    for schema, name in fields:
        pattern = re.compile(schemas[schema]["properties"][name]["pattern"])
        assert pattern.fullmatch("Man\tin\r\nrode jas, ë \U0001f6b2"), (schema, name)
        for character in REFUSED:
            if not 0xD800 <= ord(character) <= 0xDFFF:  # left to the words; see the pattern
                assert not pattern.fullmatch(f"Man{character}"), (schema, name, character)


def test_a_lone_surrogate_sent_as_a_json_escape_is_a_400(system: System) -> None:
    raw = '{"incident": "burglary", "description": "Man \\ud800 rode jas", "area": %s}'
    response = system.post("/actions", raw % '{"lat": 52.0907, "lon": 5.1214, "radius_m": 1000}')

    assert_error(response, 400, "invalid_character", "description", "U+D800", "lone surrogate")


def test_a_refused_text_stores_nothing(system: System) -> None:
    refused = _start(system, description="Man\x01")
    action = started(system)
    update = system.post(f"/actions/{action['action_id']}/updates", {"message": "Nu\x02"})
    close = system.post(
        f"/actions/{action['action_id']}/close", {"outcome": "found", "message": "Dank\x03"}
    )

    assert (refused.status_code, update.status_code, close.status_code) == (400, 400, 400)
    view = system.get(f"/actions/{action['action_id']}").json_body
    assert view["status"] == "active"
    assert view["updates"] == []
    listed = system.get("/actions?status=active").json_body["actions"]
    assert [a["action_id"] for a in listed] == [action["action_id"]]


@pytest.mark.parametrize("sent", list(SENDS))
def test_tab_newline_and_windows_line_ends_are_accepted_as_spaces(
    system: System, sent: str
) -> None:
    send, _ = SENDS[sent]

    response = send(system, "\tmet\nregels\r\nvan Windows")

    assert response.status_code in (200, 202), response.body


def test_a_description_with_tabs_and_line_ends_reads_back_as_one_line(system: System) -> None:
    action = started(
        system, description="Man,\trode jas\r\nzwarte fiets\n", place="Utrecht\r\nZuid"
    )

    assert action["description"] == "Man, rode jas zwarte fiets"
    assert action["place"] == "Utrecht Zuid"


def test_an_emoji_is_a_surrogate_pair_in_json_and_is_accepted(system: System) -> None:
    raw = '{"incident": "burglary", "description": "Man op een fiets \\ud83d\\udeb2", "area": %s}'
    response = system.post("/actions", raw % '{"lat": 52.0907, "lon": 5.1214, "radius_m": 1000}')

    assert response.status_code == 202, response.body
    assert response.json_body["description"] == "Man op een fiets \U0001f6b2"


# --- Old data: the second guard, in the XML writers ---------------------------------------------


def _served(system: System, path: str) -> bytes:
    response = system.get(path)
    assert response.status_code == 200, response.body
    return bytes(response.body)


def test_text_stored_before_the_rule_still_gives_feeds_every_reader_parses(system: System) -> None:
    """An action from before the rule, its control characters written through the dal as old
    data would hold them: the CAP message and the Atom feed stay well-formed and valid."""
    action = started(system, place="Utrecht")
    action_id, now = action["action_id"], datetime.now(UTC)
    Action(action_id).update(
        actions=[Action.description.set("Man\x01 rode jas"), Action.place.set("Utrecht\x1f")]
    )
    action_store.add_update(action_id, str(uuid.uuid4()), "Nu\x02 te voet", "Man\x0b", now)
    updated_cap = _served(system, f"/public/actions/{action['ref']}.cap")
    updated_feed = _served(system, "/public/feed.atom")
    action_store.close_action(action_id, Outcome.ARRESTED, "Dank\x7f u", now, "old")
    closed_cap = _served(system, f"/public/actions/{action['ref']}.cap")
    closed_feed = _served(system, "/public/feed.atom")

    for message in (updated_cap, closed_cap):
        assert capvalidator.validate_cap_message(message, strict=False).passed
        CAP_SCHEMA.validate(message.decode())
    for atom in (updated_feed, closed_feed):
        parsed = feedparser.parse(atom)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert len(parsed.entries) == 1
    updated = ET.fromstring(updated_cap).find("cap:info/cap:description", NS)
    assert updated is not None and "Nu\ufffd te voet" in (updated.text or "")
    ended = ET.fromstring(closed_cap).find("cap:info/cap:description", NS)
    assert ended is not None and "Dank\ufffd u" in (ended.text or "")
    area = ET.fromstring(closed_cap).find("cap:info/cap:area/cap:areaDesc", NS)
    assert area is not None and area.text == "Utrecht\ufffd"
