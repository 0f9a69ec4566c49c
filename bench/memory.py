"""Memory bench: the targeting worker's peak memory for an action reaching 100,000 people.

    python -m bench.memory [--people 100000] [--top 12]

moto runs in a separate process (a ThreadedMotoServer with tools/moto_index.py's partition index,
tables created from infra/template.json), so the emulator's storage is not in this process at all.
This process stores the people there (places inside one circle, as an import does), then starts
tracemalloc and runs the real `targeting.target()` with the real ledger over HTTP; the queues are
counting sinks (SQS keeps messages elsewhere too). `peak_mb` is tracemalloc's peak of what the
worker allocated from the start of target() to its end, every thread of its own included (the
claim pool, the query pool): the places read, the recipients, pynamodb's and botocore's working
memory. What was imported before (the Lambda's baseline: Python, boto, chalicelib) is not in it.

With --top N it also prints where the memory was (tracemalloc, by line) at two moments: when the
endpoints of app devices are looked up (every place read is alive) and at the first ledger claim
(the places are gone, the recipients are alive), and the peak of each step: reading the places
(up to the first moment), choosing channels, and claiming.

Prints {"bench": "memory", "recipients": ..., "peak_mb": ...} on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any
from unittest import mock

CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht
RADIUS_M = 6_000.0
REGION = "eu-west-1"
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _serve(port_out: Connection, stop: Any) -> None:
    """The moto server process: index its Query, serve on a free port until told to stop."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    try:
        from tools import moto_index

        moto_index.install()
    except ImportError:
        pass
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port_out.send(server.get_host_and_port()[1])
    stop.wait()
    server.stop()


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in its own process; yields its endpoint URL."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    process = context.Process(target=_serve, args=(send, stop), daemon=True)
    process.start()
    try:
        if not receive.poll(60):
            raise RuntimeError("the moto server did not start")
        yield f"http://127.0.0.1:{receive.recv()}"
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.kill()


def populate(people: int, seed: int) -> None:
    """Store `people` SMS participants' places inside the circle (the items targeting reads)."""
    from chalicelib.dal.models import Place
    from chalicelib.domain.geo.keys import place_cell, place_sort_key

    rng = random.Random(seed)
    with Place.batch_write() as batch:
        for n in range(people):
            r = 0.97 * RADIUS_M * math.sqrt(rng.random())
            a = rng.uniform(0.0, 2 * math.pi)
            lat = CENTRE[0] + r * math.cos(a) / 111_195.0
            lon = CENTRE[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(CENTRE[0])))
            pid = f"{rng.getrandbits(128):032x}"
            batch.save(
                Place(
                    place_cell(lat, lon),
                    place_sort_key(lat, lon, pid, "home"),
                    participant_id=pid,
                    label="home",
                    lat=lat,
                    lon=lon,
                    phone=f"+316{10_000_000 + n}",
                    language="nl",
                    channel="sms",
                )
            )


def _start_action(now: datetime) -> str:
    from chalicelib.dal.models import Action
    from chalicelib.domain.model import iso

    action = Action(
        "memory-bench",
        ref="MEMBNC",
        incident="burglary",
        description="man in rode jas op een zwarte fiets",
        lat=CENTRE[0],
        lon=CENTRE[1],
        radius_m=RADIUS_M,
        channels=["sms"],
        status="active",
        created_by="bench",
        created_at=iso(now),
        expires_at=iso(now + timedelta(hours=1)),
        pending="target",  # the counters start at their defaults, 0
    )
    action.save()
    return str(action.action_id)


def _sink_queues() -> tuple[dict[Any, Any], Callable[[], int]]:
    """Queues that count the work items sent to them and keep nothing."""
    from chalicelib.domain.model import Channel
    from chalicelib.queues import WorkQueue

    class Sink(WorkQueue):
        def __init__(self, name: str) -> None:
            super().__init__(client=None, name=name)
            self.items = 0

        def send(self, items: Iterable[dict[str, Any]], delay_s: int = 0) -> int:
            count = sum(len(item.get("participant_ids", ())) for item in items)
            self.items += count
            return count

    sinks = {channel: Sink(channel.value) for channel in Channel}
    return dict(sinks), lambda: sum(s.items for s in sinks.values())


def measure(people: int, seed: int, top: int) -> dict[str, Any]:
    """Store the people, then run targeting under tracemalloc; the figures as a dict."""
    from tools.emulator import create_resources, stage_environment

    with moto_server() as endpoint:
        env = {
            **stage_environment("test"),
            "GEOCODER_URL": "http://127.0.0.1:9/unused",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
        }
        with mock.patch.dict(os.environ, env):
            import boto3

            from bench.unmeasured import Unmeasured
            from chalicelib import runtime as runtime_module
            from chalicelib.dal import deliveries, devices
            from chalicelib.logic import targeting

            runtime_module.reset()
            create_resources(
                boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)
            )
            runtime_module.runtime()  # bind the models to the server
            started = time.perf_counter()
            populate(people, seed)
            action_id = _start_action(START)
            print(
                f"stored {people:,} places in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
            queues, queued = _sink_queues()
            tops: dict[str, dict[str, Any]] = {}
            peaks: list[int] = []
            claim, endpoints = deliveries.claim, devices.endpoints

            def look_then(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
                def wrapped(*args: Any, **kwargs: Any) -> Any:
                    if top and name not in tops:
                        peaks.append(tracemalloc.get_traced_memory()[1])
                        tops[name] = _where(top)
                        tracemalloc.reset_peak()  # the look itself is not the worker's
                    return call(*args, **kwargs)

                return wrapped

            deliveries.claim = look_then("first_claim", claim)
            devices.endpoints = look_then("places_read", endpoints)
            started = time.perf_counter()
            tracemalloc.start()
            try:
                claimed = targeting.target(action_id, queues, START, Unmeasured())
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
                deliveries.claim, devices.endpoints = claim, endpoints
                runtime_module.reset()
            seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "bench": "memory",
        "recipients": claimed,
        "queued": queued(),
        "peak_mb": round(max(peaks) / 2**20, 1),
        "peak_mb_by_step": {
            step: round(peak / 2**20, 1)
            for step, peak in zip(("reading_places", "choosing", "claiming"), peaks, strict=False)
        }
        if len(peaks) == 3
        else None,
        "limit_mb": configured_memory_mb(),
        "targeting_s": round(seconds, 1),
        "measured": "tracemalloc peak of the worker's allocations during target(); "
        "moto in a separate process",
    }
    for name, where in tops.items():
        result[name] = where
    return result


def configured_memory_mb() -> int:
    """The targeting worker's memory in the prod stage of .chalice/config.json, in MB."""
    from tools.emulator import CHALICE_CONFIG

    functions = json.loads(CHALICE_CONFIG.read_text())["stages"]["prod"]["lambda_functions"]
    return int(functions["targeting_worker"]["lambda_memory_size"])


def _where(top: int) -> dict[str, Any]:
    """What is allocated now, and the `top` lines that allocated most of it."""
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics("lineno")
    found = {
        "total_mb": round(sum(s.size for s in stats) / 2**20, 1),
        "top": [
            {"where": str(s.traceback[0]), "mb": round(s.size / 2**20, 1), "blocks": s.count}
            for s in stats[:top]
        ],
    }
    del snapshot, stats
    return found


def main(argv: list[str] | None = None) -> None:
    """Run the memory bench and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--top", type=int, default=0, help="where the memory was, N lines")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.people, args.seed, args.top)), flush=True)


if __name__ == "__main__":
    main()
