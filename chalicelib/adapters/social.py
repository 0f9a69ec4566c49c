"""Posting on social networks: Mastodon (through Mastodon.py) and X (API v2 over requests).

Each network's `post` makes one post and returns its id, and its `delete` takes one down (one
already gone counts as deleted), or each raises PostFailed; the caller keeps the ledger and
decides what to try again. Neither network gets personal data: posts are public
texts about an action.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNotFoundError,
    MastodonRatelimitError,
)
from requests_oauthlib import OAuth1

TIMEOUT_S = 10.0  # per request; the poster has 60 s, and a post is at most three requests
MASTODON_VERSION = "4.0.0"  # the least we use (POST /api/v2/media); saves asking the server
PHOTO_TYPES = ("image/jpeg", "image/png")
# How far back a duplicate is looked for: X refuses repeats of recent posts, and the poster's
# retries come within minutes, so the post we made is among our last few (threads interleave).
RECENT_POSTS = 50
LINK = re.compile(r"https?://\S+")


class PostFailed(Exception):
    """A network did not take a post, or its answer was lost: the message is tried again later.

    `code` is safe to log: an HTTP status or an error class, never the post's text.
    """

    def __init__(self, network: str, code: str) -> None:
        super().__init__(f"{network}: {code}")
        self.network = network
        self.code = code


class MastodonClient(Protocol):
    """The part of Mastodon.py's client this adapter uses."""

    def status_post(
        self,
        status: str,
        *,
        in_reply_to_id: str | None,
        media_ids: list[Any] | None,
        visibility: str,
        language: str,
        idempotency_key: str,
    ) -> Any: ...

    def media_post(
        self, media_file: Any, *, mime_type: str, description: str, file_name: str
    ) -> Any: ...

    def status_delete(self, id: str, delete_media: bool | None = None) -> Any: ...


class HttpClient(Protocol):
    """The part of a requests.Session the adapters use."""

    def get(self, url: str, *, timeout: float) -> requests.Response: ...

    def post(self, url: str, *, json: Any, timeout: float) -> requests.Response: ...

    def delete(self, url: str, *, timeout: float) -> requests.Response: ...


@dataclass(frozen=True)
class MastodonNetwork:
    """Posts as Burgernet's Mastodon account, with the action's photo when it has one."""

    client: MastodonClient
    photos: HttpClient  # fetches the photo from its public URL
    name: str = "mastodon"

    def post(self, text: str, *, reply_to: str | None, photo_url: str | None, key: str) -> str:
        """Post `text` (a reply when `reply_to`); `key` makes a repeated post return the first."""
        try:
            media = self._upload(photo_url) if photo_url else None
            # Mastodon keeps the Idempotency-Key for an hour: a post whose answer was lost and
            # that is tried again returns the status first made, not a second one.
            status = self.client.status_post(
                text,
                in_reply_to_id=reply_to,
                media_ids=[media] if media else None,
                visibility="public",
                language="nl",
                idempotency_key=key,
            )
        except MastodonRatelimitError:
            raise PostFailed(self.name, "rate_limited") from None
        except MastodonAPIError as exc:
            status_code = exc.args[1] if len(exc.args) > 1 else "?"
            raise PostFailed(self.name, f"http_{status_code}") from None
        except MastodonError as exc:  # unreachable, timed out, ...
            raise PostFailed(self.name, type(exc).__name__) from None
        return str(status["id"])

    def delete(self, post_id: str) -> None:
        """Delete our status `post_id` and its photo (`DELETE /api/v1/statuses/:id`); a 404 means
        it is gone already (an earlier try whose answer was lost, or a moderator)."""
        try:
            # delete_media: the attached photo goes now, not at the server's next media clean-up.
            self.client.status_delete(post_id, delete_media=True)
        except MastodonNotFoundError:
            return
        except MastodonRatelimitError:
            raise PostFailed(self.name, "rate_limited") from None
        except MastodonAPIError as exc:
            status_code = exc.args[1] if len(exc.args) > 1 else "?"
            raise PostFailed(self.name, f"http_{status_code}") from None
        except MastodonError as exc:
            raise PostFailed(self.name, type(exc).__name__) from None

    def _upload(self, url: str) -> Any:
        """The photo as a Mastodon media attachment, or None if it cannot be fetched now.

        A post without its photo beats a post held back: the photo is on the public page too.
        """
        try:
            response = self.photos.get(url, timeout=TIMEOUT_S)
            response.raise_for_status()
        except requests.RequestException:
            return None
        mime_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if mime_type not in PHOTO_TYPES:
            return None
        return self.client.media_post(
            io.BytesIO(response.content),
            mime_type=mime_type,
            description="Foto bij deze Burgernet-actie",
            file_name="burgernet" + (".png" if mime_type == "image/png" else ".jpg"),
        )


@dataclass(frozen=True)
class XNetwork:
    """Posts as Burgernet's X account through API v2 `POST /2/tweets` (text and link, no photo)."""

    http: HttpClient  # a session that signs each request (OAuth 1.0a user context)
    api_url: str  # https://api.x.com
    name: str = "x"

    def post(self, text: str, *, reply_to: str | None, photo_url: str | None, key: str) -> str:
        """Post `text` (a reply when `reply_to`); a repeat of a post we made returns its id.

        X has no idempotency key: it refuses a repeat of a recent post of ours as duplicate
        content. That is a post whose answer was lost, so we find it among our recent posts.
        """
        body: dict[str, Any] = {"text": text}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        try:
            response = self.http.post(f"{self.api_url}/2/tweets", json=body, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise PostFailed(self.name, type(exc).__name__) from None
        if response.status_code == 403 and "duplicate" in response.text.lower():
            return self._made_before(text)
        if response.status_code != 201:
            raise PostFailed(self.name, f"http_{response.status_code}")
        try:
            return str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            raise PostFailed(self.name, "unreadable_answer") from None

    def delete(self, post_id: str) -> None:
        """Delete our post `post_id` (`DELETE /2/tweets/:id`); a 404 means it is gone already."""
        try:
            response = self.http.delete(f"{self.api_url}/2/tweets/{post_id}", timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise PostFailed(self.name, type(exc).__name__) from None
        if response.status_code == 404:
            return
        if response.status_code == 429:
            raise PostFailed(self.name, "rate_limited")
        if response.status_code != 200:
            raise PostFailed(self.name, f"http_{response.status_code}")
        try:
            deleted = response.json()["data"]["deleted"] is True
        except (ValueError, KeyError, TypeError):
            raise PostFailed(self.name, "unreadable_answer") from None
        if not deleted:
            raise PostFailed(self.name, "not_deleted")

    def _made_before(self, text: str) -> str:
        """The id of our recent post with this text, which X refused to make again; PostFailed
        if it is not among them (tried again later).

        The text alone finds it: every post names its action's ref, and X refuses a repeat only
        of the same text, so the post it refused is the one with that text.
        """
        try:
            me = self._get("/2/users/me")["data"]["id"]
            recent = self._get(f"/2/users/{me}/tweets?max_results={RECENT_POSTS}").get("data")
            wanted = _comparable(text)
            for tweet in recent or []:
                if _comparable(tweet["text"]) == wanted:
                    return str(tweet["id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PostFailed(self.name, "duplicate_unreadable_timeline") from None
        raise PostFailed(self.name, "duplicate_not_found")

    def _get(self, path: str) -> Any:
        try:
            response = self.http.get(f"{self.api_url}{path}", timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise PostFailed(self.name, type(exc).__name__) from None
        if response.status_code != 200:
            raise PostFailed(self.name, f"duplicate_lookup_http_{response.status_code}")
        return response.json()


def _comparable(text: str) -> str:
    """A post's text as X gives it back and as we sent it, made alike: X shows links as t.co
    links and escapes &, < and > (its API's own rule), and may trim white space."""
    linkless = LINK.sub("<link>", html.unescape(text))
    return " ".join(linkless.split())


def mastodon_network(url: str, credentials: dict[str, str]) -> MastodonNetwork:
    """The Mastodon account at server `url`, with its access token."""
    client = Mastodon(
        access_token=credentials["access_token"],
        api_base_url=url,
        request_timeout=TIMEOUT_S,
        ratelimit_method="throw",  # never sleep in a Lambda: SQS tries again later
        # "created" with a version given: methods are checked against it, the server is not asked.
        version_check_mode="created",
        mastodon_version=MASTODON_VERSION,
    )
    return MastodonNetwork(client, requests.Session())


def x_network(url: str, credentials: dict[str, str]) -> XNetwork:
    """The X account whose OAuth 1.0a user tokens these are (they do not expire)."""
    session = requests.Session()
    session.auth = OAuth1(
        credentials["api_key"],
        credentials["api_secret"],
        credentials["access_token"],
        credentials["access_token_secret"],
    )
    return XNetwork(session, url)


CREDENTIAL_KEYS = {
    "mastodon": ("access_token",),
    "x": ("api_key", "api_secret", "access_token", "access_token_secret"),
}
BUILDERS: dict[str, Callable[[str, dict[str, str]], MastodonNetwork | XNetwork]] = {
    "mastodon": mastodon_network,
    "x": x_network,
}
