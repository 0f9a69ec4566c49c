"""Local scale bench: does the local system's targeting follow the circle, not the table?

Runs on moto (the local emulator of `make run`, with tools/moto_index.py), not on DynamoDB:
its figures say how the local system scales, never how fast AWS is.

It starts the local runner's pieces in this process (emulator with the tables and queues of
infra/template.json, the chalice app served over HTTP as `make run` does), files 1,500 people
inside a 1.5 km circle around the Domplein (Utrecht), then 10,000 and then 100,000 people
elsewhere in the Netherlands (the countryside boxes of bench.targeting; none inside the
circle). For each size it times `POST /reach` for that circle over HTTP, and the targeting of an
action on it: the action is started with `POST /actions`, and the targeting worker is invoked
with the SQS message that put on the targeting queue, as the runner's queue feeder would.
One JSON line per size on stdout (`reach_s` is the median of 3 requests, `reach_first_s` the
first, which also sorts the partitions the circle touches; `targeting_s` is the worker's
invocation); progress on stderr. Exit status 1 if anyone inside is not reached and targeted.

    python -m bench.local_scale [--outside 10000 100000] [--inside 1500]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import random
import socket
import statistics
import sys
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import moto

from bench.targeting import LAND_BOXES
from chalicelib.domain.geo.sphere import haversine_m

CENTRE = (52.0907, 5.1214)  # Domplein, Utrecht
RADIUS_M = 1500
INSIDE_MARGIN_M = 20  # inside people stay this far within the edge, whatever the rounding
OUTSIDE_CLEARANCE_M = 100  # and the others this far beyond it
SEED = 344
BATCH = 500  # people per upsert_participants call (pynamodb writes them 25 at a time)
REACH_REPEATS = 3
AREA = {"lat": CENTRE[0], "lon": CENTRE[1], "radius_m": RADIUS_M}


def inside_people(count: int, rng: random.Random) -> Iterator[tuple[float, float]]:
    """Homes spread evenly over the circle (kept INSIDE_MARGIN_M within its edge)."""
    made = 0
    while made < count:
        lat, lon = _offset(rng, (RADIUS_M - INSIDE_MARGIN_M) * math.sqrt(rng.random()))
        if haversine_m(CENTRE[0], CENTRE[1], lat, lon) <= RADIUS_M - INSIDE_MARGIN_M / 2:
            made += 1
            yield lat, lon


def outside_people(count: int, rng: random.Random) -> Iterator[tuple[float, float]]:
    """Homes over the Netherlands' countryside boxes, by area, none near the circle."""
    weights = [(n - s) * (e - w) * math.cos(math.radians((n + s) / 2)) for s, n, w, e in LAND_BOXES]
    made = 0
    while made < count:
        south, north, west, east = rng.choices(LAND_BOXES, weights)[0]
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        if haversine_m(CENTRE[0], CENTRE[1], lat, lon) > RADIUS_M + OUTSIDE_CLEARANCE_M:
            made += 1
            yield lat, lon


def _offset(rng: random.Random, distance_m: float) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + distance_m * math.cos(bearing) / 111_320
    lon = CENTRE[1] + distance_m * math.sin(bearing) / (111_320 * math.cos(math.radians(CENTRE[0])))
    return lat, lon


def seed(homes: Iterator[tuple[float, float]], first_number: int) -> int:
    """File one SMS participant per home through the dal's batched upsert; return how many."""
    from chalicelib.dal.participants import NewParticipant, NewPlace, upsert_participants
    from chalicelib.runtime import runtime

    runtime()  # bind the models to the stage's tables, as the importer does
    now = datetime.now(UTC)
    number = first_number
    batch: list[NewParticipant] = []
    for lat, lon in homes:
        phone = f"+316{10_000_000 + number:08d}"
        batch.append(NewParticipant(phone, "nl", "sms", [NewPlace("home", lat, lon)]))
        number += 1
        if len(batch) == BATCH:
            upsert_participants(batch, now, directory={})  # all new: nobody to look up
            batch = []
    if batch:
        upsert_participants(batch, now, directory={})
    return number - first_number


def post(api: str, path: str, body: dict[str, Any], **headers: str) -> Any:
    """POST JSON to the local API and return the decoded answer."""
    request = urllib.request.Request(
        f"{api}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def get(api: str, path: str) -> Any:
    """GET JSON from the local API."""
    with urllib.request.urlopen(f"{api}{path}", timeout=60) as response:
        return json.load(response)


def time_reach(api: str) -> tuple[int, float, float]:
    """Reach for the circle, and the first and median seconds POST /reach took."""
    seconds = []
    reached = 0
    for _ in range(REACH_REPEATS):
        started = time.perf_counter()
        reached = post(api, "/reach", {"area": AREA})["participants"]
        seconds.append(time.perf_counter() - started)
    return reached, seconds[0], statistics.median(seconds)


def time_targeting(
    api: str, sqs: Any, queue_url: str, queue_arn: str, handler: Any
) -> tuple[float, int]:
    """Start an action on the circle; seconds its targeting took, and how many it targeted."""
    from tools.local import LambdaContext, lambda_sqs_event

    action = post(
        api,
        "/actions",
        {
            "incident": "burglary",
            "description": "bench: man, rode jas",
            "area": AREA,
            "duration_minutes": 30,
        },
        **{"Idempotency-Key": f"bench-{uuid.uuid4()}"},
    )
    messages: list[dict[str, Any]] = []
    while not messages:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=5
        ).get("Messages", [])
    started = time.perf_counter()
    result = handler(lambda_sqs_event(queue_arn, messages), LambdaContext())
    seconds = time.perf_counter() - started
    if result and result.get("batchItemFailures"):
        raise RuntimeError(f"targeting failed: {result}")
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    targeted = int(get(api, f"/actions/{action['action_id']}")["counts"]["targeted"])
    return seconds, targeted


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    """Start the local pieces, grow the population, print one JSON line per size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inside", type=int, default=1500)
    parser.add_argument("--outside", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)

    from tools.local import freeze_heap, load_app, start_emulator

    logging.basicConfig(level=logging.WARNING, force=True)  # no event log line per message
    warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")
    with contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON lines alone
        server, geocoder, _ = start_emulator(free_port())  # its bench calls no /control route
        factory, config = load_app()
        app = config.chalice_app
        http = factory.create_local_server(app, config, "127.0.0.1", api_port := free_port())
    for noisy in ("werkzeug", "burgernet.events"):  # the emulator's requests, the functions' events
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # chalice's serve_forever prints a banner on stdout first; its server serves the same.
    threading.Thread(target=http.server.serve_forever, name="api", daemon=True).start()
    api = f"http://127.0.0.1:{api_port}"

    from chalice.app import SQSEventConfig

    from chalicelib.queues import TARGETING_QUEUE

    [source] = [
        s for s in app.event_sources if isinstance(s, SQSEventConfig) and s.queue == TARGETING_QUEUE
    ]
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=TARGETING_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    rng = random.Random(SEED)
    started = time.perf_counter()
    filed = seed(inside_people(args.inside, rng), 0)
    outside = 0
    failed = False
    try:
        for size in sorted(args.outside):
            filed += seed(outside_people(size - outside, rng), filed)
            freeze_heap()  # as `make run` does after seeding
            outside = size
            print(
                f"filed {filed:,} participants ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
            reached, reach_first, reach = time_reach(api)
            targeting, targeted = time_targeting(
                api, sqs, queue_url, queue_arn, app.handler_map[source.name]
            )
            failed |= reached != args.inside or targeted != args.inside
            print(
                json.dumps(
                    {
                        "bench": "local_scale",
                        "participants": filed,
                        "inside": reached,
                        "targeted": targeted,
                        "reach_s": round(reach, 3),
                        "reach_first_s": round(reach_first, 3),
                        "targeting_s": round(targeting, 3),
                        "store": f"moto {moto.__version__} with tools/moto_index.py, not DynamoDB",
                    }
                ),
                flush=True,
            )
    finally:
        http.shutdown()
        server.stop()
        geocoder.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
