"""Public load bench: does a crowd of anonymous readers slow an action's first SMS, locally?

Runs against the local system `make run` started (tools/local_urls.py finds it), with its demo
participants around Utrecht. First an action is started with nobody reading, and the time from
its POST to its first SMS is taken (polling `GET /actions/{id}` for `counts.sent`). Then one
public action becomes the one everyone reads, locust runs READERS readers of `/public/alerts` and
that action's page (bench/readers.py) for DURATION seconds, and from 10 seconds in more actions
are started one after another and timed the same way. Each timed action has its own 500 m circle
of the demo municipality, 2 km from the Domplein, so each reaches its own few dozen people; three
are timed without readers, and as many as finish while the readers read (at most three) with them.

Locally one process serves everything (API, emulator, queue feeders): the readers and the
senders share its CPU, as the public side and dispatch share one function and one account's
concurrency without the production template. docs/benchmarks.md has the figures and what
production does differently.

    make run                                   # in another terminal
    python -m bench.public_load [--readers 200] [--duration 60] [--locust PATH]

One JSON line on stdout; locust's own report on stderr. Exit status 1 if an action sent nothing
within FIRST_SMS_DEADLINE_S.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tools.local_urls import local_urls

LOCUSTFILE = Path(__file__).with_name("readers.py")
DOMPLEIN = (52.0907, 5.1214)
# Six 500 m circles 2 km from the Domplein, inside the demo municipality: nobody is in two.
SPOTS = [
    (
        DOMPLEIN[0] + 0.018 * math.cos(math.radians(a)),
        DOMPLEIN[1] + 0.029 * math.sin(math.radians(a)),
    )
    for a in range(0, 360, 60)
]
TIMED = 3  # actions timed without readers, and at most with them
FIRST_SMS_DEADLINE_S = 120.0


def call(api: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One JSON request to the local API; its JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        api + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def start(api: str, spot: tuple[float, float], label: str) -> tuple[dict[str, Any], float]:
    """Start a public action in a 500 m circle; (its view, how long the POST took)."""
    began = time.monotonic()
    view = call(
        api,
        "POST",
        "/actions",
        {
            "incident": "burglary",
            "description": f"bench {label}: man, rode jas, zwarte fiets",
            "area": {"lat": spot[0], "lon": spot[1], "radius_m": 500},
            "duration_minutes": 30,
        },
    )
    return view, time.monotonic() - began


def time_to_first_sms(api: str, spot: tuple[float, float], label: str) -> dict[str, Any]:
    """Start an action and time its first SMS, as its counts show it."""
    began = time.monotonic()
    view, post_s = start(api, spot, label)
    while time.monotonic() - began < FIRST_SMS_DEADLINE_S:
        counts = call(api, "GET", f"/actions/{view['action_id']}")["counts"]
        if counts["sent"] >= 1:
            return {
                "action_id": view["action_id"],
                "post_s": round(post_s, 3),
                "first_sms_s": round(time.monotonic() - began, 2),
            }
        time.sleep(0.1)
    return {"action_id": view["action_id"], "post_s": round(post_s, 3), "first_sms_s": None}


def run_readers(
    locust: str, host: str, ref: str, readers: int, duration: int, out: Path
) -> subprocess.Popen[bytes]:
    """locust, headless, in the background: `readers` readers for `duration` seconds."""
    env = {**os.environ, "READERS_REF": ref, "READERS_OUT": str(out / "statuses.json")}
    command = [
        locust,
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--users",
        str(readers),
        "--spawn-rate",
        str(readers),
        "--run-time",
        f"{duration}s",
        "--csv",
        str(out / "readers"),
        "--only-summary",
    ]
    return subprocess.Popen(command, env=env, stdout=sys.stderr)


def reader_figures(out: Path) -> dict[str, Any]:
    """Requests a second, p95 and the 304s' share, from locust's CSV and the status counts."""
    with (out / "readers_stats.csv").open() as file:
        rows = {row["Name"]: row for row in csv.DictReader(file)}
    statuses = {int(k): v for k, v in json.loads((out / "statuses.json").read_text()).items()}
    total = sum(statuses.values())

    def figures(row: dict[str, str]) -> dict[str, Any]:
        return {
            "requests": int(row["Request Count"]),
            "requests_per_s": round(float(row["Requests/s"]), 1),
            "p50_ms": int(float(row["50%"])),
            "p95_ms": int(float(row["95%"])),
            "failures": int(row["Failure Count"]),
        }

    return {
        "all": figures(rows["Aggregated"]),
        "alert_list": figures(rows["/public/alerts"]),
        "page": figures(rows["/a/{ref}"]),
        "share_304": round(statuses.get(304, 0) / total, 3) if total else None,
        "statuses": statuses,
    }


def main(argv: list[str] | None = None) -> int:
    """Time an action's first SMS without readers, then with them; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--duration", type=int, default=60, help="seconds of reading")
    parser.add_argument("--locust", default=os.environ.get("LOCUST", "locust"))
    args = parser.parse_args(argv)
    api = local_urls().api

    quiet = [time_to_first_sms(api, spot, "quiet") for spot in SPOTS[:TIMED]]
    print(f"without readers: {quiet}", file=sys.stderr)
    popular, _ = start(api, DOMPLEIN, "popular")

    with tempfile.TemporaryDirectory(prefix="burgernet-readers-") as tmp:
        out = Path(tmp)
        reading_until = time.monotonic() + args.duration
        locust = run_readers(args.locust, api, popular["ref"], args.readers, args.duration, out)
        busy: list[dict[str, Any]] = []

        def time_while_reading() -> None:
            for spot in SPOTS[TIMED:]:
                timed = time_to_first_sms(api, spot, "busy")
                timed["while_reading"] = time.monotonic() < reading_until
                busy.append(timed)
                if not timed["while_reading"]:
                    return

        timer = threading.Timer(10, time_while_reading)
        timer.start()
        locust.wait()
        timer.join()
        readers = reader_figures(out)
    print(f"with readers: {busy}", file=sys.stderr)

    for action in (*quiet, *busy, popular):
        call(api, "POST", f"/actions/{action['action_id']}/close", {"outcome": "cancelled"})
    print(
        json.dumps(
            {
                "readers": args.readers,
                "duration_s": args.duration,
                "first_sms_s": {
                    "without_readers": _median(quiet),
                    # Started while they read; `while_reading` says if the SMS came before they
                    # stopped (a crowd that starves the sender shows as false).
                    "with_readers": _median(busy),
                    "timed": {"without_readers": quiet, "with_readers": busy},
                },
                "reading": readers,
            }
        )
    )
    return 0 if _median(quiet) and _median(busy) else 1


def _median(timed: list[dict[str, Any]]) -> float | None:
    seconds = [t["first_sms_s"] for t in timed]
    return None if not seconds or None in seconds else statistics.median(seconds)


if __name__ == "__main__":
    sys.exit(main())
