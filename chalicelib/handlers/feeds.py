"""The public face of actions, open to anyone: Burgernet's alert list, CAP 1.2, Atom, the page."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from chalice import Blueprint, Response

from chalicelib.domain import atom, cap
from chalicelib.domain.errors import NotFound
from chalicelib.domain.public import CHANGING_MAX_AGE, Site
from chalicelib.handlers.http import COMMON_HEADERS, json_errors, page_headers
from chalicelib.logic import public
from chalicelib.runtime import runtime

feeds = Blueprint(__name__)

CAP_SUFFIX = ".cap"


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
    return _polled(body, _typed("application/json", {"Access-Control-Allow-Origin": "*"}))


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
    body, max_age = public.cap_message(name.removesuffix(CAP_SUFFIX), _site(), now())
    return _polled(body, _typed(cap.MEDIA_TYPE), max_age)


@feeds.route("/public/feed.atom", methods=["GET"])
def atom_feed() -> Response:
    """The Atom index of the public actions' CAP messages, with an ETag for polling readers."""
    return _polled(public.feed(_site(), now()), _typed(atom.MEDIA_TYPE))


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weakly compared, as RFC 9110 asks for GET)."""
    tags = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return etag in tags or "*" in tags


@feeds.route("/a/{ref}", methods=["GET"])
def action_page(ref: str) -> Response:
    """The action's public page (HTML, Dutch with English), or why there is none."""
    status, html, image_origins, max_age = public.action_page(ref, _site(), now())
    if status == 200:
        return _polled(html, page_headers(image_origins), max_age)
    headers = {**page_headers(), "Cache-Control": _cache_control(max_age)}
    return Response(body=html, status_code=status, headers=headers)


@feeds.route("/public/actions", methods=["GET"])
def action_list() -> Response:
    """Public actions with their messages, in Burgernet's action-list shape (JSON)."""
    return _polled(json.dumps(public.action_list(_site(), now())), _typed("application/json"))


def _typed(content_type: str, extra: dict[str, str] | None = None) -> dict[str, str | list[str]]:
    return {**COMMON_HEADERS, "Content-Type": content_type, **(extra or {})}


def _cache_control(max_age: timedelta) -> str:
    # public: the CDN in front (infra: PublicDistribution) keeps it as long as a browser may.
    return f"public, max-age={int(max_age.total_seconds())}"


def _polled(
    body: str, headers: dict[str, str | list[str]], max_age: timedelta = CHANGING_MAX_AGE
) -> Response:
    """A public read: cacheable for `max_age`, with an ETag and 304 while it is unchanged."""
    etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    cached = {**headers, "ETag": etag, "Cache-Control": _cache_control(max_age)}
    if _matches(feeds.current_request.headers.get("if-none-match"), etag):
        # A 304 describes the stored answer; it has no body to type.
        return Response(
            body="",
            status_code=304,
            headers={k: v for k, v in cached.items() if k != "Content-Type"},
        )
    return Response(body=body, status_code=200, headers=cached)
