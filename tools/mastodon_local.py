"""Burgernet's Mastodon account on mastodon_mock, a stateful mock of Mastodon's REST API (PyPI).

The local runner serves it on a loopback port and the integration tests start one per module,
so the poster's real adapter (Mastodon.py) posts to software that nobody on this project wrote,
and what was posted is read back through Mastodon's own API, as a reader's client does.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedAccount, SeedConfig

from tools.local_urls import HOST, loopback

ACCOUNT = "burgernet"  # the account the poster posts as
TOKEN = "local-burgernet-token"  # its access token; the mock refuses any other (401)
STARTUP_S = 20.0  # the mock imports FastAPI and SQLAlchemy: about 2-3 s on an idle machine

_BREAK = re.compile(r"<br\s*/?>")
_PARAGRAPH = re.compile(r"</p>\s*<p>")
_TAG = re.compile(r"<[^>]+>")


def config(media_dir: str) -> MastodonMockConfig:
    """An in-memory server holding only Burgernet's account, keeping uploads in `media_dir`."""
    account = SeedAccount(username=ACCOUNT, display_name="Burgernet", bot=True, access_token=TOKEN)
    return MastodonMockConfig(
        database=DatabaseConfig(path=":memory:"),
        seed=SeedConfig(accounts=[account]),
        media_storage_path=media_dir,
        url_scheme="http",
        domain=HOST,
    )


def plain_text(content: str) -> str:
    """A status's HTML `content` as the text a reader sees (links, breaks and entities undone)."""
    text = _PARAGRAPH.sub("\n\n", _BREAK.sub("\n", content))
    return html.unescape(_TAG.sub("", text)).strip()


class LocalMastodon:
    """mastodon_mock on a fixed loopback port, in a background thread (`make run`)."""

    def __init__(self, port: int, media_dir: str) -> None:
        import uvicorn  # the mock's own server; imported here so `make posts` stays light
        from mastodon_mock.app import create_app

        self.port = port
        app = create_app(config(media_dir))
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="mastodon", daemon=True)

    @property
    def url(self) -> str:
        """The base URL to use as MASTODON_URL."""
        return loopback(self.port)

    def start(self) -> LocalMastodon:
        """Serve in the background; wait until it answers, or say why not."""
        self.thread.start()
        end = time.monotonic() + STARTUP_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise RuntimeError(f"mastodon_mock did not start on {self.url} (port taken?)")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.should_exit = True
        self.thread.join(timeout=5)


def status_fields(status: dict[str, Any]) -> dict[str, Any]:
    """What `make posts` prints of a Mastodon status: its id, text and the post it replies to."""
    return {
        "network": "mastodon",
        "id": str(status["id"]),
        "text": plain_text(str(status["content"])),
        "in_reply_to": None if status["in_reply_to_id"] is None else str(status["in_reply_to_id"]),
    }
