"""The signup page as the Lambda serves it: HTML, its two assets, nothing from elsewhere."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from chalice.test import Client

PAGE = "/signup?municipality=GM0344"


class Page(HTMLParser):
    """What the tests look at in the HTML: elements with their attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.i18n: dict[str, str] = {}
        self._open: list[tuple[str, str, list[str]]] = []  # (tag, i18n key, text parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if "data-i18n" in attributes:
            self._open.append((tag, attributes["data-i18n"], []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, key, parts = self._open.pop()
            self.i18n[key] = " ".join("".join(parts).split())

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for _, _, parts in self._open:
            parts.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.elements if t == tag]

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.elements if "id" in attrs}


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture
def html(client: Client) -> str:
    response = client.http.get(PAGE)
    assert response.status_code == 200
    return response.body.decode("utf-8")


@pytest.fixture
def script(client: Client) -> str:
    response = client.http.get("/signup/assets/signup.js")
    assert response.status_code == 200
    return response.body.decode("utf-8")


def texts(script: str) -> dict[str, dict[str, str]]:
    """The page's dictionary {nl: {...}, en: {...}} from signup.js."""
    match = re.search(r"/\* TEXTS-BEGIN \*/(.*?)/\* TEXTS-END \*/", script, re.DOTALL)
    assert match, "signup.js keeps its texts between the TEXTS markers"
    parsed: dict[str, dict[str, str]] = json.loads(match.group(1))
    return parsed


def test_the_page_is_html_in_dutch(client: Client) -> None:
    response = client.http.get(PAGE)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = parse(response.body.decode("utf-8"))
    assert page.all("html")[0]["lang"] == "nl"
    text = " ".join("".join(page.text).split())
    for dutch in (
        "Aanmelden bij Burgernet",
        "Telefoonnummer",
        "Geboortedatum",
        "Postcode",
        "Huisnummer",
        "Werkadres toevoegen",
        "Stuur mij een code",
        "Code van 6 cijfers",
    ):
        assert dutch in text


def test_the_page_loads_nothing_from_elsewhere(client: Client, html: str) -> None:
    page = parse(html)
    urls = [a["src"] for t, a in page.elements if "src" in a]
    urls += [a["href"] for t, a in page.elements if t == "link" and "href" in a]
    assert urls, "the page references its assets"
    for url in urls:
        if url.startswith("data:"):
            continue
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url  # no CDN, no other host
        assert not url.startswith("/"), f"{url} would miss an API Gateway stage prefix"
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html.replace("<!--", "\n"))
    # No inline script or style: the Content-Security-Policy allows same-origin files only.
    assert all("src" in a for a in page.all("script"))
    assert not any(k.startswith("on") or k == "style" for _, a in page.elements for k in a)
    policy = client.http.get(PAGE).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy


@pytest.mark.parametrize("stage", ["", "/api"])
def test_relative_urls_resolve_to_the_routes_with_and_without_a_stage(
    client: Client, html: str, stage: str
) -> None:
    page_url = f"https://example.execute-api.eu-west-1.amazonaws.com{stage}{PAGE}"
    page = parse(html)
    assets = [a["src"] for a in page.all("script")] + [
        a["href"] for a in page.all("link") if a.get("rel") == "stylesheet"
    ]
    for asset in assets:
        resolved = urlsplit(urljoin(page_url, asset)).path
        assert resolved.startswith(f"{stage}/signup/assets/")
        # ... and that route answers (the test client has no stage prefix).
        assert client.http.get(resolved.removeprefix(stage)).status_code == 200
    # signup.js finds the API at "../../" from its own URL: the same root the page is under.
    script_url = urljoin(page_url, "signup/assets/signup.js")
    api_root = urljoin(script_url, "../../")
    assert urlsplit(urljoin(api_root, "signup")).path == f"{stage}/signup"
    assert urlsplit(urljoin(api_root, "signup/verify")).path == f"{stage}/signup/verify"


def test_every_input_has_a_label(html: str) -> None:
    page = parse(html)
    labelled = {a["for"] for a in page.all("label") if "for" in a}
    inputs = page.all("input")
    assert len(inputs) >= 10
    for attrs in inputs:
        assert attrs.get("id") in labelled, attrs
    ids = [a["id"] for _, a in page.elements if "id" in a]
    assert len(ids) == len(set(ids)), "ids are unique"
    for attrs in page.all("fieldset"):
        assert attrs["id"], attrs
    assert len(page.all("legend")) == len(page.all("fieldset"))


def test_the_form_has_the_fields_of_the_contract(html: str) -> None:
    inputs = {a["id"]: a for a in parse(html).all("input")}
    assert inputs["phone"]["type"] == "tel"
    assert inputs["birth-date"]["type"] == "date"
    assert {inputs["place-0-postcode"]["name"], inputs["place-0-house-number"]["name"]} == {
        "postcode",
        "house_number",
    }
    assert inputs["place-0-addition"]["name"] == "addition"
    assert {inputs["channel-sms"]["value"], inputs["channel-voice"]["value"]} == {"sms", "voice"}
    assert "checked" in inputs["channel-sms"]
    assert inputs["quiet-from"]["type"] == inputs["quiet-to"]["type"] == "time"
    code = inputs["code"]
    assert code["inputmode"] == "numeric"
    assert code["autocomplete"] == "one-time-code"
    assert code["maxlength"] == "6"


def test_every_text_exists_in_dutch_and_english(html: str, script: str) -> None:
    dictionary = texts(script)
    assert set(dictionary) == {"nl", "en"}
    assert set(dictionary["nl"]) == set(dictionary["en"])
    page = parse(html)
    for key, shown in page.i18n.items():
        assert key in dictionary["nl"], key
        assert shown == dictionary["nl"][key], f"the HTML's text for {key!r} differs from signup.js"
    assert dictionary["en"]["phone_label"] == "Phone number"


def test_the_script_only_uses_elements_the_page_has(html: str, script: str) -> None:
    ids = parse(html).ids()
    used = set(re.findall(r'\$\("([\w-]+)"\)', script))
    assert used and used <= ids, used - ids
    # Every API field the script maps to a control has an error element next to that control.
    mapped = re.search(r"const FIELD_IDS = \{(.*?)\};", script, re.DOTALL)
    assert mapped
    for control in re.findall(r':\s*"([\w-]+)"', mapped.group(1)):
        assert control in ids and f"{control}-error" in ids, control
    for part in ("postcode", "house-number", "addition"):
        assert f"place-0-{part}-error" in ids


@pytest.mark.parametrize(
    ("name", "content_type", "marker"),
    [
        ("signup.css", "text/css; charset=utf-8", ":focus-visible"),
        ("signup.js", "text/javascript; charset=utf-8", "TEXTS-BEGIN"),
    ],
)
def test_assets_have_their_content_type(
    client: Client, name: str, content_type: str, marker: str
) -> None:
    response = client.http.get(f"/signup/assets/{name}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert marker in response.body.decode("utf-8")


@pytest.mark.parametrize(
    "name", ["signup.html", "missing.js", "..%2Fhandlers%2Fsignup_page.py", "SIGNUP.CSS"]
)
def test_anything_else_under_assets_is_a_json_404(client: Client, name: str) -> None:
    response = client.http.get(f"/signup/assets/{name}")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.body)
    assert body["error"] == "not_found"
    assert body["message"]
