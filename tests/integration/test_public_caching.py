"""What a cache in front of the public side (a browser, the CDN) is told: how long it may keep each
answer, and the ETag it asks again with. Long only for what can no longer change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.support.actions import started
from tests.support.system import System

LISTS = ["/public/alerts", "/public/actions", "/public/feed.atom"]


def get(system: System, path: str, etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return system.client.http.get(path, headers=headers)


def close(system: System, action_id: str) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": "arrested"})
    assert response.status_code == 200, response.body


def update(system: System, action_id: str) -> None:
    response = system.post(f"/actions/{action_id}/updates", {"message": "Nu richting station."})
    assert response.status_code == 202, response.body


def pages(ref: str) -> list[str]:
    return [f"/public/actions/{ref}.cap", f"/a/{ref}"]


@pytest.mark.parametrize("path", LISTS)
def test_a_list_is_kept_half_a_minute_and_revalidated_by_its_etag(
    system: System, path: str
) -> None:
    action = started(system)
    first = get(system, path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=30"

    again = get(system, path, first.headers["ETag"])
    assert (again.status_code, again.body) == (304, b"")

    close(system, action["action_id"])
    assert get(system, path, first.headers["ETag"]).status_code == 200


def test_a_running_actions_message_and_page_are_kept_half_a_minute(system: System) -> None:
    """An update can come at any moment; a reader sees it within 30 s."""
    action = started(system)
    for path in pages(action["ref"]):
        first = get(system, path)
        assert first.status_code == 200
        assert first.headers["Cache-Control"] == "public, max-age=30", path

        again = get(system, path, first.headers["ETag"])
        assert (again.status_code, again.body) == (304, b""), path
        assert again.headers["ETag"] == first.headers["ETag"]

    etags = {path: get(system, path).headers["ETag"] for path in pages(action["ref"])}
    update(system, action["action_id"])
    for path, etag in etags.items():
        changed = get(system, path, etag)
        assert changed.status_code == 200, path
        assert changed.headers["ETag"] != etag


def test_a_closed_actions_message_and_page_are_kept_an_hour(system: System) -> None:
    """Closed, they never change again: a CDN asks once an hour instead of twice a minute."""
    action = started(system)
    close(system, action["action_id"])
    for path in pages(action["ref"]):
        answer = get(system, path)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=3600", path
        assert get(system, path, answer.headers["ETag"]).status_code == 304


def test_nothing_is_kept_past_the_moment_it_is_gone(
    system: System, later: Callable[[timedelta], None]
) -> None:
    """48 hours after the close the message and page answer 410: no cache may outlive that."""
    action = started(system)
    close(system, action["action_id"])
    later(timedelta(hours=47, minutes=50))
    for path in pages(action["ref"]):
        kept = int(get(system, path).headers["Cache-Control"].rsplit("=", 1)[1])
        assert 9 * 60 <= kept <= 10 * 60, path

    later(timedelta(hours=48, minutes=1))
    for path in pages(action["ref"]):
        gone = get(system, path)
        assert gone.status_code == 410
    # Gone for good, so the page may be kept; the CAP error, like every API error, sets no
    # lifetime (CloudFront keeps an error 10 s).
    assert get(system, f"/a/{action['ref']}").headers["Cache-Control"] == "public, max-age=3600"
    cap_gone = get(system, f"/public/actions/{action['ref']}.cap").headers
    assert "max-age" not in cap_gone.get("Cache-Control", "")


def test_an_unknown_page_is_kept_only_briefly(system: System) -> None:
    missing = get(system, "/a/ZZZZZZ")
    assert missing.status_code == 404
    assert missing.headers["Cache-Control"] == "public, max-age=30"
