"""The XML writers' second guard: a character XML cannot carry is never written raw."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chalicelib.domain.cap import UnwritableText, child, document
from chalicelib.domain.validation import legible


@pytest.mark.parametrize("where", ["text", "tail", "attribute"])
def test_a_tree_holding_a_control_character_is_refused_not_written_broken(where: str) -> None:
    root = ET.Element("feed")
    entry = child(root, "entry", "ok")
    if where == "attribute":
        entry.set("href", "Man\x01 rode jas")
    else:
        setattr(entry, where, "Man\x01 rode jas")

    with pytest.raises(UnwritableText, match=r"<entry> .* U\+0001 at character 4"):
        document(root)


def test_text_put_in_through_child_has_the_character_replaced_and_the_rest_kept() -> None:
    root = ET.Element("alert")
    child(root, "description", 'Man\x01 <b>&"ë \ud800', href="x\x7f")

    written = document(root)

    parsed = ET.fromstring(written.encode())
    (description,) = parsed
    assert description.text == 'Man\ufffd <b>&"ë \ufffd'
    assert description.get("href") == "x\ufffd"


def test_text_without_such_characters_is_left_as_it_is() -> None:
    kept = "Man\tin\r\nrode jas 🚲 ë \u2028"
    assert legible(kept) == kept
