"""The local system as end-to-end tests see it: the running `make run` process, over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tools.emulator import ROOT

# How long an end-to-end test waits for the system before it calls something lost. Generous, so a
# loaded machine (CI beside a build, a bench running) never turns slowness into a failure: these
# tests check who got what; how fast it went is measured by `make bench`, not asserted here.
PATIENCE_S = 120.0
# The municipality the runner registers as it starts (Utrecht): /signup?municipality=GM0344.
DEMO_MUNICIPALITY = "GM0344"


class LocalSystem:
    """The running `make run` process, its ports and its log."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        api: str,
        emulator: str,
        log: Path | None = None,
        social_port: int | None = None,
        mastodon_port: int | None = None,
    ) -> None:
        self.process = process
        self.api = api
        self.emulator = emulator
        self.log = log
        self.social_port = social_port  # the X stand-in (`make posts`)
        self.mastodon_port = mastodon_port  # mastodon_mock, Burgernet's Mastodon (`make posts`)

    def sms(self) -> list[dict[str, Any]]:
        """Every SMS the emulator has sent."""
        data = requests.get(f"{self.emulator}/moto-api/data.json", timeout=5).json()
        return list(data.get("sns", {}).get("SMS", []))

    def sms_to(self, phone: str) -> list[str]:
        """The texts one phone (E.164) received so far, oldest first."""
        return [s["message"] for s in self.sms() if s.get("phone_number") == phone]

    def make_import(self, csv: Path) -> subprocess.CompletedProcess[str]:
        """`make import CSV=...` against this running system; any rejected row fails the test."""
        env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
        env["BURGERNET_EMULATOR_PORT"] = self.emulator.rsplit(":", 1)[1]
        imported = subprocess.run(
            [sys.executable, "-m", "tools.import_participants", str(csv)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr
        return imported

    def wait_for_sms(
        self, count: int, deadline_s: float, among: set[str] | None = None
    ) -> list[dict[str, Any]]:
        """Poll until `count` SMS were sent, to `among` if given (or the deadline passes); return
        them, oldest first."""
        end = time.monotonic() + deadline_s
        while True:
            sent = [s for s in self.sms() if among is None or s["phone_number"] in among]
            if len(sent) >= count or time.monotonic() > end:
                return sent
            time.sleep(0.2)
