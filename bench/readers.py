"""The locustfile of bench.public_load: anonymous readers of the public side, as polling software
and people opening a shared link read it.

Each reader polls the alert list and one action's page (READERS_REF), sending back the ETag of
its last answer as If-None-Match, as browsers and well-behaved pollers do. The status of every
answer is counted and written as JSON to READERS_OUT when the run ends (locust's own statistics
do not split 200 from 304).

locust is not in the dev lock yet (mypy skips this file until it is: pyproject.toml); run it
through bench.public_load, which needs only its command.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

STATUSES: Counter[int] = Counter()


class Reader(HttpUser):
    """One anonymous reader: the list and the page, about once a second each."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        """No ETag yet: the first reads are whole."""
        self.etags: dict[str, str] = {}
        self.page = f"/a/{os.environ['READERS_REF']}"

    def _read(self, path: str, name: str) -> None:
        etag = self.etags.get(path)
        headers = {"If-None-Match": etag} if etag else {}
        with self.client.get(path, headers=headers, name=name, catch_response=True) as answer:
            STATUSES[answer.status_code] += 1
            if answer.status_code in (200, 304):
                self.etags[path] = answer.headers.get("ETag", etag or "")
                answer.success()
            else:
                answer.failure(f"HTTP {answer.status_code}")

    @task
    def alert_list(self) -> None:
        """GET /public/alerts, as a display or a bot polls it."""
        self._read("/public/alerts", "/public/alerts")

    @task
    def action_page(self) -> None:
        """GET /a/{ref}, the page of the action everyone shares."""
        self._read(self.page, "/a/{ref}")


def _write_statuses(environment: Any, **_: Any) -> None:
    out = os.environ.get("READERS_OUT")
    if out:
        counted = {str(k): v for k, v in sorted(STATUSES.items())}
        Path(out).write_text(json.dumps(counted))


# locust's event hooks are untyped: registered by a call, so the function keeps its own types.
events.quitting.add_listener(_write_statuses)  # type: ignore[no-untyped-call]
