"""Where the local system answers: the one reading of the settings `make run` starts it with.

`make run` (tools/local.py) serves on these ports, and every tool that talks to it (`make ops`,
`make sms`, `make posts`, `make import`, `python -m tools.dispatch`) calls them, so a system
started on other ports is found without telling each tool again.

| variable                  | default | what                                                   |
| ------------------------- | ------- | ------------------------------------------------------ |
| `BURGERNET_API_PORT`      | 8000    | the API                                                |
| `BURGERNET_EMULATOR_PORT` | 5000    | the AWS emulator (moto server)                         |
| `BURGERNET_SOCIAL_PORT`   | 5001    | the X stand-in (and the photos tests post)             |
| `BURGERNET_MASTODON_PORT` | 5002    | Burgernet's Mastodon account on mastodon_mock          |
| `BURGERNET_API_URL`       | unset   | the API the tools call instead (a deployed stage, say) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

HOST = "127.0.0.1"  # the local system listens on loopback only


def loopback(port: int) -> str:
    """The URL of a local server on `port`."""
    return f"http://{HOST}:{port}"


@dataclass(frozen=True)
class LocalUrls:
    """The local system's ports and URLs, and the API the tools call."""

    api_port: int
    emulator_port: int
    social_port: int
    mastodon_port: int
    api: str  # BURGERNET_API_URL, else the local API

    @property
    def local_api(self) -> str:
        """The API `make run` serves, whatever BURGERNET_API_URL says."""
        return loopback(self.api_port)

    @property
    def emulator(self) -> str:
        """The AWS emulator's endpoint."""
        return loopback(self.emulator_port)

    @property
    def social(self) -> str:
        """The X stand-in's base URL."""
        return loopback(self.social_port)

    @property
    def mastodon(self) -> str:
        """The local Mastodon server's base URL (mastodon_mock)."""
        return loopback(self.mastodon_port)


def local_urls() -> LocalUrls:
    """The URLs of the local system, read from the environment."""
    api_port = _port("BURGERNET_API_PORT", 8000)
    return LocalUrls(
        api_port=api_port,
        emulator_port=_port("BURGERNET_EMULATOR_PORT", 5000),
        social_port=_port("BURGERNET_SOCIAL_PORT", 5001),
        mastodon_port=_port("BURGERNET_MASTODON_PORT", 5002),
        api=os.environ.get("BURGERNET_API_URL") or loopback(api_port),
    )


def _port(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name} must be a port number (1-65535), not {value!r}")
    return int(value)
