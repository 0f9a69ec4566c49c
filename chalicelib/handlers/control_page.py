"""The control room page: HTML, CSS and JavaScript served by the Lambda itself (no CDN).

Like the signup page it references its assets and the API by RELATIVE URLs, so it works at the
root (`make run`: /control) and behind API Gateway's stage prefix (/api/control) alike. It holds
no data: the page signs in with Cognito and reads the /control/actions routes with that token.
Its script and stylesheet are built from the npm lockfile by `make bundle` (Leaflet, then ours).
"""

from __future__ import annotations

import functools
import hashlib

from chalice import Blueprint, Response

from chalicelib.domain.control_page import cognito_origin, render, tiles_origin
from chalicelib.handlers.http import (
    COMMON_HEADERS,
    error_response,
    page_headers,
    static_file,
    wired,
)
from chalicelib.runtime import runtime

control_page = Blueprint(__name__)

ASSETS: dict[str, str] = {
    "control.css": "text/css; charset=utf-8",
    "control.js": "text/javascript; charset=utf-8",
}


@control_page.route("/control", methods=["GET"])
@wired
def control_page_html() -> Response:
    """The control room page; the map's tiles and Cognito are the only other origins it uses."""
    settings = runtime().settings
    headers = page_headers(
        image_origins=[tiles_origin(settings.map_tiles_url)],
        connect_origins=[cognito_origin(settings.region, settings.endpoint_url)],
    )
    return Response(body=render(settings.map_tiles_url), status_code=200, headers=headers)


@functools.cache
def _etag(name: str) -> str:
    """The built file's ETag: its content's hash, so a new bundle is a new tag."""
    return '"' + hashlib.sha256(static_file(name).encode("utf-8")).hexdigest()[:32] + '"'


@control_page.route("/control/assets/{name}", methods=["GET"])
def control_page_asset(name: str) -> Response:
    """The page's bundled stylesheet and script; nothing else. With an ETag: the browser
    revalidates them on each load (no-cache) and gets 304, not 200 kB again."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return error_response(404, "not_found", "There is no such file for the control room page.")
    etag = _etag(name)
    headers: dict[str, str | list[str]] = {
        **COMMON_HEADERS,
        "Content-Type": content_type,
        "ETag": etag,
    }
    asked = control_page.current_request.headers.get("if-none-match") or ""
    if etag in {tag.strip().removeprefix("W/") for tag in asked.split(",")}:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=static_file(name), status_code=200, headers=headers)
