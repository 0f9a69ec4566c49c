"""`make posts`: the posts on the local Mastodon (mastodon_mock) and X stand-in, one JSON a line.

Mastodon's posts are read back as a reader's client reads them, through Mastodon's REST API:
the account's statuses, each with the post it replies to.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request
from typing import Any

from tools.local_urls import local_urls
from tools.mastodon_local import ACCOUNT, status_fields

PAGE = 40  # the most statuses Mastodon gives in one page


def main() -> int:
    """Print every post, Mastodon's then X's, each oldest first: network, id, text, reply-to."""
    urls = local_urls()
    try:
        posts = mastodon_posts(urls.mastodon) + x_posts(urls.social)
    except Unreachable as exc:
        print(f"cannot reach {exc.url} ({exc.cause}); is `make run` running?", file=sys.stderr)
        return 1
    for post in posts:
        print(json.dumps(post, ensure_ascii=False))
    return 0


def mastodon_posts(base: str) -> list[dict[str, Any]]:
    """Burgernet's statuses on the local Mastodon, oldest first."""
    account = _get(f"{base}/api/v1/accounts/lookup?acct={ACCOUNT}")
    statuses: list[dict[str, Any]] = []
    while True:  # Mastodon pages newest first; max_id asks for the page before
        query = {"limit": PAGE, **({"max_id": statuses[-1]["id"]} if statuses else {})}
        page = _get(
            f"{base}/api/v1/accounts/{account['id']}/statuses?{urllib.parse.urlencode(query)}"
        )
        statuses += page
        if len(page) < PAGE:
            return [status_fields(s) for s in reversed(statuses)]


def x_posts(base: str) -> list[dict[str, Any]]:
    """What the X stand-in received, oldest first."""
    fields = ("network", "id", "text", "in_reply_to")
    return [{key: post[key] for key in fields} for post in _get(f"{base}/posts")]


class Unreachable(Exception):
    """A local network did not answer."""

    def __init__(self, url: str, cause: OSError) -> None:
        super().__init__(url)
        self.url, self.cause = url, cause


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except OSError as exc:
        raise Unreachable(url, exc) from None


if __name__ == "__main__":
    sys.exit(main())
