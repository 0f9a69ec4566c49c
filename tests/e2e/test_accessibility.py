"""Our pages as people who use a keyboard, a screen reader, a magnifier or high contrast meet
them: axe-core's WCAG 2.0/2.1 A and AA rules in Chromium, keyboard-only use, visible focus,
languages, contrast, reflow and forced colours (docs/toegankelijkheidsverklaring.md).

Runs Debian's Chromium through Playwright, like test_signup_browser.py; axe-core comes bundled
in axe-playwright-python, so nothing is fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, JSHandle, Page, expect

from tests.support.a11y import assert_accessible, rules_passed
from tests.support.local import DEMO_MUNICIPALITY, LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e

STATEMENT = ROOT / "docs" / "toegankelijkheidsverklaring.md"
SCREENSHOTS = Path("/tmp")
LOCALES = {"nl": "nl-NL", "en": "en-GB"}
# Every stop of the signup form, in the order Tab reaches them (the radio group is one stop).
SIGNUP_TAB_ORDER = [
    "skip-link",
    "language-switch",
    "phone",
    "birth-date",
    "place-0-postcode",
    "place-0-house-number",
    "place-0-addition",
    "add-place",
    "channel-sms",
    "quiet-from",
    "quiet-to",
    "signup-submit",
    "statement-link",
]


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Any]:
    """Opens tabs in a browser of a given language; fails the test on any script error."""
    contexts = []
    errors: list[str] = []

    def open_(url: str, language: str = "nl", width: int = 900) -> Page:
        context = browser.new_context(
            locale=LOCALES[language],
            timezone_id="Europe/Amsterdam",
            viewport={"width": width, "height": 900},
        )
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(url)
        return tab

    try:
        yield open_
    finally:
        for context in contexts:
            context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def signup_url(system: LocalSystem) -> str:
    return f"{system.api}/signup?municipality={DEMO_MUNICIPALITY}"


def page_url(system: LocalSystem, public_pages: dict[str, str], name: str) -> str:
    """The signup page, a closed action's public page, or the accessibility statement."""
    return {
        "signup": signup_url(system),
        "public": public_pages["closed"],
        "statement": f"{system.api}/toegankelijkheid",
    }[name]


def in_language(tab: Page, language: str) -> Page:
    """The signup page switched to `language` the way a reader does: with its switch."""
    if language == "en":
        tab.get_by_role("button", name="English").click()
    expect(tab.locator("html")).to_have_attribute("lang", language)
    return tab


def start_action(system: LocalSystem, **body: Any) -> dict[str, Any]:
    response = requests.post(
        f"{system.api}/actions",
        json={
            "incident": "burglary",
            "description": "Man, circa 30 jaar, rode jas, zwarte fiets",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 800},
            "place": "Utrecht, Binnenstad",
            **body,
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def public_pages(local_system: LocalSystem) -> dict[str, str]:
    """A public action's page while it runs (with an update), once closed, and one not found."""
    running = start_action(local_system)
    updated = requests.post(
        f"{local_system.api}/actions/{running['action_id']}/updates",
        json={"message": "Nu te voet richting Centraal Station."},
        timeout=10,
    )
    assert updated.status_code == 202, updated.text
    closed = start_action(local_system)
    answer = requests.post(
        f"{local_system.api}/actions/{closed['action_id']}/close",
        json={"outcome": "found", "message": "Dank voor het uitkijken."},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {
        "running": f"{local_system.api}/a/{running['ref']}",
        "closed": f"{local_system.api}/a/{closed['ref']}",
        "missing": f"{local_system.api}/a/BN-0000-0000",
    }


def focus_stops(tab: Page, presses: int) -> list[JSHandle]:
    """The elements Tab reaches from the top of the page, in order (repeats within one control,
    such as a date field's day, month and year, count once)."""
    stops: list[JSHandle] = []
    for _ in range(presses):
        tab.keyboard.press("Tab")
        handle = tab.evaluate_handle("document.activeElement")
        if stops and tab.evaluate("([a, b]) => a === b", [stops[-1], handle]):
            continue
        stops.append(handle)
    return stops


def stop_name(tab: Page, handle: JSHandle) -> str:
    """Its id, else its class, else its tag and text: what a failure message can point at."""
    return str(
        tab.evaluate(
            "el => el.id || el.className || `${el.tagName.toLowerCase()} ${el.textContent}`",
            handle,
        )
    )


# --- axe-core: WCAG 2.0/2.1 A and AA -----------------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_signup_page_has_no_wcag_violations(
    open_tab: Any, utrecht: LocalSystem, language: str
) -> None:
    tab = in_language(open_tab(signup_url(utrecht), language), language)

    results = assert_accessible(tab)

    # Contrast was judged, not skipped; and the statement names the axe-core that judged it.
    assert "color-contrast" in rules_passed(results)
    assert f"axe-core {results['testEngine']['version']}" in STATEMENT.read_text()

    # ... and still none once the API's errors are on the page, next to their fields.
    tab.get_by_role(
        "button", name={"nl": "Stuur mij een code", "en": "Send me a code"}[language]
    ).click()
    expect(tab.locator("[aria-invalid=true]")).to_have_count(1)
    assert_accessible(tab)
    tab.screenshot(path=str(SCREENSHOTS / f"a11y-signup-{language}.png"), full_page=True)


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("which", ["running", "closed", "missing"])
def test_the_public_page_has_no_wcag_violations(
    open_tab: Any, public_pages: dict[str, str], which: str, language: str
) -> None:
    tab = open_tab(public_pages[which], language)

    results = assert_accessible(tab)

    assert "color-contrast" in rules_passed(results)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_accessibility_statement_has_no_wcag_violations_and_is_linked_from_the_pages(
    open_tab: Any, utrecht: LocalSystem, public_pages: dict[str, str], language: str
) -> None:
    signup = in_language(open_tab(signup_url(utrecht), language), language)
    public = open_tab(public_pages["running"], language)

    # Both pages' footers lead to it; an English reader lands on its English summary.
    with signup.expect_navigation():
        signup.locator("#statement-link").click()
    with public.expect_navigation():
        public.get_by_role("link", name=re.compile("Toegankelijkheid")).click()

    assert public.url == f"{utrecht.api}/toegankelijkheid"
    assert signup.url == public.url + ("#english" if language == "en" else "")
    expect(signup.get_by_role("heading", level=1)).to_have_text("Toegankelijkheidsverklaring")
    assert_accessible(signup)
    expect(signup.locator("#english")).to_have_attribute("lang", "en")
    expect(signup.locator("#english h2")).to_have_text("English summary")


# --- languages: each text in the language its `lang` says ----------------------------------------

TEXT_LANGUAGES = """() => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.replace(/\\s+/g, " ").trim();
        if (text) found.push([text, node.parentElement.closest("[lang]").lang]);
    }
    return found;
}"""


def signup_texts() -> dict[str, set[str]]:
    """The signup page's own texts per language, from signup.js: those in one language only, and
    not the switch, which names the other language in that language."""
    script = (ROOT / "chalicelib" / "static" / "signup.js").read_text()
    match = re.search(r"/\* TEXTS-BEGIN \*/(.*?)/\* TEXTS-END \*/", script, re.DOTALL)
    assert match, "signup.js keeps its texts between the TEXTS markers"
    texts = {
        language: {text for key, text in words.items() if key != "switch"}
        for language, words in json.loads(match.group(1)).items()
    }
    return {"nl": texts["nl"] - texts["en"], "en": texts["en"] - texts["nl"]}


def languages_of(shown: list[tuple[str, str]], phrase: str) -> set[str]:
    """The languages the page gives the texts that hold this phrase."""
    return {lang for text, lang in shown if phrase in text}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_signup_page_says_which_language_each_text_is_in(
    open_tab: Any, utrecht: LocalSystem, language: str
) -> None:
    tab = in_language(open_tab(signup_url(utrecht), language), language)
    other = "en" if language == "nl" else "nl"

    shown = [(text, lang) for text, lang in tab.evaluate(TEXT_LANGUAGES)]

    # The switch names the other language in that language, and says so.
    switch = {"nl": "Nederlands", "en": "English"}[other]
    expect(tab.locator("#language-switch")).to_have_text(switch)
    assert {lang for text, lang in shown if text == switch} == {other}
    # Every other text is in the chosen language, marked as such.
    texts = signup_texts()
    assert [text for text, _ in shown if text in texts[other]] == []
    mine = [(text, lang) for text, lang in shown if text in texts[language]]
    assert len(mine) > 10 and {lang for _, lang in mine} == {language}


@pytest.mark.parametrize(
    ("which", "dutch", "english"),
    [
        (
            "running",
            ["De politie zoekt", "Gezien? Bel direct gratis", "Waar", "Begonnen", "Referentie"],
            [
                "Burgernet: burglary in Utrecht, Binnenstad",
                "/ The police are looking for",
                "Seen them? Call the free number",
                "/ Where",
                "/ Started",
                "/ Reference",
            ],
        ),
        (
            "closed",
            ["Afloop", "De gezochte persoon is gevonden."],
            ["/ Result", "The person being sought has been found."],
        ),
        (
            "missing",
            ["Er is geen openbare actie met deze referentie."],
            ["There is no public action with this reference."],
        ),
    ],
)
def test_the_public_page_marks_its_english_as_english(
    open_tab: Any, public_pages: dict[str, str], which: str, dutch: list[str], english: list[str]
) -> None:
    tab = open_tab(public_pages[which], "en")  # an English browser gets the same bilingual page

    expect(tab.locator("html")).to_have_attribute("lang", "nl")
    shown = [(text, lang) for text, lang in tab.evaluate(TEXT_LANGUAGES)]
    assert {text: languages_of(shown, text) for text in dutch} == {text: {"nl"} for text in dutch}
    assert {text: languages_of(shown, text) for text in english} == {
        text: {"en"} for text in english
    }


# --- the keyboard alone ---------------------------------------------------------------------------


def test_tab_reaches_every_field_of_the_signup_form_in_reading_order(
    open_tab: Any, utrecht: LocalSystem
) -> None:
    tab = open_tab(signup_url(utrecht))

    # Date and time fields take a Tab per part (day, month, year): more presses than stops.
    stops = focus_stops(tab, len(SIGNUP_TAB_ORDER) + 12)

    names = [stop_name(tab, stop) for stop in stops]
    assert names[: len(SIGNUP_TAB_ORDER)] == SIGNUP_TAB_ORDER


def test_enter_submits_and_the_error_is_read_out_where_the_focus_lands(
    open_tab: Any, utrecht: LocalSystem
) -> None:
    tab = open_tab(signup_url(utrecht))
    focus_stops(tab, 3)  # skip link, language switch, phone
    expect(tab.locator("#phone")).to_be_focused()

    with tab.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.keyboard.press("Enter")
    assert answer.value.status == 400
    message = answer.value.json()["message"]

    # The focus moves to the field the API names; a screen reader reads its label, then the error.
    invalid = tab.locator(":focus")
    expect(invalid).to_have_attribute("aria-invalid", "true")
    expect(invalid).to_have_accessible_description(re.compile(re.escape(message)))


def test_an_error_of_no_field_is_announced_and_focused(open_tab: Any, utrecht: LocalSystem) -> None:
    tab = open_tab(signup_url(utrecht))
    tab.route(
        "**/signup",
        lambda route: route.abort() if route.request.method == "POST" else route.continue_(),
    )
    focus_stops(tab, 3)

    tab.keyboard.press("Enter")

    status = tab.get_by_role("status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_be_focused()
    expect(status).to_have_text(re.compile("Er is geen verbinding met Burgernet"))
    assert_accessible(tab)


# --- focus you can see -------------------------------------------------------------------------

# How an element shows focus: its outline and shadow, and whether they draw anything at all.
FOCUS_STYLE = """el => {
    const style = getComputedStyle(el);
    const outline = [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" ");
    return {
        look: `${outline} ${style.boxShadow}`,
        drawn:
            (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
            || style.boxShadow !== "none",
    };
}"""


@pytest.mark.parametrize("colours", ["none", "active"], ids=["normal", "forced-colours"])
@pytest.mark.parametrize("page_name", ["signup", "public", "statement"])
def test_every_tab_stop_shows_it_has_the_focus(
    open_tab: Any,
    utrecht: LocalSystem,
    public_pages: dict[str, str],
    page_name: str,
    colours: str,
) -> None:
    tab = open_tab(page_url(utrecht, public_pages, page_name))
    tab.emulate_media(forced_colors=colours)  # Windows' high contrast themes

    # Each stop's look while Tab holds it (once round the page), then once nothing has the focus.
    seen: list[tuple[JSHandle, dict[str, Any]]] = []
    for _ in range(25):
        tab.keyboard.press("Tab")
        stop = tab.evaluate_handle("document.activeElement")
        if tab.evaluate(
            "([el, seen]) => el === document.body || seen.includes(el)",
            [stop, [h for h, _ in seen]],
        ):
            continue
        seen.append((stop, tab.evaluate(FOCUS_STYLE, stop)))
    tab.evaluate("document.activeElement.blur()")

    assert len(seen) >= 2, f"too few tab stops: {[stop_name(tab, h) for h, _ in seen]}"
    # Focused, each draws an outline or a shadow, and looks different from unfocused.
    unseen = {
        stop_name(tab, stop): focused["look"]
        for stop, focused in seen
        if not focused["drawn"] or tab.evaluate(FOCUS_STYLE, stop)["look"] == focused["look"]
    }
    assert not unseen, f"focus is not visible on: {unseen}"


# --- zoom and contrast ----------------------------------------------------------------------------


TOO_WIDE = """() => {
    const wide = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const box of range.getClientRects()) {
            if (box.right > innerWidth) wide.push(`${node.textContent.trim().slice(0, 40)}`);
        }
    }
    return wide;
}"""


@pytest.mark.parametrize("width", [640, 320], ids=["200-percent", "400-percent"])
@pytest.mark.parametrize("page_name", ["signup", "public", "statement"])
def test_zoomed_in_the_page_reflows_and_keeps_its_contrast(
    open_tab: Any,
    utrecht: LocalSystem,
    public_pages: dict[str, str],
    page_name: str,
    width: int,
) -> None:
    """A 1280 px wide window zoomed to 200 % or 400 % is 640 or 320 CSS pixels wide (WCAG 1.4.10:
    no scrolling sideways at 320)."""
    tab = open_tab(page_url(utrecht, public_pages, page_name), width=width)

    sideways = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0, (
        f"{sideways} px to scroll sideways at {width} px: {tab.evaluate(TOO_WIDE)}"
    )
    assert "color-contrast" in rules_passed(assert_accessible(tab))
    tab.screenshot(path=str(SCREENSHOTS / f"a11y-{page_name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("page_name", ["signup", "public", "statement"])
def test_in_forced_colours_nothing_is_lost(
    open_tab: Any, utrecht: LocalSystem, public_pages: dict[str, str], page_name: str
) -> None:
    """Windows' contrast themes replace our colours: what colour alone said must survive."""
    tab = open_tab(page_url(utrecht, public_pages, page_name))
    tab.emulate_media(forced_colors="active")

    assert_accessible(tab)
    if page_name == "signup":
        # An error keeps its marker and bar, not only its red.
        tab.get_by_role("button", name="Stuur mij een code").click()
        error = tab.locator(".field-error:visible").first
        expect(error).to_be_visible()
        marker = error.evaluate("el => getComputedStyle(el, '::before').content")
        assert marker == '"! "'
        bar = tab.locator(".has-error").first.evaluate(
            "el => [getComputedStyle(el).borderLeftStyle, getComputedStyle(el).borderLeftWidth]"
        )
        assert bar == ["solid", "4px"]
