"""Burgernet's Mastodon account on mastodon_mock, started through its own testing helper and read
back through Mastodon's API with Mastodon.py, as a reader's client reads it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import requests
from mastodon import Mastodon
from mastodon_mock.testing import MockServer

from tools import mastodon_local

FAULTS = "/api/v1/_mock/faults"  # mastodon_mock's control plane (never itself faulted)


@dataclass(frozen=True)
class Status:
    """One status as a reader's client shows it."""

    id: str
    text: str  # what a person reads (the HTML content as text)
    in_reply_to: str | None
    visibility: str
    language: str | None
    media: list[dict[str, Any]]  # the attachments: type, description, url


class MastodonServer:
    """mastodon_mock on a free loopback port, holding only Burgernet's account."""

    def __init__(self, media_dir: str) -> None:
        self.mock = MockServer(config=mastodon_local.config(media_dir))
        self._reader: Any = None

    def start(self) -> MastodonServer:
        """Serve in the background (the mock's own MockServer: a free port, readiness)."""
        self.mock.start()
        # Anonymous, as anyone reading the account's public posts.
        self._reader = Mastodon(api_base_url=self.url, request_timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.mock.stop()

    @property
    def url(self) -> str:
        """The base URL to use as MASTODON_URL."""
        return str(self.mock.base_url)

    def reset(self) -> None:
        """Back to the seeded account with no posts and no faults."""
        # MockServer.reset() needs httpx2, which the mock's [test] extra brings and we don't lock.
        requests.post(f"{self.url}/api/v1/_mock/reset", timeout=10).raise_for_status()
        self.up()

    def statuses(self) -> list[Status]:
        """Every status of Burgernet's account, oldest first."""
        account = self._reader.account_lookup(mastodon_local.ACCOUNT)
        page = self._reader.account_statuses(account["id"], limit=40)
        return [_status(s) for s in reversed(self._reader.fetch_remaining(page))]

    def replies(self, status_id: str) -> list[Status]:
        """The thread below a status, as Mastodon's context endpoint gives it."""
        return [_status(s) for s in self._reader.status_context(status_id)["descendants"]]

    def fetch(self, url: str) -> bytes:
        """What a reader's client downloads for a media attachment."""
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.content

    def down(self) -> None:
        """Every API call answers 503 Service Unavailable until `up()`."""
        rule = {"match": {"path_regex": "^/api/"}, "effect": {"type": "status", "status": 503}}
        requests.post(f"{self.url}{FAULTS}", json=rule, timeout=10).raise_for_status()

    def up(self) -> None:
        """No more faults."""
        requests.delete(f"{self.url}{FAULTS}", timeout=10).raise_for_status()

    def delete(self, status_id: str) -> None:
        """Delete a status as Burgernet's account, outside the poster (a moderator, a person)."""
        owner = Mastodon(
            access_token=mastodon_local.TOKEN, api_base_url=self.url, request_timeout=10
        )
        owner.status_delete(status_id)

    def refuse(self, method: str, status: int) -> None:
        """Every `method` request to the API answers `status` until `up()`."""
        rule = {
            "match": {"methods": [method], "path_regex": "^/api/"},
            "effect": {"type": "status", "status": status},
        }
        requests.post(f"{self.url}{FAULTS}", json=rule, timeout=10).raise_for_status()

    @contextmanager
    def requests_sent(self) -> Iterator[list[tuple[str, str]]]:
        """(method, path) of every request the poster sends the server meanwhile."""
        send = requests.Session.send
        seen: list[tuple[str, str]] = []

        def counting(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            if str(request.url).startswith(self.url):
                seen.append((str(request.method), str(request.path_url).split("?")[0]))
            return send(session, request, **kwargs)

        with mock.patch.object(requests.Session, "send", counting):
            yield seen

    @contextmanager
    def answers_lost(self) -> Iterator[None]:
        """Each new status is made, but its answer never reaches the poster (a dropped
        connection after the request was sent)."""
        send = requests.Session.send
        statuses = f"{self.url}/api/v1/statuses"

        def lossy(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            response = send(session, request, **kwargs)
            if request.method == "POST" and request.url == statuses:
                raise requests.ConnectionError("connection reset after the request was sent")
            return response

        with mock.patch.object(requests.Session, "send", lossy):
            yield


def _status(status: Any) -> Status:
    return Status(
        id=str(status["id"]),
        text=mastodon_local.plain_text(status["content"]),
        in_reply_to=None if status["in_reply_to_id"] is None else str(status["in_reply_to_id"]),
        visibility=status["visibility"],
        language=status["language"],
        media=[
            {"type": m["type"], "description": m["description"], "url": m["url"]}
            for m in status["media_attachments"]
        ],
    )
