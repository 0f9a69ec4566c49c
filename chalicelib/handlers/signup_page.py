"""The signup page: plain HTML, CSS and JavaScript served by the Lambda itself (no CDN, no build),
and the accessibility statement its footer links to.

The page references its assets and the signup routes by RELATIVE URLs, so it works at the root
(`chalice local`: /signup, /signup/assets/signup.js) and behind API Gateway's stage prefix
(/api/signup, /api/signup/assets/signup.js) alike.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.handlers.http import COMMON_HEADERS, error_response, page_headers, static_file

signup_page = Blueprint(__name__)

PAGE = "signup.html"
# Rendered from docs/toegankelijkheidsverklaring.md by `python -m tools.statement`.
STATEMENT = "toegankelijkheid.html"
ASSETS: dict[str, str] = {
    "signup.css": "text/css; charset=utf-8",
    "signup.js": "text/javascript; charset=utf-8",
}


@signup_page.route("/signup", methods=["GET"])
def signup_page_html() -> Response:
    """The signup page; the municipality comes from its `municipality` query parameter."""
    return Response(body=static_file(PAGE), status_code=200, headers=page_headers())


@signup_page.route("/toegankelijkheid", methods=["GET"])
def accessibility_statement() -> Response:
    """The accessibility statement the pages link to (docs/toegankelijkheidsverklaring.md)."""
    return Response(body=static_file(STATEMENT), status_code=200, headers=page_headers())


@signup_page.route("/signup/assets/{name}", methods=["GET"])
def signup_page_asset(name: str) -> Response:
    """The page's stylesheet and script; nothing else."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return error_response(404, "not_found", "There is no such file for the signup page.")
    return Response(
        body=static_file(name),
        status_code=200,
        headers={**COMMON_HEADERS, "Content-Type": content_type},
    )
