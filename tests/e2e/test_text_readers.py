"""Text through `make run` as other people's software reads it: a control character is a 400, and
markup, '&', quotes and 'ë' leave the Atom feed and the CAP messages valid for feedparser,
capvalidator and the OASIS schema, from the start to the close."""

from __future__ import annotations

from typing import Any

import capvalidator
import feedparser
import pytest
import requests
import xmlschema

from tests.support.local import LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e

CAP_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "fixtures" / "cap" / "CAP-v1.2.xsd")
TRICKY = '<b>&"ë'
AREA = {"lat": 52.0907, "lon": 5.1214, "radius_m": 1000}


def _post(local_system: LocalSystem, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{local_system.api}{path}", json=body, timeout=30)


def test_a_control_character_in_a_description_is_a_400_naming_it(
    local_system: LocalSystem,
) -> None:
    body = {"incident": "burglary", "description": "Man\x01 in rode jas", "area": AREA}

    response = _post(local_system, "/actions", body)

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert (error["error"], error["field"], error["character"]) == (
        "invalid_character",
        "description",
        "U+0001",
    )


def test_feedparser_capvalidator_and_the_schema_read_the_action_from_start_to_close(
    local_system: LocalSystem,
) -> None:
    description = f"Man in rode jas {TRICKY}"
    started = _post(
        local_system,
        "/actions",
        {"incident": "burglary", "description": description, "area": AREA, "place": "Utrecht"},
    )
    assert started.status_code == 202, started.text
    action_id, ref = started.json()["action_id"], started.json()["ref"]
    steps = [
        (None, description),
        (("updates", {"message": f"Nu te voet {TRICKY}"}), f"Nu te voet {TRICKY}"),
        (("close", {"outcome": "arrested", "message": f"Dank {TRICKY}"}), f"Dank {TRICKY}"),
    ]

    for step, says in steps:
        if step:
            answer = _post(local_system, f"/actions/{action_id}/{step[0]}", step[1])
            assert answer.status_code in (200, 202), answer.text
        cap = requests.get(f"{local_system.api}/public/actions/{ref}.cap", timeout=30)
        atom = requests.get(f"{local_system.api}/public/feed.atom", timeout=30)
        assert cap.status_code == atom.status_code == 200

        judged = capvalidator.validate_cap_message(cap.content, strict=False)
        assert judged.passed, judged.message
        CAP_SCHEMA.validate(cap.content.decode())
        parsed = feedparser.parse(atom.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        (entry,) = [e for e in parsed.entries if e.id.endswith(f":{ref}")]
        assert entry.id.startswith("tag:") and action_id not in entry.id
        cap_links = [k.href for k in entry.links if k.type == "application/cap+xml"]
        assert [k.rsplit("/", 1)[1] for k in cap_links] == [f"{ref}.cap"]
        assert says in entry.summary
