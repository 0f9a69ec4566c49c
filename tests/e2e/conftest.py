"""End-to-end fixtures: the local runner as `make run` starts it, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from tests.support.local import DEMO_MUNICIPALITY, PATIENCE_S, LocalSystem
from tools.emulator import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Headless and quiet: this machine's network is closed, so no background calls to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def local_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    """Start the runner as `make run` does (without demo data) and stop it with Ctrl-C."""
    api_port, emulator_port, social_port, mastodon_port = (free_port() for _ in range(4))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "BURGERNET_API_PORT": str(api_port),
        "BURGERNET_EMULATOR_PORT": str(emulator_port),
        "BURGERNET_SOCIAL_PORT": str(social_port),
        "BURGERNET_MASTODON_PORT": str(mastodon_port),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path_factory.mktemp("run") / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.local", "--no-seed"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    system = LocalSystem(
        process,
        f"http://127.0.0.1:{api_port}",
        f"http://127.0.0.1:{emulator_port}",
        log,
        social_port,
        mastodon_port,
    )
    try:
        _wait_until_serving(system, log)
        yield system
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def utrecht(local_system: LocalSystem) -> LocalSystem:
    """The runner, once it has registered the demo municipality (just after the API is up)."""
    end = time.monotonic() + PATIENCE_S
    while time.monotonic() < end:
        url = f"{local_system.api}/municipalities/{DEMO_MUNICIPALITY}"
        if requests.get(url, timeout=5).status_code == 200:
            return local_system
        time.sleep(0.2)
    raise AssertionError(f"the runner did not register {DEMO_MUNICIPALITY}")


def _wait_until_serving(system: LocalSystem, log: Path) -> None:
    end = time.monotonic() + PATIENCE_S
    while time.monotonic() < end:
        if system.process.poll() is not None:
            raise AssertionError(f"make run exited early:\n{log.read_text()}")
        # The banner comes once everything is up and the demo municipality is registered.
        if "Burgernet is running locally" in log.read_text():
            return
        time.sleep(0.3)
    raise AssertionError(f"the API did not come up:\n{log.read_text()}")


# --- Chromium, for the pages' browser tests ----------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure in CI) saying why there is none."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)")
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM} "
        "(apt-get install chromium); set CI=1 to make its absence a failure"
    )


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
