"""Local rate bench: does `make run` send at the rate it is configured with?

Runs on moto (the local emulator of `make run`), not on AWS: its figures say whether the local
runner feeds the senders as Lambda's poller would (`MaximumConcurrency` instances, each paced to
its share of the rate), never how fast AWS is. The machine is shared and moto is Python: expect
the figures to move from run to run.

It starts the runner exactly as `make run ARGS="--participants 20000"` does, in its own process
on free ports, then starts the banner's action (Domplein, Utrecht, 1.5 km: about 1,500 of the
demo participants) over HTTP, and reads the action's EMF metrics from the runner's output, as
CloudWatch would: `TimeToFirstAlert`, each chunk's `TimeToLastAlert` and `AlertsSent`. One JSON
line on stdout:

- `first_sms_s`: seconds from the action's start to its first SMS;
- `last_sms_s`: to its last;
- `sms_per_s`: SMS sent / seconds from first to last;
- `quota_use`: that rate / the configured `SMS_PER_SECOND` (1.0 = the whole quota);
- `cpu_ms_per_sms`: the runner's CPU time (emulator, API and functions: one process) from the
  action's start to its last SMS, per SMS; `1000 / cpu_ms_per_sms` is the most SMS a second one
  free core could send, whatever the pacing;
- `load_avg`: the machine's 1-minute load average at the start and at the end (2 cores here).

- `targets_met`: issue 17's targets for the local system, first SMS within 10 s and quota use of
  at least 0.9 (reported, not an exit status: on a shared machine speed is a measurement).

Exit status 1 if not every person reached was sent an SMS within the patience below.

    python -m bench.local_rate [--participants 20000] [--radius 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.local_scale import free_port, post
from tools.emulator import ROOT

CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht: the banner's action
FIRST_SMS_S = 10.0  # issue 17's targets for the local system
QUOTA_USE = 0.9
STARTUP_S = 900.0  # seeding 20,000 participants through the importer takes minutes on moto
PATIENCE_S = 900.0  # the last SMS of a slow run (the issue measured 247 s before)


def sms_per_second() -> float:
    """The local stage's SMS_PER_SECOND, as `make run` configures it (.chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    local = config["stages"]["local"]["environment_variables"]
    return float(local.get("SMS_PER_SECOND", config["environment_variables"]["SMS_PER_SECOND"]))


def metrics(log: Path, action_id: str) -> dict[str, list[float]]:
    """Every value of the action's EMF metrics in the run's output, by name."""
    values: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith('{"_aws"'):
            continue
        try:
            emf = json.loads(line)
        except json.JSONDecodeError:  # a line two threads wrote into: counted, never guessed at
            values.setdefault("garbled_lines", []).append(1)
            continue
        if emf.get("action_id") != action_id:
            continue
        for directive in emf["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values.setdefault(metric["Name"], []).extend(emf[metric["Name"]])
    return values


def figures(values: dict[str, list[float]], rate: float) -> dict[str, float]:
    """First and last SMS, the rate between them and the share of the quota it used."""
    sent = sum(values.get("AlertsSent", []))
    first = min(values.get("TimeToFirstAlert", [0.0])) / 1000
    last = max(values.get("TimeToLastAlert", [0.0])) / 1000
    # n messages sent at r/s from the first take (n - 1) / r seconds to the last.
    per_second = (sent - 1) / (last - first) if last > first else 0.0
    return {
        "sms": sent,
        "first_sms_s": round(first, 1),
        "last_sms_s": round(last, 1),
        "sms_per_s": round(per_second, 1),
        "quota_use": round(per_second / rate, 2),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_banner(process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the runner prints its banner (everything up, the demo data seeded)."""
    end = time.monotonic() + STARTUP_S
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the runner exited early:\n{log.read_text()[-3000:]}")
        if "Burgernet is running locally" in log.read_text(errors="replace"):
            return
        time.sleep(1)
    raise RuntimeError("the runner did not come up")


def main(argv: list[str] | None = None) -> int:
    """Start `make run`'s runner, start one action, print its first and last SMS and quota use."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--radius", type=int, default=1500, help="the action's radius in metres")
    args = parser.parse_args(argv)

    ports = {
        name: str(free_port())
        for name in ("API", "EMULATOR", "SOCIAL", "MASTODON")  # BURGERNET_<name>_PORT
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({f"BURGERNET_{name}_PORT": port for name, port in ports.items()})
    env["PYTHONUNBUFFERED"] = "1"
    api = f"http://127.0.0.1:{ports['API']}"
    with tempfile.TemporaryDirectory(prefix="bench-local-rate-") as tmp:
        log = Path(tmp) / "run.log"
        started = time.monotonic()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tools.local", "--participants", str(args.participants)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_banner(process, log)
            print(f"runner up in {time.monotonic() - started:.0f} s", file=sys.stderr)
            area = {"lat": CENTRE[0], "lon": CENTRE[1], "radius_m": args.radius}
            reached = int(post(api, "/reach", {"area": area})["participants"])
            load = [os.getloadavg()[0]]
            cpu = cpu_seconds(process.pid)
            action = post(
                api,
                "/actions",
                {"incident": "burglary", "description": "bench: rode jas", "area": area},
                **{"Idempotency-Key": f"bench-{uuid.uuid4()}"},
            )
            print(f"action on {reached} people started", file=sys.stderr)
            end = time.monotonic() + PATIENCE_S
            values = metrics(log, action["action_id"])
            while sum(values.get("AlertsSent", [])) < reached and time.monotonic() < end:
                time.sleep(2)
                values = metrics(log, action["action_id"])
            cpu = cpu_seconds(process.pid) - cpu
            load.append(os.getloadavg()[0])
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    rate = sms_per_second()
    row: dict[str, Any] = {
        "bench": "local_rate",
        "participants": args.participants,
        "action_recipients": reached,
        **figures(values, rate),
        "sms_per_second_setting": rate,
        "cpu_ms_per_sms": round(cpu * 1000 / max(1, reached), 1),
        "load_avg": [round(x, 1) for x in load],
        "garbled_lines": len(values.get("garbled_lines", [])),
        "store": "moto server in the runner's process, not AWS",
    }
    row["targets_met"] = {
        "first_sms_within_10_s": row["first_sms_s"] <= FIRST_SMS_S,
        "quota_use_at_least_0.9": row["quota_use"] >= QUOTA_USE,
    }
    print(json.dumps(row), flush=True)
    return 0 if row["sms"] == reached else 1


if __name__ == "__main__":
    sys.exit(main())
