"""`make sms`: the SMS the local emulator has sent, newest last (numbers partly masked)."""

from __future__ import annotations

import json
import sys
import urllib.request

from tools.local_urls import local_urls


def mask(phone: str) -> str:
    """+31612345678 -> +316•••••678: enough to tell demo people apart on screen."""
    return phone[:4] + "•" * max(0, len(phone) - 7) + phone[-3:]


def main() -> int:
    """Print every SMS in the emulator."""
    url = f"{local_urls().emulator}/moto-api/data.json"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            data = json.load(response)
    except OSError as exc:
        print(
            f"cannot reach the emulator at {url} ({exc}); is `make run` running?", file=sys.stderr
        )
        return 1
    messages = data.get("sns", {}).get("SMS", [])
    for sms in messages:
        print(f"{mask(sms['phone_number'])}  {sms['message']}")
    print(f"{len(messages)} SMS sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
