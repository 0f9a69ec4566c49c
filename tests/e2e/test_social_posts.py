"""End to end: `make posts` shows a public action's thread (start, update, result), and nothing of
a private one: on Mastodon (mastodon_mock, in the runner) and on X (our stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from tests.support.local import PATIENCE_S, LocalSystem
from tools.emulator import ROOT

pytestmark = pytest.mark.e2e


def make_posts(system: LocalSystem) -> list[dict[str, Any]]:
    """What `make posts` prints, one JSON object a line."""
    env = {
        **os.environ,
        "BURGERNET_SOCIAL_PORT": str(system.social_port),
        "BURGERNET_MASTODON_PORT": str(system.mastodon_port),
    }
    run = subprocess.run(
        [sys.executable, "-m", "tools.posts"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [json.loads(line) for line in run.stdout.splitlines()]


def wait_for_posts(system: LocalSystem, count: int) -> list[dict[str, Any]]:
    end = time.monotonic() + PATIENCE_S
    while len(posts := make_posts(system)) < count and time.monotonic() < end:
        time.sleep(0.5)
    return posts


def start(system: LocalSystem, **changes: Any) -> dict[str, Any]:
    body = {
        "incident": "missing_person",
        "description": "Meisje, 8 jaar, roze jas, blond paardenstaart",
        "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500},
        **changes,
    }
    response = requests.post(f"{system.api}/actions", json=body, timeout=10)
    assert response.status_code == 202
    action: dict[str, Any] = response.json()
    return action


def test_a_public_actions_update_and_result_reply_in_its_thread_and_a_private_one_is_not_posted(
    local_system: LocalSystem,
) -> None:
    start(local_system, public=False, description="Niet openbaar: man met pet")
    action = start(local_system)
    starts = wait_for_posts(local_system, 2)
    requests.post(
        f"{local_system.api}/actions/{action['action_id']}/updates",
        json={"message": "Gezien bij het station, in een roze jas."},
        timeout=10,
    ).raise_for_status()
    wait_for_posts(local_system, 4)
    requests.post(
        f"{local_system.api}/actions/{action['action_id']}/close",
        json={"outcome": "found"},
        timeout=10,
    ).raise_for_status()
    posts = wait_for_posts(local_system, 6)

    assert all(set(post) == {"network", "id", "text", "in_reply_to"} for post in posts)
    assert not any("Niet openbaar" in post["text"] for post in posts)
    assert [(p["network"], p["in_reply_to"]) for p in starts] == [("mastodon", None), ("x", None)]
    for network in ("mastodon", "x"):
        first, update, result = (p for p in posts if p["network"] == network)
        assert first["text"].startswith("Burgernet: vermiste persoon in Utrecht.")
        assert "Gezien bij het station, in een roze jas." in update["text"]
        assert "De gezochte persoon is gevonden." in result["text"]
        assert update["in_reply_to"] == result["in_reply_to"] == first["id"]
        assert f"ref. {action['ref']}." in result["text"]
        assert result["text"].endswith(f"{local_system.api}/a/{action['ref']}")
