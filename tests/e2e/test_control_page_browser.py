"""The control room page in Chromium against a stand-in API (tests/support/control_api.py): what a
dispatcher sees and can do, whatever the backend's timing. The page against the real local system
is tests/e2e/test_control_room.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.a11y import assert_accessible, rules_passed
from tests.support.control_api import ORIGIN, ControlApi
from tests.support.screens import assert_not_blank
from tools.tiles_standin import tile

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path("/tmp")
ACTION = "6c0987ba-0000-4000-8000-000000000001"


def detail(**changes: Any) -> dict[str, Any]:
    """One action for the live view, as docs/api.md's example."""
    body: dict[str, Any] = {
        "action": {
            "action_id": ACTION,
            "ref": "WWQPK6",
            "status": "active",
            "incident": "burglary",
            "description": "man, circa 30 jaar, rode jas, zwarte fiets",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500.0},
            "created_at": "2026-11-28T21:17:00Z",
            "expires_at": "2026-11-28T21:47:00Z",
            "closed_at": None,
            "outcome": None,
            "updates": [],
        },
        "centre": {"lat": 52.0907, "lon": 5.1214},
        "channels": {
            "sms": {
                "people": 1174,
                "queued": 299,
                "sent": 870,
                "failed": 4,
                "unknown": 1,
                "cancelled": 0,
            },
            "voice": {
                "people": 2,
                "queued": 0,
                "sent": 2,
                "failed": 0,
                "unknown": 0,
                "cancelled": 0,
                "answered": 1,
            },
            "push": {
                "people": 301,
                "queued": 1,
                "sent": 300,
                "failed": 0,
                "unknown": 0,
                "cancelled": 0,
            },
        },
        "series": {
            "minutes": ["2026-11-28T21:17:00Z", "2026-11-28T21:18:00Z", "2026-11-28T21:19:00Z"],
            "sms": [120, 600, 151],
            "voice": [0, 2, 0],
            "push": [300, 0, 0],
        },
        "sightings": [
            {
                "seen_at": "2026-11-28T21:24:10Z",
                "received_at": "2026-11-28T21:24:31Z",
                "lat": 52.0997,
                "lon": 5.1214,
                "text": "rode jas, richting <b>station</b>",
                "distance_m": 1000,
                "bearing_deg": 0.0,
            }
        ],
        "sightings_more": False,
    }
    body.update(changes)
    return body


@pytest.fixture
def api() -> ControlApi:
    return ControlApi(
        users={
            "centralist": ("Geheim-123!", ["dispatch"]),
            "gemeente": ("Geheim-456!", ["municipality-admin"]),
        },
        actions=[
            {
                "action_id": ACTION,
                "ref": "WWQPK6",
                "incident": "burglary",
                "created_at": "2026-11-28T21:17:00Z",
                "status": "active",
            }
        ],
        details={ACTION: detail()},
    )


@pytest.fixture
def page(browser: Browser, api: ControlApi) -> Iterator[Page]:
    context = browser.new_context(
        locale="nl-NL", timezone_id="Europe/Amsterdam", viewport={"width": 1280, "height": 1000}
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    api.attach(tab)
    tab.goto(f"{ORIGIN}/control?poll_ms=1000")
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Gebruikersnaam", exact=True).fill(username)
    page.get_by_label("Wachtwoord", exact=True).fill(password)
    page.get_by_role("button", name="Inloggen").click()


def test_a_dispatcher_sees_the_area_reach_chart_and_sightings(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")

    expect(page.get_by_role("heading", name="WWQPK6 · inbraak")).to_be_visible()
    expect(page.locator("#who")).to_have_text("centralist")
    # The area as a circle on the map, over the tiles
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)
    expect(page.locator("#map img.leaflet-tile-loaded").first).to_be_visible()
    # Reach per channel, voice with its answered calls
    sms = page.locator('#reach-rows tr[data-channel="sms"]')
    expect(sms.locator('[data-count="sent"]')).to_have_text("870")
    expect(sms.locator('[data-count="queued"]')).to_have_text("299")
    expect(
        page.locator('#reach-rows tr[data-channel="voice"] [data-count="answered"]')
    ).to_have_text("1")
    # The chart: one line per channel that sent, and a caption saying the same in words
    expect(page.locator("#chart polyline")).to_have_count(3)
    expect(page.locator("#chart-caption")).to_contain_text("sms 871")
    # A sighting: its marker, and on click its time, text and distance; typed text stays text
    marker = page.locator(".leaflet-marker-icon")
    expect(marker).to_have_count(1)
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("22:24:10")
    expect(popup).to_contain_text("rode jas, richting <b>station</b>")
    expect(popup).to_contain_text("1 km N")
    expect(page.locator("#sightings li")).to_have_text(re.compile("Tip om 22:24:10, 1 km N"))
    page.screenshot(path=str(SCREENSHOTS / "control-mocked.png"), full_page=True)
    assert_not_blank(SCREENSHOTS / "control-mocked.png")


def test_it_polls_with_etags_and_shows_news(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    expect(page.locator('#reach-rows tr[data-channel="sms"] [data-count="sent"]')).to_have_text(
        "870"
    )
    page.wait_for_timeout(2500)
    # Unchanged: the page asked with its ETag and got 304s
    assert any(status == 304 and tag for _, tag, status in api.polls), api.polls

    # News: a second sighting and a result arrive on the next poll
    news = detail()
    news["sightings"].insert(
        0,
        {
            **news["sightings"][0],
            "received_at": "2026-11-28T21:30:00Z",
            "lat": 52.085,
            "lon": 5.13,
            "text": "fiets in de gracht",
        },
    )
    news["action"].update(status="closed", outcome="arrested", closed_at="2026-11-28T21:31:00Z")
    api.details[ACTION] = news
    expect(page.locator(".leaflet-marker-icon")).to_have_count(2)
    expect(page.locator("#result")).to_have_text(re.compile("Afgesloten om 22:31:00: Aangehouden"))
    expect(page.locator("#acts")).to_be_hidden()  # nothing left to act on


def test_it_says_when_the_data_is_stale(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    freshness = page.locator("#freshness")
    expect(freshness).to_have_text(re.compile("^Bijgewerkt om"))
    expect(freshness).to_have_attribute("data-stale", "false")

    api.down = True
    # Three polls (1 s apart here) without an answer: the page says so, and what it shows is old
    expect(freshness).to_have_attribute("data-stale", "true", timeout=8000)
    expect(freshness).to_contain_text("verouderd")
    page.screenshot(path=str(SCREENSHOTS / "control-stale.png"), full_page=True)

    api.down = False
    expect(freshness).to_have_attribute("data-stale", "false", timeout=8000)


def test_a_request_that_never_returns_does_not_stop_the_polls(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    freshness = page.locator("#freshness")
    expect(freshness).to_have_attribute("data-stale", "false")

    api.hang = True
    expect(freshness).to_have_attribute("data-stale", "true", timeout=8000)
    api.hang = False
    # The hung poll gives up (10 s), the next ones get through
    expect(freshness).to_have_attribute("data-stale", "false", timeout=20000)
    assert api.hung


def test_an_update_is_confirmed_then_sent_and_a_refusal_shows_the_apis_words(
    page: Page, api: ControlApi
) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    page.get_by_label("Bericht aan iedereen die gealarmeerd is").fill(
        "Nu te voet, richting station"
    )

    # Cancelled at the confirmation: nothing is sent
    page.get_by_role("button", name="Update versturen").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Nu te voet, richting station")
    dialog.get_by_role("button", name="Annuleren").click()
    expect(dialog).to_be_hidden()
    assert api.posted == []

    page.get_by_role("button", name="Update versturen").click()
    page.get_by_role("dialog").get_by_role("button", name="Ja, update versturen").click()
    expect(page.locator("#status")).to_have_text("De update is verstuurd.")
    method, path, headers, body = api.posted[0]
    assert (method, path) == ("POST", f"/control/actions/{ACTION}/updates")
    assert headers["content-type"] == "application/json" and headers["idempotency-key"]
    assert b"Nu te voet" in body

    # The API refuses the close: its message is what the dispatcher reads, next to the form
    refusal = "This action is closed; it cannot be closed again."
    api.refuse["POST close"] = (409, {"error": "action_closed", "message": refusal})
    page.get_by_label("Afloop").select_option("arrested")
    page.get_by_role("button", name="Actie afsluiten").click()
    page.get_by_role("dialog").get_by_role("button", name="Ja, actie afsluiten").click()
    expect(page.locator("#close-error")).to_have_text(refusal)
    page.screenshot(path=str(SCREENSHOTS / "control-refused.png"), full_page=True)


def test_a_municipality_admin_is_refused_and_offered_nothing_to_do(
    page: Page, api: ControlApi
) -> None:
    sign_in(page, "gemeente", "Geheim-456!")

    refused = page.locator("#refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("This needs the dispatch group; you are in municipality-admin.")
    for name in ("Update versturen", "Foto plaatsen", "Actie afsluiten"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator("#list")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "control-admin.png"), full_page=True)


def test_a_wrong_password_says_so_and_keeps_the_room_closed(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "fout")

    expect(page.locator("#sign-in-error")).to_have_text(
        "Inloggen lukte niet: Incorrect username or password."
    )
    expect(page.locator("#room")).to_be_hidden()
    expect(page.get_by_label("Wachtwoord", exact=True)).to_be_focused()


def test_english(page: Page, api: ControlApi) -> None:
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Username", exact=True).fill("centralist")
    page.get_by_label("Password", exact=True).fill("Geheim-123!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="WWQPK6 · burglary")).to_be_visible()
    expect(page.get_by_role("button", name="Close the action")).to_be_visible()


def test_axe_finds_no_wcag_a_or_aa_violation_signed_out_in_and_confirming(
    page: Page, api: ControlApi
) -> None:
    assert_accessible(page)
    sign_in(page, "centralist", "Geheim-123!")
    expect(page.locator(".leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("#chart polyline")).to_have_count(3)
    assert_accessible(page)
    page.locator(".leaflet-marker-icon").click()
    expect(page.locator(".leaflet-popup-content")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Bericht aan iedereen die gealarmeerd is").fill("Nu te voet")
    page.get_by_role("button", name="Update versturen").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")  # the dialog closes with Escape, sending nothing
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert api.posted == []
    page.get_by_role("button", name="English").click()
    assert_accessible(page)


def test_a_photo_is_confirmed_then_put_as_the_file_itself(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    photo = tile(True)

    # None chosen: the page says so and sends nothing
    page.get_by_role("button", name="Foto plaatsen").click()
    expect(page.locator("#photo-error")).to_have_text("Kies eerst een foto.")

    page.get_by_label("Foto (JPEG of PNG)").set_input_files(
        files=[{"name": "verdachte.png", "mimeType": "image/png", "buffer": photo}]
    )
    page.get_by_role("button", name="Foto plaatsen").click()
    expect(page.get_by_role("dialog")).to_contain_text("verdachte.png")
    page.get_by_role("dialog").get_by_role("button", name="Ja, foto plaatsen").click()
    expect(page.locator("#status")).to_have_text("De foto is geplaatst.")
    method, path, headers, body = api.posted[0]
    assert (method, path) == ("PUT", f"/control/actions/{ACTION}/photo")
    assert headers["content-type"] == "image/png" and body == photo


def test_the_authenticator_code_is_asked_when_cognito_asks_for_it(
    page: Page, api: ControlApi
) -> None:
    """As in prod, where the pool requires TOTP: password first, then the code, then the room."""
    api.mfa["centralist"] = "123456"
    sign_in(page, "centralist", "Geheim-123!")
    code = page.get_by_label("Code uit uw authenticator-app", exact=True)
    expect(code).to_be_focused()
    expect(page.locator("#room")).to_be_hidden()

    code.fill("123456")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="WWQPK6 · inbraak")).to_be_visible()
    operation, answer = api.cognito_calls[-1]
    assert operation == "RespondToAuthChallenge"
    assert answer["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert answer["Session"] == "session-centralist"


def test_an_expired_token_is_refreshed_once_then_the_person_signs_in_again(
    page: Page, api: ControlApi
) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    expect(page.locator("#freshness")).to_have_text(re.compile("^Bijgewerkt om"))

    # The ID token ends (after 60 minutes in prod): the refresh token gets a new one, silently
    api.expire_tokens()
    api.details[ACTION] = detail(sightings=[])
    expect(page.locator("#sightings-empty")).to_be_visible()
    assert any(p.get("AuthFlow") == "REFRESH_TOKEN_AUTH" for _, p in api.cognito_calls)

    # The shift is over (the refresh token ends too): back to the sign-in, saying why
    api.refresh_tokens.clear()
    api.expire_tokens()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Uw sessie is verlopen. Log opnieuw in.")
    expect(page.locator("#room")).to_be_hidden()


@pytest.mark.parametrize(
    ("area", "paths"),
    [
        # A polygon with a hole: one path (Leaflet draws the hole inside it)
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[5.11, 52.08], [5.14, 52.08], [5.14, 52.10], [5.11, 52.10], [5.11, 52.08]],
                    [[5.12, 52.085], [5.13, 52.085], [5.13, 52.09], [5.12, 52.085]],
                ],
            },
            1,
        ),
        # A corridor of two segments: a band per segment, a circle per vertex, and the line
        (
            {
                "type": "LineString",
                "coordinates": [[5.10, 52.08], [5.12, 52.09], [5.14, 52.09]],
                "buffer_m": 300,
            },
            2 + 3 + 1,
        ),
    ],
)
def test_polygons_and_corridors_are_drawn(
    page: Page, api: ControlApi, area: dict[str, Any], paths: int
) -> None:
    body = detail()
    body["action"]["area"] = area
    api.details[ACTION] = body
    sign_in(page, "centralist", "Geheim-123!")

    expect(page.locator("#map path.leaflet-interactive")).to_have_count(paths)
    box = page.locator("#map path.leaflet-interactive").first.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 20  # fitted to the view, not a speck


TOO_WIDE = """() => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 1
        && !el.closest(".control__table-wrap, .leaflet-container"))
    .map((el) => el.id || el.className || el.tagName)"""


@pytest.mark.parametrize("width", [640, 320], ids=["200-percent", "400-percent"])
def test_zoomed_in_it_reflows_and_keeps_its_contrast(
    page: Page, api: ControlApi, width: int
) -> None:
    """A 1280 px window at 200 % or 400 % is 640 or 320 CSS px wide: nothing scrolls sideways but
    the reach table inside its own focusable region (WCAG 1.4.10 allows a data table to)."""
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "centralist", "Geheim-123!")
    expect(page.locator(".leaflet-marker-icon")).to_have_count(1)

    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0, f"{sideways} px to scroll sideways: {page.evaluate(TOO_WIDE)}"
    assert "color-contrast" in rules_passed(assert_accessible(page))
    page.screenshot(path=str(SCREENSHOTS / f"control-{width}.png"), full_page=True)


def test_in_forced_colours_axe_finds_nothing_and_focus_shows(page: Page, api: ControlApi) -> None:
    page.emulate_media(forced_colors="active")  # Windows' contrast themes
    sign_in(page, "centralist", "Geheim-123!")
    expect(page.locator(".leaflet-marker-icon")).to_have_count(1)
    assert_accessible(page)
    page.locator("#update-message").focus()
    outline = page.locator("#update-message").evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"


def test_the_accessibility_statement_is_linked(page: Page, api: ControlApi) -> None:
    link = page.get_by_role("link", name="Toegankelijkheid")
    assert link.get_attribute("href") == "toegankelijkheid"  # relative: /toegankelijkheid
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Accessibility")).to_be_visible()


def test_a_sightings_popup_opens_from_the_keyboard(page: Page, api: ControlApi) -> None:
    sign_in(page, "centralist", "Geheim-123!")
    marker = page.get_by_role("button", name=re.compile("^Tip om 22:24:10"))
    marker.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup-content")).to_contain_text("richting <b>station</b>")
