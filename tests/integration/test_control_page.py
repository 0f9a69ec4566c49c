"""The control room page as the Lambda serves it: HTML, its two built assets, and a policy that
lets in exactly the map's tiles and Cognito, nothing else."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from chalice.test import Client

from chalicelib import runtime as runtime_module
from tools import build_control

PDOK = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"


class Page(HTMLParser):
    """The page's elements with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.elements if t == tag]

    def meta(self, name: str) -> str:
        return next(a["content"] for a in self.all("meta") if a.get("name") == name)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_the_page_is_dutch_html_with_pdoks_map_and_cognito_let_in(client: Client) -> None:
    response = client.http.get("/control")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = parse(response.body.decode("utf-8"))
    assert page.all("html")[0]["lang"] == "nl"
    assert page.meta("burgernet-map-tiles") == PDOK
    assert "Kadaster" in page.meta("burgernet-map-attribution")
    policy = directives(response.headers["Content-Security-Policy"])
    # Tiles from PDOK, sign-in at Cognito's regional endpoint; scripts and styles only our own.
    assert policy["img-src"] == ["'self'", "data:", "https://service.pdok.nl"]
    assert policy["connect-src"] == ["'self'", "https://cognito-idp.eu-west-1.amazonaws.com"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_the_tiles_come_from_the_settings(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's stand-in, as `make run` sets it: the page and its policy follow."""
    standin = "http://127.0.0.1:5003/tiles/{z}/{x}/{y}.png"
    monkeypatch.setenv("MAP_TILES_URL", standin)
    runtime_module.reset()

    response = client.http.get("/control")

    assert parse(response.body.decode("utf-8")).meta("burgernet-map-tiles") == standin
    img = directives(response.headers["Content-Security-Policy"])["img-src"]
    assert img == ["'self'", "data:", "http://127.0.0.1:5003"]


def test_the_page_loads_nothing_from_elsewhere(client: Client) -> None:
    html = client.http.get("/control").body.decode("utf-8")
    page = parse(html)
    urls = [a["src"] for _, a in page.elements if "src" in a]
    urls += [a["href"] for a in page.all("link") if a.get("rel") == "stylesheet"]
    assert len(urls) == 3, urls  # signup.css (the shared look), control.css, control.js
    for url in urls:
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, url  # no CDN
        assert not url.startswith("/"), f"{url} would miss an API Gateway stage prefix"
    # No inline script or style: the policy allows same-origin files only.
    assert all("src" in a for a in page.all("script"))
    assert not any(k.startswith("on") or k == "style" for _, a in page.elements for k in a)


@pytest.mark.parametrize("stage", ["", "/api"])
def test_relative_urls_resolve_to_the_routes_with_and_without_a_stage(
    client: Client, stage: str
) -> None:
    page_url = f"https://example.execute-api.eu-west-1.amazonaws.com{stage}/control"
    page = parse(client.http.get("/control").body.decode("utf-8"))
    assets = [a["src"] for a in page.all("script")] + [
        a["href"] for a in page.all("link") if a.get("rel") == "stylesheet"
    ]
    for asset in assets:
        resolved = urlsplit(urljoin(page_url, asset)).path
        assert client.http.get(resolved.removeprefix(stage)).status_code == 200, resolved
    # control.js finds the API at "../../" from its own URL: the same root the page is under.
    api_root = urljoin(urljoin(page_url, "control/assets/control.js"), "../../")
    assert urlsplit(urljoin(api_root, "control/actions")).path == f"{stage}/control/actions"


def test_the_bundle_is_leaflet_as_locked_then_ours(client: Client) -> None:
    script = client.http.get("/control/assets/control.js")
    style = client.http.get("/control/assets/control.css")

    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert style.headers["Content-Type"] == "text/css; charset=utf-8"
    js, css = script.body.decode("utf-8"), style.body.decode("utf-8")
    # Leaflet's own licence header first, at the version package-lock.json pins.
    assert js.startswith(f"/* @preserve\n * Leaflet {build_control.locked_version()}")
    assert "Burgernet control room" in js and ".leaflet-container" in css
    # No source map the Lambda would not serve, and nothing fetched from a CDN.
    assert "sourceMappingURL" not in js
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", _code(js).split("\n\n", 1)[1])


def _code(js: str) -> str:
    """The bundle without its block and line comments (links in comments are not loaded)."""
    return re.sub(r"/\*.*?\*/|(?<![:\"'])//[^\n]*", "", js, flags=re.DOTALL)


@pytest.mark.parametrize("name", ["signup.js", "control.html", "control.js.map", "leaflet.js"])
def test_only_the_bundle_is_served_as_an_asset(client: Client, name: str) -> None:
    response = client.http.get(f"/control/assets/{name}")

    assert response.status_code == 404
    assert response.json_body["error"] == "not_found"


@pytest.mark.parametrize("name", ["control.js", "control.css"])
def test_a_browser_revalidates_the_bundle_for_a_304(client: Client, name: str) -> None:
    first = client.http.get(f"/control/assets/{name}")
    etag = first.headers["ETag"]

    again = client.http.get(f"/control/assets/{name}", headers={"If-None-Match": etag})
    stale = client.http.get(f"/control/assets/{name}", headers={"If-None-Match": '"old"'})

    assert (again.status_code, again.body) == (304, b"")
    assert again.headers["ETag"] == etag
    assert stale.status_code == 200 and stale.body == first.body
