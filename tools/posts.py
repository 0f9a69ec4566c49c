"""`make posts`: what the local Mastodon and X stand-in received, one JSON object a line."""

from __future__ import annotations

import json
import sys
import urllib.request

from tools.local_urls import local_urls


def main() -> int:
    """Print every post, oldest first: network, id, text and the post it replies to."""
    url = f"{local_urls().social}/posts"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            posts = json.load(response)
    except OSError as exc:
        print(
            f"cannot reach the social stand-in at {url} ({exc}); is `make run` running?",
            file=sys.stderr,
        )
        return 1
    for post in posts:
        fields = ("network", "id", "text", "in_reply_to")
        print(json.dumps({key: post[key] for key in fields}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
