"""End to end in a real browser: a resident signs up on the page and then gets an alert.

Runs Debian's Chromium (/usr/bin/chromium) through Playwright; Playwright never downloads a
browser here. Without Chromium the tests are skipped, unless CI is set: CI installs it (.ci/run),
so there a missing browser is a failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.a11y import assert_accessible
from tests.support.local import DEMO_MUNICIPALITY as MUNICIPALITY
from tests.support.local import PATIENCE_S, LocalSystem

pytestmark = pytest.mark.e2e

DOMPLEIN = (52.0907, 5.1214)  # 3511 LX 1 in the geocoder stand-in
SCREENSHOTS = Path("/tmp")
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def thirty_years_ago() -> date:
    today = date.today()
    try:
        return today.replace(year=today.year - 30)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 30, day=28)


@pytest.fixture
def page(browser: Browser, utrecht: LocalSystem) -> Iterator[Page]:
    """A fresh tab on the signup page, with a Dutch browser."""
    context = browser.new_context(
        locale="nl-NL", timezone_id="Europe/Amsterdam", viewport={"width": 900, "height": 900}
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{utrecht.api}/signup?municipality={MUNICIPALITY}")
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def label(page: Page, text: str) -> Locator:
    """The control with exactly this label (Playwright matches substrings by default)."""
    return page.get_by_label(text, exact=True)


def fill_step_1(page: Page, phone: str, postcode: str, house_number: str) -> None:
    label(page, "Telefoonnummer").fill(phone)
    label(page, "Geboortedatum").fill(thirty_years_ago().isoformat())
    label(page, "Postcode").fill(postcode)
    label(page, "Huisnummer").fill(house_number)


def wait_for_code(system: LocalSystem, phone: str, already: int = 0) -> str:
    """The 6-digit code in the newest SMS to this phone (E.164), waiting up to the deadline."""
    end = time.monotonic() + PATIENCE_S
    while time.monotonic() < end:
        texts = system.sms_to(phone)
        if len(texts) > already:
            found = CODE.search(texts[-1])
            assert found, f"no 6-digit code in {texts[-1]!r}"
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no code SMS to {phone} within {PATIENCE_S} s")


def date_keys(page: Page, day: date) -> str:
    """The digits that type this date into a date field. Their order follows the browser's own
    locale (Chromium's, not the page's), so ask a scratch tab which order it uses."""
    probe = page.context.new_page()
    try:
        probe.set_content('<input type="date" id="probe">')
        probe.focus("#probe")
        probe.keyboard.type("01022003")
        order = probe.input_value("#probe")
    finally:
        probe.close()
        page.bring_to_front()
    if order == "2003-02-01":
        return f"{day.day:02d}{day.month:02d}{day.year}"
    assert order == "2003-01-02", f"unexpected date field order: {order!r}"
    return f"{day.month:02d}{day.day:02d}{day.year}"


def tab_to(page: Page, element_id: str, max_presses: int = 40) -> None:
    """Press Tab until the element has focus; every stop on the way must show its focus."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                const width = parseFloat(style.outlineWidth);
                return {id: el.id, outline: style.outlineStyle, width};
            }"""
        )
        assert focused["outline"] != "none" and focused["width"] >= 2, (
            f"focus is not visible on #{focused['id']}: {focused}"
        )
        if focused["id"] == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_resident_signs_up_and_is_alerted(page: Page, local_system: LocalSystem) -> None:
    phone, e164 = "06-12340001", "+31612340001"

    # A resident fills in the form
    fill_step_1(page, phone, "3511 LX", "1")
    page.screenshot(path=str(SCREENSHOTS / "signup-form.png"), full_page=True)
    page.get_by_role("button", name="Stuur mij een code").click()

    # ... gets a code by SMS and types it in step 2
    code_input = label(page, "Code van 6 cijfers")
    expect(code_input).to_be_focused()
    expect(page.locator("#code-hint")).to_contain_text(phone)
    code = wait_for_code(local_system, e164)
    assert_accessible(page)  # step 2, as axe-core's WCAG A and AA rules see it
    page.screenshot(path=str(SCREENSHOTS / "signup-code.png"), full_page=True)
    code_input.fill(code)
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("heading", name="U bent aangemeld")).to_be_visible()
    expect(page.locator("#step-1")).to_be_hidden()
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "signup-done.png"), full_page=True)

    # When dispatch starts an action 500 m around the address, the resident is alerted
    received = len(local_system.sms_to(e164))
    response = requests.post(
        f"{local_system.api}/actions",
        json={
            "incident": "burglary",
            "description": "man, circa 30 jaar, rode jas, zwarte fiets",
            "area": {"lat": DOMPLEIN[0], "lon": DOMPLEIN[1], "radius_m": 500},
        },
        headers={"Idempotency-Key": "browser-signup-1"},
        timeout=5,
    )
    assert response.status_code == 202, response.text
    end = time.monotonic() + PATIENCE_S
    while len(local_system.sms_to(e164)) == received and time.monotonic() < end:
        time.sleep(0.2)
    alerts = local_system.sms_to(e164)[received:]
    assert len(alerts) == 1, f"expected one alert within {PATIENCE_S} s, got {alerts}"
    assert "0800-0011" in alerts[0] and response.json()["ref"] in alerts[0]


def test_an_unknown_address_is_shown_at_the_postcode_and_sends_no_code(
    page: Page, local_system: LocalSystem
) -> None:
    e164 = "+31612340002"
    fill_step_1(page, "06-12340002", "9999 ZZ", "1")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Stuur mij een code").click()
    assert answer.value.status == 400
    problem = answer.value.json()

    postcode = label(page, "Postcode")
    expect(postcode).to_have_attribute("aria-invalid", "true")
    expect(postcode).to_be_focused()
    described_by = (postcode.get_attribute("aria-describedby") or "").split()
    errors = [i for i in described_by if i.endswith("-error")]
    assert len(errors) == 1, described_by
    error = page.locator(f"#{errors[0]}")
    expect(error).to_be_visible()
    expect(error).to_have_text(problem["message"])
    # ... right next to the field: inside the same field block, just above the input
    field_box, error_box = postcode.bounding_box(), error.bounding_box()
    assert field_box and error_box
    assert 0 <= field_box["y"] - (error_box["y"] + error_box["height"]) < 40
    page.screenshot(path=str(SCREENSHOTS / "signup-error.png"), full_page=True)

    # Still on step 1, and nothing was sent to the phone
    expect(page.locator("#step-2")).to_be_hidden()
    time.sleep(1)
    assert local_system.sms_to(e164) == []


def test_keyboard_only(page: Page, local_system: LocalSystem) -> None:
    e164 = "+31612340003"
    keyboard = page.keyboard
    born = thirty_years_ago()
    birth_date_keys = date_keys(page, born)

    tab_to(page, "phone")
    keyboard.type("06-12340003")
    tab_to(page, "birth-date")
    keyboard.type(birth_date_keys)
    expect(label(page, "Geboortedatum")).to_have_value(born.isoformat())
    tab_to(page, "place-0-postcode")
    keyboard.type("3511 LX")
    tab_to(page, "place-0-house-number")
    keyboard.type("1")

    # A second place, "werk", added with the keyboard: focus moves into it
    tab_to(page, "add-place")
    keyboard.press("Enter")
    expect(page.get_by_role("group", name="Werkadres")).to_be_visible()
    work_postcode = page.get_by_role("group", name="Werkadres").get_by_label("Postcode", exact=True)
    expect(work_postcode).to_be_focused()
    keyboard.type("3512 JE")
    keyboard.press("Tab")
    keyboard.type("12")

    # Radio buttons answer the arrow keys
    tab_to(page, "channel-sms")
    keyboard.press("ArrowDown")
    expect(label(page, "Gebeld worden (een ingesproken bericht)")).to_be_checked()
    keyboard.press("ArrowUp")
    expect(label(page, "Sms")).to_be_checked()

    tab_to(page, "signup-submit")
    keyboard.press("Enter")
    expect(label(page, "Code van 6 cijfers")).to_be_focused()
    keyboard.type(wait_for_code(local_system, e164))
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="U bent aangemeld")).to_be_focused()


def test_the_english_switch(page: Page, local_system: LocalSystem) -> None:
    switch = page.get_by_role("button", name="English")
    switch.click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(label(page, "Phone number")).to_be_visible()
    expect(label(page, "Date of birth")).to_be_visible()
    expect(label(page, "House number")).to_be_visible()
    expect(page.get_by_role("group", name="Home address")).to_be_visible()
    expect(page.get_by_role("button", name="Send me a code")).to_be_visible()
    assert page.title() == "Sign up for Burgernet"
    page.screenshot(path=str(SCREENSHOTS / "signup-english.png"), full_page=True)

    # The API is asked in English, and its English message is what the page shows
    label(page, "Phone number").fill("06-12340004")
    label(page, "Date of birth").fill(thirty_years_ago().isoformat())
    label(page, "Postcode").fill("9999 ZZ")
    label(page, "House number").fill("1")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send me a code").click()
    request = answer.value.request
    assert request.headers["accept-language"] == "en"
    assert (request.post_data_json or {}).get("language") == "en"
    expect(page.locator("#place-0-postcode-error")).to_have_text(answer.value.json()["message"])

    # ... and back to Dutch
    page.get_by_role("button", name="Nederlands").click()
    expect(label(page, "Telefoonnummer")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
