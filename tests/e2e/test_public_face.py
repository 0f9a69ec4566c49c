"""The public face of an action as `make run` serves it: the feeds a reader's software follows
link by link, and the page in a real browser (Debian's Chromium).

The photo comes from another origin (a loopback server here, a CDN or S3 in AWS): the page's
Content-Security-Policy must let exactly that image in, and nothing else.
"""

from __future__ import annotations

import json
import struct
import threading
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import xmlschema
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.support.local import LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e

TYPED = 'Man, ± 30 jaar, rode jas <script>alert("x")</script> & "Jansen"'
SCREENSHOTS = Path("/tmp")
CAP_SCHEMA = ROOT / "tests" / "fixtures" / "cap" / "CAP-v1.2.xsd"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}
CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def png(width: int, height: int) -> bytes:
    """A plain red PNG of this size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc0\x10\x10" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))


@pytest.fixture(scope="module")
def photos() -> Iterator[str]:
    """A loopback image server, another origin than the API's; its base URL."""
    images = {"/large.png": png(1280, 720), "/small.png": png(320, 180)}

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = images.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def start(system: LocalSystem, **body: Any) -> dict[str, Any]:
    response = requests.post(
        f"{system.api}/actions",
        json={
            "incident": "burglary",
            "description": TYPED,
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 800},
            "place": "Utrecht, Binnenstad",
            **body,
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def add_photo(system: LocalSystem, action_id: str, photos: str) -> None:
    """What the photo upload stores (built elsewhere): its two sizes' URLs on the action."""
    boto3.client(
        "dynamodb",
        endpoint_url=system.emulator,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).update_item(
        TableName="burgernet-actions",
        Key={"action_id": {"S": action_id}},
        UpdateExpression="SET photo = :photo",
        ExpressionAttributeValues={
            ":photo": {
                "M": {"large": {"S": f"{photos}/large.png"}, "small": {"S": f"{photos}/small.png"}}
            }
        },
    )


def test_an_action_started_over_http_is_in_the_alert_list_and_its_cap_messages_in_the_feed(
    local_system: LocalSystem,
) -> None:
    action = start(local_system)
    api, ref = local_system.api, action["ref"]

    alerts = requests.get(f"{api}/public/alerts", timeout=10).json()
    (alert,) = [a for a in alerts if a["Message"]["Readmore_URL"].endswith(f"/a/{ref}")]
    assert (alert["State"], alert["Type"]) == ("Actual", "Alert")
    # km, as CAP writes it; the centre to ~100 m, the radius grown by 79 m to still hold it all
    assert alert["Area"]["Circle"] == "52.091,5.121 0.879"
    assert alert["Message"]["Readmore_URL"] == f"{api}/a/{ref}"  # PUBLIC_URL is this runner

    feed = ET.fromstring(requests.get(f"{api}/public/feed.atom", timeout=10).content)
    links = [
        link.get("href")
        for link in feed.findall("atom:entry/atom:link[@type='application/cap+xml']", ATOM)
    ]
    assert f"{api}/public/actions/{ref}.cap" in links
    schema = xmlschema.XMLSchema(CAP_SCHEMA)
    message = requests.get(f"{api}/public/actions/{ref}.cap", timeout=10)
    assert message.headers["Content-Type"] == "application/cap+xml"
    schema.validate(message.text)
    first = ET.fromstring(message.content)

    # After an update, the CAP message is an Update that references the first
    update = requests.post(
        f"{api}/actions/{action['action_id']}/updates",
        json={"message": "Nu te voet richting Centraal Station."},
        timeout=10,
    )
    assert update.status_code == 202, update.text
    message = requests.get(f"{api}/public/actions/{ref}.cap", timeout=10)
    schema.validate(message.text)
    updated = ET.fromstring(message.content)
    assert updated.findtext("cap:msgType", namespaces=CAP) == "Update"
    assert updated.findtext("cap:references", namespaces=CAP) == ",".join(
        first.findtext(f"cap:{name}", namespaces=CAP) or ""
        for name in ("sender", "identifier", "sent")
    )


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A Dutch browser tab that fails the test on any script error or CSP violation."""
    context = browser.new_context(
        locale="nl-NL", timezone_id="Europe/Amsterdam", viewport={"width": 900, "height": 900}
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        # A 404 page is a "failed resource" to Chromium; a missing photo shows in its own check.
        if message.type == "error" and "status of 404" not in message.text:
            problems.append(message.text)

    page.on("console", console)
    try:
        yield page
    finally:
        context.close()
    assert not problems, f"errors in the page: {problems}"


def test_a_reader_sees_the_search_the_photo_the_update_and_whom_to_call(
    tab: Page, local_system: LocalSystem, photos: str
) -> None:
    action = start(local_system)
    add_photo(local_system, action["action_id"], photos)
    update = requests.post(
        f"{local_system.api}/actions/{action['action_id']}/updates",
        json={"message": "Nu te voet richting Centraal Station."},
        timeout=10,
    )
    assert update.status_code == 202, update.text

    response = tab.goto(f"{local_system.api}/a/{action['ref']}")
    assert response is not None and response.status == 200
    assert f"img-src 'self' data: {photos};" in response.headers["content-security-policy"]

    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Burgernet: inbraak in Utrecht, Binnenstad"
    )
    expect(tab.locator("#description")).to_contain_text(TYPED)  # shown as text, never run
    expect(tab.locator("#place")).to_have_text("Utrecht, Binnenstad")
    expect(tab.locator("#updates")).to_contain_text("Nu te voet richting Centraal Station.")
    expect(tab.locator("#started")).to_have_attribute(
        "datetime", action["created_at"].replace("Z", "+00:00")
    )
    expect(tab.get_by_text("The police are looking for")).to_be_visible()  # English too

    photo = tab.locator("#photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 320

    # The page's own stylesheet loaded (relative to /a/…): the header has its dark blue
    header = tab.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header == "rgb(11, 37, 69)"

    callback = tab.locator("#callback p").last
    expect(callback).to_have_text(
        f"Gezien? Bel direct gratis 0800-0011 en noem ref. {action['ref']}."
    )
    links = tab.locator("a[href^='tel:']")
    assert links.count() == 2
    assert {links.nth(i).get_attribute("href") for i in range(2)} == {"tel:08000011"}
    tab.screenshot(path=str(SCREENSHOTS / "public-page.png"), full_page=True)


def test_once_closed_the_page_shows_the_result(tab: Page, local_system: LocalSystem) -> None:
    action = start(local_system)
    closed = requests.post(
        f"{local_system.api}/actions/{action['action_id']}/close",
        json={"outcome": "found", "message": "Dank voor het uitkijken."},
        timeout=10,
    )
    assert closed.status_code == 200, closed.text

    tab.goto(f"{local_system.api}/a/{action['ref']}")

    result = tab.locator("#result")
    expect(result).to_contain_text("De gezochte persoon is gevonden.")
    expect(result).to_contain_text("The person being sought has been found.")
    expect(result).to_contain_text("Dank voor het uitkijken.")
    tab.screenshot(path=str(SCREENSHOTS / "public-page-closed.png"), full_page=True)


def test_a_non_public_action_has_no_page(tab: Page, local_system: LocalSystem) -> None:
    hidden = start(local_system, public=False)

    response = tab.goto(f"{local_system.api}/a/{hidden['ref']}")

    assert response is not None and response.status == 404
    expect(tab.get_by_role("heading", level=1)).to_have_text("Burgernet: actie niet gevonden")
    expect(tab.locator("main")).not_to_contain_text("rode jas")


def test_the_action_list_follows_an_action_from_start_to_afloop(
    local_system: LocalSystem,
) -> None:
    api = local_system.api
    action = start(local_system)
    update = requests.post(
        f"{api}/actions/{action['action_id']}/updates",
        json={"message": "Nu te voet richting Centraal Station."},
        timeout=10,
    )
    assert update.status_code == 202, update.text
    closed = requests.post(
        f"{api}/actions/{action['action_id']}/close", json={"outcome": "arrested"}, timeout=10
    )
    assert closed.status_code == 200, closed.text

    listed = requests.get(f"{api}/public/actions", timeout=10).json()

    (shown,) = [a for a in listed["actions"] if a["id"] == action["ref"]]
    assert shown["active"] is False and isinstance(shown["endTimestamp"], int)
    assert [m["messageType"] for m in shown["messages"]] == ["Start", "Update", "Afloop"]
    assert shown["messages"][-1]["responseUrl"] == f"{api}/a/{action['ref']}"
    assert action["action_id"] not in json.dumps(listed)
