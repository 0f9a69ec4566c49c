"""The control room page (GET /control): its HTML, and the origins its policy must let in."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import jinja2

from chalicelib.domain.public import web_origin

TEMPLATE = "control.html"
PDOK_HOST = "service.pdok.nl"
PDOK_ATTRIBUTION = "Kaart: BRT-Achtergrondkaart © Kadaster (PDOK)"


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib", "static"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template(TEMPLATE)


def attribution(tiles_url: str) -> str:
    """Whose map it is: PDOK's names Kadaster, as its licence asks; any other names its host."""
    host = urlsplit(tiles_url).hostname or ""
    return PDOK_ATTRIBUTION if host == PDOK_HOST else f"Kaart: {host}"


def render(tiles_url: str) -> str:
    """The page, with the map's tile URL template from the settings."""
    return _template().render(tiles_url=tiles_url, tiles_attribution=attribution(tiles_url))


def cognito_origin(region: str, endpoint_url: str | None) -> str:
    """Where the page signs in: the emulator's origin locally, else Cognito's regional endpoint."""
    if endpoint_url:
        return web_origin(endpoint_url) or endpoint_url
    return f"https://cognito-idp.{region}.amazonaws.com"


def tiles_origin(tiles_url: str) -> str:
    """The tiles' origin, for img-src (settings checked it is an http(s) URL)."""
    return web_origin(tiles_url.replace("{", "").replace("}", "")) or "'none'"
