"""The public face of an action as its readers see it: CAP 1.2 (checked against the OASIS
schema), the Atom index, and the page; non-public actions nowhere. Burgernet's alert list:
test_alert_list.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib.dal import actions as action_store
from chalicelib.dal.models import Action, Photo
from chalicelib.domain.model import Incident
from chalicelib.domain.signup import AMSTERDAM
from chalicelib.handlers.http import CONTENT_SECURITY_POLICY
from tests.support.builders import UTRECHT
from tests.support.cap import CAP_SCHEMA, NS
from tests.support.system import System
from tools.emulator import stage_environment

ENV = stage_environment("test")
PUBLIC_URL, SENDER = ENV["PUBLIC_URL"], ENV["CAP_SENDER"]
DESCRIPTION = "Man, ongeveer 30 jaar, donkere jas met capuchon, witte sneakers"
PHOTO = Photo(
    large="https://photos.burgernet.example/a/1/large.jpg",
    small="https://photos.burgernet.example/a/1/small.jpg",
)


def start(system: System, lat: float = UTRECHT[0], lon: float = UTRECHT[1], **body: Any) -> Any:
    """Start an action over HTTP as dispatch does; its JSON view."""
    request = {
        "incident": "burglary",
        "description": DESCRIPTION,
        "area": {"lat": lat, "lon": lon, "radius_m": body.pop("radius_m", 1000)},
        "place": "Utrecht, Binnenstad",
        **body,
    }
    response = system.post("/actions", request)
    assert response.status_code == 202, response.body
    return response.json_body


def close(system: System, action_id: str, **body: Any) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "arrested", **body})
    assert response.status_code == 200, response.body


def post_update(
    system: System, action_id: str, message: str, description: str | None = None
) -> str:
    """A dispatcher's update over HTTP; its id."""
    body = {"message": message, **({"description": description} if description else {})}
    response = system.post(f"/actions/{action_id}/updates", body)
    assert response.status_code == 202, response.body
    return str(response.json_body["update_id"])


def add_photo(action_id: str, photo: Photo = PHOTO) -> None:
    Action(action_id).update(actions=[Action.photo.set(photo)])


def cap(system: System, ref: str) -> ET.Element:
    """The action's CAP message, after checking it against the OASIS schema."""
    response = system.get(f"/public/actions/{ref}.cap")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/cap+xml"
    CAP_SCHEMA.validate(response.body.decode())  # raises on anything the schema refuses
    return ET.fromstring(response.body)


def field(element: ET.Element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, path
    return found.text or ""


def infos(message: ET.Element) -> dict[str, ET.Element]:
    return {field(i, "cap:language"): i for i in message.findall("cap:info", NS)}


def feed(system: System, **headers: str) -> Any:
    return system.client.http.get("/public/feed.atom", headers=headers)


def entries(system: System) -> dict[str, ET.Element]:
    """The feed's entries by the action reference their CAP link names."""
    response = feed(system)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml"
    root = ET.fromstring(response.body)
    found = {}
    for entry in root.findall("atom:entry", NS):
        (link,) = entry.findall("atom:link[@rel='alternate'][@type='application/cap+xml']", NS)
        href = link.get("href") or ""
        assert href.startswith(f"{PUBLIC_URL}/public/actions/") and href.endswith(".cap")
        found[href.rsplit("/", 1)[1].removesuffix(".cap")] = entry
    return found


# --- CAP 1.2 -------------------------------------------------------------------------------------


def test_the_start_is_a_valid_cap_alert_in_dutch_and_english(system: System) -> None:
    action = start(system, radius_m=1500)
    ref = action["ref"]

    message = cap(system, ref)

    day = datetime.fromisoformat(action["created_at"]).astimezone(AMSTERDAM).strftime("%Y%m%d")
    assert field(message, "cap:identifier") == f"{ref}-{day}-1"  # never the internal id
    assert field(message, "cap:sender") == SENDER
    assert datetime.fromisoformat(field(message, "cap:sent")) == datetime.fromisoformat(
        action["created_at"]
    )
    assert field(message, "cap:status") == "Actual"
    assert field(message, "cap:msgType") == "Alert"
    assert field(message, "cap:scope") == "Public"
    assert message.find("cap:references", NS) is None
    by_language = infos(message)
    assert sorted(by_language) == ["en-GB", "nl-NL"]
    for info in by_language.values():
        assert field(info, "cap:category") == "Security"
        assert field(info, "cap:urgency") == "Immediate"
        assert len(field(info, "cap:event")) < 35
        assert datetime.fromisoformat(field(info, "cap:expires")) == datetime.fromisoformat(
            action["expires_at"]
        )
        assert DESCRIPTION in field(info, "cap:description")
        assert "0800-0011" in field(info, "cap:instruction")
        assert ref in field(info, "cap:instruction")
        assert field(info, "cap:web") == f"{PUBLIC_URL}/a/{ref}"
        assert field(info, "cap:area/cap:areaDesc") == "Utrecht, Binnenstad"
        assert field(info, "cap:area/cap:circle") == "52.091,5.121 1.579"  # to ~100 m, grown
        assert info.find("cap:resource", NS) is None
    assert field(by_language["nl-NL"], "cap:event") == "Inbraak"
    assert field(by_language["en-GB"], "cap:event") == "Burglary"


def test_an_exercise_is_a_test_and_a_missing_person_a_rescue(system: System) -> None:
    drill = start(system, exercise=True)
    missing = start(system, incident="missing_person", description="Vrouw, 82 jaar, grijs haar")

    assert field(cap(system, drill["ref"]), "cap:status") == "Test"
    for info in infos(cap(system, missing["ref"])).values():
        assert field(info, "cap:category") == "Rescue"
        assert field(info, "cap:severity") == "Severe"


def test_an_update_and_the_result_are_updates_referencing_every_earlier_message(
    system: System,
) -> None:
    action = start(system)
    first = cap(system, action["ref"])
    first_ref = f"{SENDER},{field(first, 'cap:identifier')},{field(first, 'cap:sent')}"

    post_update(system, action["action_id"], "Nu te voet richting station.", "Man, blauwe jas")
    updated = cap(system, action["ref"])

    assert field(updated, "cap:msgType") == "Update"
    assert field(updated, "cap:identifier") == field(first, "cap:identifier")[:-1] + "2"
    assert field(updated, "cap:references") == first_ref
    description = field(infos(updated)["nl-NL"], "cap:description")
    assert "Nu te voet richting station." in description and "Man, blauwe jas" in description

    close(system, action["action_id"], message="Dank voor het uitkijken.")
    result = cap(system, action["ref"])

    assert field(result, "cap:msgType") == "Update"
    second_ref = f"{SENDER},{field(updated, 'cap:identifier')},{field(updated, 'cap:sent')}"
    assert field(result, "cap:references").split(" ") == [first_ref, second_ref]
    nl = infos(result)["nl-NL"]
    assert "aangehouden" in field(nl, "cap:description")
    assert "Dank voor het uitkijken." in field(nl, "cap:description")
    assert field(nl, "cap:responseType") == "AllClear"


def test_the_photo_is_a_cap_resource(system: System) -> None:
    action = start(system)
    add_photo(action["action_id"])

    for info in infos(cap(system, action["ref"])).values():
        assert field(info, "cap:resource/cap:uri") == PHOTO.large
        assert field(info, "cap:resource/cap:mimeType") == "image/jpeg"


def test_whatever_dispatch_typed_arrives_as_text_not_markup(system: System) -> None:
    typed = 'Man <b>"Jansen"</b> & co ]]> <!-- ë 🚲'
    action = start(system, description=typed, place="<Zuid> & 'Noord'")

    info = infos(cap(system, action["ref"]))["nl-NL"]

    assert field(info, "cap:description") == f"De politie zoekt: {typed}"
    assert field(info, "cap:area/cap:areaDesc") == "<Zuid> & 'Noord'"


@pytest.mark.parametrize("incident", list(Incident))
def test_every_incident_has_a_short_event_and_a_valid_message(
    system: System, incident: Incident
) -> None:
    action = start(system, incident=incident.value, description="Persoon in rode jas")

    for info in infos(cap(system, action["ref"])).values():
        assert 0 < len(field(info, "cap:event")) < 35


def test_a_cap_message_is_gone_48_hours_after_the_close(
    system: System, later: Callable[[timedelta], None]
) -> None:
    action = start(system)
    close(system, action["action_id"])
    later(timedelta(hours=47, minutes=59))
    assert system.get(f"/public/actions/{action['ref']}.cap").status_code == 200

    later(timedelta(hours=48, seconds=1))
    response = system.get(f"/public/actions/{action['ref']}.cap")

    assert response.status_code == 410
    assert response.json_body["error"] == "action_gone"


def test_a_non_public_action_answers_as_if_it_did_not_exist(system: System) -> None:
    hidden = start(system, public=False)

    response = system.get(f"/public/actions/{hidden['ref']}.cap")
    unknown = system.get("/public/actions/ZZZZZZ.cap")

    assert response.status_code == unknown.status_code == 404
    assert response.json_body["error"] == "action_not_found"
    assert response.json_body["message"] == unknown.json_body["message"].replace(
        "ZZZZZZ", hidden["ref"]
    )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("K7P2QX.xml", "not_found"),
        ("K7P2QX", "not_found"),
        ("k7p2qx.cap", "action_not_found"),
        ("%3Cscript%3E.cap", "action_not_found"),
        (f"{'A' * 60}.cap", "action_not_found"),
        (f"{'A' * 3000}.cap", "action_not_found"),  # longer than any DynamoDB key
    ],
)
def test_a_wrong_cap_address_says_what_the_address_looks_like(
    system: System, name: str, error: str
) -> None:
    response = system.get(f"/public/actions/{name}")

    assert response.status_code == 404
    assert response.json_body["error"] == error
    assert (
        ".cap" in response.json_body["message"] or "reference is" in response.json_body["message"]
    )


def test_a_redacted_action_still_gives_a_valid_message_without_its_text(
    system: System,
) -> None:
    action = start(system)
    post_update(system, action["action_id"], "Nu te voet richting station.", "Man, blauwe jas")
    close(system, action["action_id"], message="Dank voor het uitkijken.")
    assert action_store.redact(action["action_id"], datetime.now(UTC))

    message = cap(system, action["ref"])
    page = system.get(f"/a/{action['ref']}")
    feed_text = feed(system).body.decode()

    for text in ("Man, blauwe jas", "te voet", "Dank voor", DESCRIPTION):
        assert text not in ET.tostring(message, encoding="unicode")
        assert text not in page.body.decode()
        assert text not in feed_text
    assert "De beschrijving is verwijderd." in page.body.decode()


# --- Atom ----------------------------------------------------------------------------------------


def test_the_feed_links_each_public_action_to_its_latest_cap_message(system: System) -> None:
    active = start(system)
    post_update(system, active["action_id"], "Nu te voet richting station.")
    ended = start(system)
    close(system, ended["action_id"])
    start(system, public=False)

    found = entries(system)

    assert sorted(found) == sorted([active["ref"], ended["ref"]])
    for ref, entry in found.items():
        message = cap(system, ref)
        assert datetime.fromisoformat(field(entry, "atom:updated")) == datetime.fromisoformat(
            field(message, "cap:sent")
        )
    assert field(cap(system, active["ref"]), "cap:msgType") == "Update"


def test_a_closed_action_leaves_the_feed_after_48_hours(
    system: System, later: Callable[[timedelta], None]
) -> None:
    action = start(system)
    close(system, action["action_id"])

    later(timedelta(hours=47))
    assert list(entries(system)) == [action["ref"]]
    later(timedelta(hours=48, minutes=1))
    assert entries(system) == {}


def test_the_feed_has_an_etag_and_answers_304_while_nothing_changed(system: System) -> None:
    action = start(system)
    first = feed(system)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=30"

    again = feed(system, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag

    post_update(system, action["action_id"], "Nu te voet richting station.")
    changed = feed(system, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


# --- The page ------------------------------------------------------------------------------------


class Page(HTMLParser):
    """The page as a reader gets it: its visible text, its links, images and script tags."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(" ".join(data.split()))

    @property
    def words(self) -> str:
        return " ".join(self.text)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]


def page(system: System, ref: str, status: int = 200) -> tuple[Page, Any]:
    response = system.get(f"/a/{ref}")
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return Page(response.body.decode()), response


def test_the_page_shows_the_search_and_ends_with_the_callback_line(system: System) -> None:
    action = start(system)
    post_update(system, action["action_id"], "Nu te voet richting station.", "Man, blauwe jas")

    shown, response = page(system, action["ref"])

    words = shown.words
    assert "Utrecht, Binnenstad" in words
    assert "Man, blauwe jas" in words  # the latest description
    assert "Nu te voet richting station." in words
    started = datetime.fromisoformat(action["created_at"])
    assert started.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") in words
    # The search ends with whom to call; only the footer (the accessibility statement) follows.
    callback = f"Gezien? Bel direct gratis 0800-0011 en noem ref. {action['ref']}."
    assert words.endswith(f"{callback} Toegankelijkheid / Accessibility")
    tel = [a["href"] for a in shown.all("a") if a["href"].startswith("tel:")]
    assert tel and set(tel) == {"tel:08000011"}
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "The police are looking for" in words  # English too


def test_the_page_shows_the_result_once_closed_and_the_photo(system: System) -> None:
    action = start(system)
    add_photo(action["action_id"])
    close(system, action["action_id"], message="Dank voor het uitkijken.")

    shown, response = page(system, action["ref"])

    assert "Er is een verdachte aangehouden." in shown.words
    assert "Dank voor het uitkijken." in shown.words
    assert [img["src"] for img in shown.all("img")] == [PHOTO.small]
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://photos.burgernet.example;" in policy


def test_the_page_escapes_what_dispatch_typed(system: System) -> None:
    typed = '<script>alert("x")</script><img src=x onerror=alert(1)> & co'
    action = start(system, description=typed)

    shown, _ = page(system, action["ref"])

    assert shown.all("script") == [] and shown.all("img") == []
    assert typed in shown.words


def test_no_page_for_a_non_public_action_and_none_48_hours_after_the_close(
    system: System, later: Callable[[timedelta], None]
) -> None:
    hidden = start(system, public=False)
    ended = start(system)
    close(system, ended["action_id"])

    not_public, _ = page(system, hidden["ref"], 404)
    unknown, _ = page(system, "ZZZZZZ", 404)
    assert not_public.words == unknown.words
    assert DESCRIPTION not in not_public.words

    later(timedelta(hours=48, seconds=1))
    gone, _ = page(system, ended["ref"], 410)
    assert DESCRIPTION not in gone.words


def test_a_photo_that_is_no_web_address_is_left_off_the_page(system: System) -> None:
    action = start(system)
    add_photo(action["action_id"], Photo(large="javascript:alert(1)", small="data:,x"))

    shown, response = page(system, action["ref"])

    assert shown.all("img") == []
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
