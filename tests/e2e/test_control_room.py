"""The control room as a dispatcher uses it, in Chromium, against the local system `make run`
starts: sign in as the demo dispatcher, follow an action from its start to its close and steer it
(an update, a photo, the close), with a screenshot at each step, each checked not blank. The
municipality admin is refused; update and close work from the keyboard alone; axe-core finds
nothing on the live page.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from chalicelib.domain.people import PersonGroup
from tests.support.a11y import assert_accessible
from tests.support.devices import HttpDevice
from tests.support.local import PATIENCE_S, LocalSystem
from tests.support.photos import jpeg_with_gps
from tests.support.screens import assert_not_blank
from tools.control_pool import DEMO_PEOPLE

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path("/tmp")
DOMPLEIN = (52.0907, 5.1214)
RADIUS_M = 800
INSIDE = 24  # imported participants inside the circle, each alerted by SMS
# Patience in the browser: counts move a chunk at a time, on a machine shared with other tests.
WAIT_MS = int(PATIENCE_S * 1000)


def person(group: PersonGroup) -> tuple[str, str]:
    """The runner's demo person in this group: (username, password), as its banner prints."""
    return next((name, pw) for name, (pw, g) in DEMO_PEOPLE.items() if g == group)


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    lat = DOMPLEIN[0] + north_m / 111_320
    return lat, DOMPLEIN[1] + east_m / (111_320 * math.cos(math.radians(DOMPLEIN[0])))


@pytest.fixture(scope="module")
def residents(utrecht: LocalSystem, tmp_path_factory: pytest.TempPathFactory) -> LocalSystem:
    """The runner with INSIDE participants inside the circle round Domplein (make import)."""
    rows = ["phone,lat,lon,label,language,channel"]
    for n in range(INSIDE):
        lat, lon = offset(30 * n * math.cos(n), 30 * n * math.sin(n))  # within 700 m
        rows.append(f"+3163{n:07d},{lat:.6f},{lon:.6f},home,nl,sms")
    csv = tmp_path_factory.mktemp("control") / "participants.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert f"{INSIDE} created" in utrecht.make_import(csv).stdout
    return utrecht


def start_action(system: LocalSystem, key: str, description: str) -> dict[str, Any]:
    """Dispatch starts an action through the API, as its dispatch system does."""
    response = requests.post(
        f"{system.api}/actions",
        json={
            "incident": "burglary",
            "description": description,
            "area": {"lat": DOMPLEIN[0], "lon": DOMPLEIN[1], "radius_m": RADIUS_M},
        },
        headers={"Idempotency-Key": key},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


@pytest.fixture
def page(browser: Browser, residents: LocalSystem) -> Iterator[Page]:
    """A fresh tab on the control room, with a Dutch browser, failing on any script error."""
    context = browser.new_context(
        locale="nl-NL", timezone_id="Europe/Amsterdam", viewport={"width": 1280, "height": 1000}
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{residents.api}/control")
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def shot(page: Page) -> Callable[[str], None]:
    """Take the named screenshot of the whole page and check it shows something."""

    def take(name: str) -> None:
        path = SCREENSHOTS / f"control-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert_not_blank(path)

    return take


def sign_in(page: Page, group: PersonGroup) -> None:
    username, password = person(group)
    page.get_by_label("Gebruikersnaam", exact=True).fill(username)
    page.get_by_label("Wachtwoord", exact=True).fill(password)
    page.get_by_role("button", name="Inloggen").click()


def count(page: Page, channel: str, name: str) -> int:
    text = page.locator(f'#reach-rows tr[data-channel="{channel}"] [data-count="{name}"]')
    value = text.text_content() or ""
    return int(value) if value.isdigit() else -1


def wait_until(check: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + PATIENCE_S
    while not check():
        assert time.monotonic() < end, f"{what} within {PATIENCE_S} s"
        time.sleep(0.5)


def test_a_dispatcher_follows_and_steers_an_action_from_start_to_close(
    page: Page, residents: LocalSystem, shot: Callable[[str], None]
) -> None:
    # An app install at the scene, so it is alerted and can report what it sees
    device = HttpDevice(residents.api)
    device.place(*offset(120, 0))

    # The dispatcher signs in
    shot("1-sign-in")
    sign_in(page, PersonGroup.DISPATCH)
    expect(page.locator("#who")).to_have_text(person(PersonGroup.DISPATCH)[0])
    shot("2-signed-in")

    # Dispatch starts an action through the API: it appears, its area on the map
    action = start_action(residents, "control-e2e-1", "man, circa 30 jaar, rode jas, zwarte fiets")
    title = f"{action['ref']} · inbraak"
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)
    expect(page.locator("#map img.leaflet-tile-loaded").first).to_be_visible()
    shot("3-started")

    # ... and its counts rise as the SMS go out, until everyone inside has theirs
    wait_until(lambda: count(page, "sms", "sent") > 0, "the first SMS counted on the page")
    wait_until(lambda: count(page, "sms", "sent") == INSIDE, f"{INSIDE} SMS counted")
    expect(page.locator('#reach-rows tr[data-channel="sms"] [data-count="people"]')).to_have_text(
        str(INSIDE)
    )
    # The chart's SMS line (a flat line has no height: Playwright would call it hidden)
    expect(page.locator('#chart polyline[data-channel="sms"]')).to_have_count(1)
    expect(page.locator("#chart-caption")).to_contain_text(f"sms {INSIDE}")
    shot("4-sent")

    # The app install reports a sighting: its marker appears, and tells time, text and distance
    end = time.monotonic() + PATIENCE_S
    seen = {**_at(220), "text": "rode jas, richting station"}
    while (report := device.report(action["action_id"], seen)).status_code == 403:
        assert time.monotonic() < end, "the install was never alerted"
        time.sleep(0.5)
    assert report.status_code in (200, 201), report.text
    marker = page.locator(".leaflet-marker-icon")
    expect(marker).to_have_count(1, timeout=WAIT_MS)
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("rode jas, richting station")
    expect(popup).to_contain_text(re.compile(r"\b2[12]\d m N\b"))  # 220 m north, as measured
    shot("5-sighting")

    # The dispatcher sends an update: confirmed, sent, listed; the people alerted get it
    page.get_by_label("Bericht aan iedereen die gealarmeerd is").fill(
        "Nu te voet, richting station"
    )
    page.get_by_role("button", name="Update versturen").click()
    page.get_by_role("dialog").get_by_role("button", name="Ja, update versturen").click()
    expect(page.locator("#status")).to_have_text("De update is verstuurd.")
    expect(page.locator("#updates li")).to_contain_text("Nu te voet, richting station")
    wait_until(
        lambda: any("Nu te voet" in s["message"] for s in residents.sms()),
        "the update reached the people alerted",
    )
    shot("6-updated")

    # ... attaches a photo: confirmed, stored, and on the action as the public page shows it
    page.get_by_label("Foto (JPEG of PNG)").set_input_files(
        files=[
            {"name": "verdachte.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(800, 600)}
        ]
    )
    page.get_by_role("button", name="Foto plaatsen").click()
    page.get_by_role("dialog").get_by_role("button", name="Ja, foto plaatsen").click()
    expect(page.locator("#status")).to_have_text("De foto is geplaatst.", timeout=WAIT_MS)
    stored = requests.get(f"{residents.api}/actions/{action['action_id']}", timeout=10).json()
    assert stored["photo"]["large"], stored

    # ... and closes the action: the result shows, nothing is left to act on
    page.get_by_label("Afloop").select_option("arrested")
    page.get_by_role("button", name="Actie afsluiten").click()
    page.get_by_role("dialog").get_by_role("button", name="Ja, actie afsluiten").click()
    expect(page.locator("#result")).to_contain_text("Aangehouden")
    expect(page.locator("#acts")).to_be_hidden()
    assert (
        requests.get(f"{residents.api}/actions/{action['action_id']}", timeout=10).json()["outcome"]
        == "arrested"
    )
    shot("7-closed")


def _at(north_m: float) -> dict[str, float]:
    lat, lon = offset(north_m, 0)
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def test_a_municipality_admin_is_refused_the_dispatch_actions(
    page: Page, residents: LocalSystem, shot: Callable[[str], None]
) -> None:
    start_action(residents, "control-e2e-admin", "vrouw met blauwe tas")
    sign_in(page, PersonGroup.MUNICIPALITY_ADMIN)

    refused = page.locator("#refused")
    expect(refused).to_be_visible(timeout=WAIT_MS)
    expect(refused).to_contain_text("dispatch")
    for name in ("Update versturen", "Foto plaatsen", "Actie afsluiten"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator(".control__pick")).to_have_count(0)  # not even the list of actions
    shot("admin-refused")


def tab_to(page: Page, element_id: str, max_presses: int = 80) -> None:
    """Press Tab until the element has focus; every stop on the way must show its focus."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {id: el.id, cls: el.className, outline: style.outlineStyle,
                        width: parseFloat(style.outlineWidth)};
            }"""
        )
        assert focused["outline"] != "none" and focused["width"] >= 2, (
            f"focus is not visible on {focused}"
        )
        if focused["id"] == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_update_and_close_with_the_keyboard_alone(
    page: Page, residents: LocalSystem, shot: Callable[[str], None]
) -> None:
    action = start_action(residents, "control-e2e-keys", "jongen op een scooter, groene jas")
    keyboard = page.keyboard
    username, password = person(PersonGroup.DISPATCH)
    tab_to(page, "username")
    keyboard.type(username)
    keyboard.press("Tab")
    keyboard.type(password)
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"{action['ref']} · inbraak")).to_be_visible(
        timeout=WAIT_MS
    )
    assert_accessible(page)

    # The update: typed, sent with Enter, confirmed with Enter (focus starts on "yes")
    tab_to(page, "update-message")
    keyboard.type("Scooter staat bij het station")
    tab_to(page, "update-submit")
    keyboard.press("Enter")
    expect(page.locator("#confirm-yes")).to_be_focused()
    keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("De update is verstuurd.")
    expect(page.locator("#updates li")).to_contain_text("Scooter staat bij het station")

    # The close: the outcome picked with the arrow keys, confirmed with Enter
    tab_to(page, "close-outcome")
    keyboard.press("ArrowDown")  # Gevonden -> Aangehouden
    expect(page.get_by_label("Afloop")).to_have_value("arrested")
    tab_to(page, "close-submit")
    keyboard.press("Enter")
    expect(page.locator("#confirm-yes")).to_be_focused()
    shot("keyboard-confirm")
    keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("Aangehouden")
    assert re.search(
        "arrested",
        requests.get(f"{residents.api}/actions/{action['action_id']}", timeout=10).text,
    )
    shot("keyboard-closed")
