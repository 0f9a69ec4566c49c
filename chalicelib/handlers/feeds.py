"""The public face of actions, open to anyone: Burgernet's alert list, CAP 1.2, Atom, the page."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib.domain import atom, cap
from chalicelib.domain.errors import NotFound
from chalicelib.domain.public import Site
from chalicelib.handlers.http import COMMON_HEADERS, json_errors, page_headers
from chalicelib.logic import public
from chalicelib.runtime import runtime

feeds = Blueprint(__name__)

CAP_SUFFIX = ".cap"
FEED_MAX_AGE_S = 60  # the feed is polled; a minute of caching costs a reader nothing


def now() -> datetime:
    """The current time (a seam for tests of the 48 hours after a close)."""
    return datetime.now(UTC)


def _site() -> Site:
    settings = runtime().settings
    return Site(settings.public_url, settings.cap_sender, settings.callback_number)


@feeds.route("/public/alerts", methods=["GET"])
def alert_list() -> Response:
    """Public actions in the shape of Burgernet's public alert list (a JSON array), with an ETag
    for polling readers."""
    body = json.dumps(public.alert_list(_site(), now()), separators=(",", ":"))
    # Widgets on other sites fetch it from their visitors' browsers; it is public and read
    # without credentials, so any origin may read it.
    return _polled(body, "application/json", {"Access-Control-Allow-Origin": "*"})


@feeds.route("/public/actions/{name}", methods=["GET"])
@json_errors
def cap_message(name: str) -> Response:
    """The action's latest CAP 1.2 message, at /public/actions/{ref}.cap."""
    if not name.endswith(CAP_SUFFIX):
        raise NotFound(
            "not_found",
            "An action's CAP message is at /public/actions/{ref}.cap, e.g. "
            "/public/actions/K7P2QX.cap.",
        )
    body = public.cap_message(name.removesuffix(CAP_SUFFIX), _site(), now())
    return Response(
        body=body, status_code=200, headers={**COMMON_HEADERS, "Content-Type": cap.MEDIA_TYPE}
    )


@feeds.route("/public/feed.atom", methods=["GET"])
def atom_feed() -> Response:
    """The Atom index of the public actions' CAP messages, with an ETag for polling readers."""
    return _polled(public.feed(_site(), now()), atom.MEDIA_TYPE)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weakly compared, as RFC 9110 asks for GET)."""
    tags = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return etag in tags or "*" in tags


@feeds.route("/a/{ref}", methods=["GET"])
def action_page(ref: str) -> Response:
    """The action's public page (HTML, Dutch with English), or why there is none."""
    status, html, image_origins = public.action_page(ref, _site(), now())
    return Response(body=html, status_code=status, headers=page_headers(image_origins))


@feeds.route("/public/actions", methods=["GET"])
def action_list() -> Response:
    """Public actions with their messages, in Burgernet's action-list shape (JSON)."""
    return _polled(json.dumps(public.action_list(_site(), now())), "application/json")


def _polled(body: str, content_type: str, extra: dict[str, str] | None = None) -> Response:
    """A polled read: cached for FEED_MAX_AGE_S, with an ETag and 304 while it is unchanged."""
    etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    headers: dict[str, str | list[str]] = {
        **COMMON_HEADERS,
        "ETag": etag,
        "Cache-Control": f"public, max-age={FEED_MAX_AGE_S}",
        **(extra or {}),
    }
    if _matches(feeds.current_request.headers.get("if-none-match"), etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body, status_code=200, headers={**headers, "Content-Type": content_type})
