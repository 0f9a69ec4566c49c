"""`make run`: the whole system on this machine, against an embedded AWS emulator (moto server).

It does what AWS does around the functions and `chalice local` does not: it creates the tables and
queues from infra/template.json, feeds every SQS handler from its queue (with partial batch
failures, and as many instances at once as its MaximumConcurrency), and fires every schedule.
Then it serves the API with chalice's local server.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any, TextIO, cast

import boto3
from chalice.app import Chalice, ScheduledEventConfig, SQSEventConfig
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, RouteMatcher
from moto.server import ThreadedMotoServer

from tools import (
    control_pool,
    moto_atomic,
    moto_dashboard,
    moto_index,
    moto_inprocess,
    moto_receive,
    moto_trace_header,
)
from tools.emulator import ROOT, STACK_NAME, create_resources, stage_environment
from tools.local_urls import HOST, LocalUrls, local_urls, loopback
from tools.mastodon_local import LocalMastodon
from tools.pdok_standin import PdokStandIn
from tools.social_standin import SocialStandIn, put_credentials
from tools.tiles_standin import TilesStandIn

REGION = "eu-west-1"
STAGE = "local"
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
DEMO_MUNICIPALITY = ROOT / "tools" / "fixtures" / "gm0344_utrecht.json"
LOCAL_RETRY_SECONDS = 5  # a failed message comes back this soon (AWS waits the visibility timeout)
# Instances of a queue's function when its event source sets no MaximumConcurrency (the targeting
# worker). Lambda would scale those out by the queue's depth; here every instance shares one
# process with moto, so two: a second action's targeting, or an update's fan-out, starts while a
# large targeting runs, without threads that only queue for the same two cores.
UNCAPPED_INSTANCES = 2


class WholeLines:
    """The runner's stdout, written a whole line at a time whichever thread writes.

    print() writes a line's text and its newline in two calls, so lines printed by instances
    running at once (Powertools' EMF lines among them) could interleave into lines nobody can
    read. In Lambda each instance has its own log stream; here each thread's text waits for its
    newline and goes out as one write.
    """

    def __init__(self, out: Any) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        """Keep `text` until its line ends, then write the whole lines at once."""
        pending = getattr(self._pending, "text", "") + text
        whole, newline, rest = pending.rpartition("\n")
        if newline:
            with self._lock:
                self._out.write(whole + newline)
        self._pending.text = rest
        return len(text)

    def flush(self) -> None:
        """Flush what the underlying stream holds (a partial line stays with its thread)."""
        with self._lock:
            self._out.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)  # encoding, fileno, isatty, ...


def emulator_environment(emulator: str) -> dict[str, str]:
    """Point every AWS client of this process (boto3 and pynamodb) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": emulator,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def load_app() -> tuple[Any, Any]:
    """Load app.py as `chalice local --stage local` does, with the stage's environment."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(ROOT))
    config = factory.create_config_obj(chalice_stage_name=STAGE)
    return factory, config


def lambda_sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping would pass for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class LambdaContext:
    """Just enough of Lambda's context object for chalice's handlers: like Lambda's, a new
    request id each invocation, so the log lines of one can be found together."""

    def __init__(self, function_name: str = "local") -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def instances(source: SQSEventConfig) -> int:
    """How many invocations of a queue's function run at once: its event source's
    MaximumConcurrency (chalicelib/queues.py SENDERS for the senders), as Lambda's poller runs."""
    return source.maximum_concurrency or UNCAPPED_INSTANCES


@dataclass
class QueueFeeder:
    """Polls one queue and invokes its handler, as Lambda's event source mapping does: up to
    `instances` invocations at once, each on its own thread (an instance), and never more
    messages received than those instances can take, so a message waiting its turn stays in the
    queue without using up its receives (MaximumConcurrency, docs/architecture.md)."""

    sqs: Any
    queue: str
    handler: Callable[[dict[str, Any], Any], Any]
    batch_size: int
    stop: threading.Event
    function_name: str
    instances: int = 1
    handled: int = field(default=0)
    _counted: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self) -> None:
        """Poll until stopped, handing each batch to an idle instance."""
        url = self.sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        idle = threading.Semaphore(self.instances)
        batches: SimpleQueue[list[dict[str, Any]] | None] = SimpleQueue()
        # One thread per instance, kept like a warm Lambda: whatever an instance keeps between
        # invocations (its share of the channel's rate) is its own.
        for n in range(self.instances):
            threading.Thread(
                target=self._instance,
                args=(url, arn, batches, idle),
                name=f"{self.function_name}-{n + 1}",
                daemon=True,
            ).start()
        try:
            while not self.stop.is_set():
                if not idle.acquire(timeout=1):
                    continue  # every instance is busy: receive nothing
                messages = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(self.batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    batches.put(messages)
                else:
                    idle.release()
        finally:
            for _ in range(self.instances):
                batches.put(None)  # each instance ends after its current invocation

    def _instance(
        self,
        url: str,
        arn: str,
        batches: SimpleQueue[list[dict[str, Any]] | None],
        idle: threading.Semaphore,
    ) -> None:
        while (messages := batches.get()) is not None:
            try:
                self._invoke(url, arn, messages)
            except Exception as exc:  # the emulator refused or went away: SQS redelivers later
                print(f"[{self.queue}] could not settle a batch: {type(exc).__name__}")
            finally:
                idle.release()

    def _invoke(self, url: str, arn: str, messages: list[dict[str, Any]]) -> None:
        try:
            context = LambdaContext(self.function_name)
            result = self.handler(lambda_sqs_event(arn, messages), context)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception as exc:  # a crashed invocation: every message comes back
            print(f"[{self.queue}] handler crashed: {type(exc).__name__}; messages will be retried")
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=LOCAL_RETRY_SECONDS,
                )
            else:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                with self._counted:
                    self.handled += 1


def queue_feeders(app: Chalice, sqs: Any, stop: threading.Event) -> list[QueueFeeder]:
    """A feeder for every SQS handler of the app, with as many instances as Lambda would run."""
    return [
        QueueFeeder(
            sqs,
            source.queue,
            app.handler_map[source.name],
            source.batch_size,
            stop,
            function_name=source.name,
            instances=instances(source),
        )
        for source in app.event_sources
        if isinstance(source, SQSEventConfig) and source.queue
    ]


def cloudwatch_event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as Lambda receives it (chalice reads every one of these keys)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "000000000000",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def schedule_seconds(expression: Any) -> int:
    """Seconds between runs of a chalice Rate schedule."""
    text = expression if isinstance(expression, str) else expression.to_string()
    match = RATE.fullmatch(text)
    if not match:
        raise ValueError(f"the local runner supports rate(...) schedules only, not {text!r}")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2).rstrip("s")]


def run_schedule(name: str, handler: Any, every: float, stop: threading.Event) -> None:
    """Fire a scheduled handler every `every` seconds until stopped."""
    while not stop.wait(every):
        try:
            result = handler(
                cloudwatch_event("aws.events", "Scheduled Event", {}), LambdaContext(name)
            )
            if result and any(result.values()):
                print(f"[{name}] {json.dumps(result)}")
        except Exception as exc:
            print(f"[{name}] failed: {type(exc).__name__}: {exc}")


def create_push_applications(sns: Any) -> dict[str, str]:
    """SNS platform applications for the app (FCM, APNs) in the emulator, as their env vars."""
    arns = {}
    for platform, name in (("GCM", "FCM"), ("APNS", "APNS")):
        arns[f"PUSH_APPLICATION_{name}_ARN"] = sns.create_platform_application(
            Name=f"burgernet-local-{name.lower()}",
            Platform=platform,
            Attributes={"PlatformCredential": "local", "PlatformPrincipal": "local"},
        )["PlatformApplicationArn"]
    return arns


def seed_municipality(api: str) -> None:
    """Register the demo municipality through the admin route, as an operator would."""
    request = urllib.request.Request(
        f"{api}/municipalities",
        data=DEMO_MUNICIPALITY.read_bytes(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        seeded = json.load(response)
    print(f"demo: municipality {seeded['code']} {seeded['name']} registered")


def run_call_center(handler: Any, stop: threading.Event, call_seconds: float = 3.0) -> None:
    """What Connect does around the local voice stand-in: show each call, then end it with a
    contact event (answered) so its line is freed, as Amazon Connect's events would."""
    from chalicelib.runtime import local_voice

    seen = 0
    ending: list[tuple[float, str]] = []
    while not stop.wait(0.5):
        calls = local_voice().calls
        for call in calls[seen:]:
            print(f"[voice] call to {call.phone} ({call.language}): {call.text}", flush=True)
            ending.append((time.monotonic() + call_seconds, call.contact_id))
        seen = len(calls)
        due = [c for c in ending if c[0] <= time.monotonic()]
        for entry in due:
            ending.remove(entry)
            detail = {
                "eventType": "DISCONNECTED",
                "contactId": entry[1],
                "channel": "VOICE",
                "initiationMethod": "OUTBOUND",
                "connectedToSystemTimestamp": "answered-locally",
            }
            event = cloudwatch_event("aws.connect", "Amazon Connect Contact Event", detail)
            try:
                handler(event, LambdaContext("contact_events"))
            except Exception as exc:
                print(f"[contact_events] failed: {type(exc).__name__}: {exc}")


def banner(api: str, emulator: str) -> str:
    """How to use the running system."""
    people = "\n".join(
        f"                     {group.value:<19} user {name!r}, password {password!r}"
        for name, (password, group) in control_pool.DEMO_PEOPLE.items()
    )
    body = json.dumps(
        {
            "incident": "burglary",
            "description": "man, circa 30 jaar, rode jas, zwarte fiets",
            "area": {"lat": 52.0907, "lon": 5.1214, "radius_m": 1500},
            "duration_minutes": 30,
        }
    )
    return f"""
Burgernet is running locally.
  API       {api}   (loopback only; no IAM signing needed here, unlike deployed stages)
  emulator  {emulator}   (AWS endpoint; state at {emulator}/moto-api/data.json)

Start an action (Utrecht, Domplein, 1.5 km):
  curl -s -X POST {api}/actions -H 'Content-Type: application/json' \\
       -H 'Idempotency-Key: demo-1' -d '{body}'

Join as a resident:  {api}/signup?municipality=GM0344   (the code arrives in `make sms`;
                     demo addresses: 3511 LX 1, 3512 JE 12, 3521 AZ 150, 3581 KP 1)
Follow it:           curl -s {api}/actions/<action_id>
See the SMS sent:    make sms          (or: curl -s {emulator}/moto-api/data.json)
See the posts:       make posts        (Mastodon is mastodon_mock, X a stand-in: nothing leaves
                                        this machine)
Add a photo:         curl -s -X PUT {api}/actions/<action_id>/photo \\
                          -H 'Content-Type: image/jpeg' --data-binary @photo.jpg
Close it:            curl -s -X POST {api}/actions/<action_id>/close \\
                          -H 'Content-Type: application/json' -d '{{"outcome": "arrested"}}'
Public feeds:        {api}/public/alerts   (Burgernet's alert list, JSON)
                     {api}/public/actions   (Burgernet's action list, JSON)
                     {api}/public/feed.atom   (Atom index of the CAP 1.2 messages)
                     {api}/public/actions/<ref>.cap   {api}/a/<ref>   (the page)
Control room:        {api}/control   (sign in; no MFA here, prod asks a TOTP code too)
{people}
                     (its JSON routes, /control/actions…, take the ID token: docs/api.md)
Import participants: make import CSV=path/to/participants.csv
Stop:                Ctrl-C
{app_devices(api)}"""


def app_devices(api: str) -> str:
    """How to register an app install here: attestation is off unless ATTESTATION=standin."""
    register = (
        f"  curl -s -X POST {api}/devices -H 'Content-Type: application/json' \\\n"
        """       -d '{"platform": "fcm", "push_token": "demo-1"%s}'\n"""
    )
    key = os.environ.get("ATTESTATION_STANDIN_KEY")
    if os.environ.get("ATTESTATION") != "standin" or not key:
        return "\nApp devices (attestation off; ATTESTATION=standin make run turns it on):\n" + (
            register % ""
        )
    token = "$(ATTESTATION_STANDIN_KEY=" + key + " .venv/bin/python -m tools.attest fcm demo-1)"
    return "\nApp devices (stand-in attestation: a token is good for 10 minutes):\n" + register % (
        ', "attestation": "\'"' + token + '"\'"'
    )


def serve_public_photos(s3: Any, emulator: str) -> str:
    """Let anyone read the photos' two sizes (public/) from the emulator, as CloudFront serves
    them in AWS, where only CloudFront may read the bucket; return their base URL."""
    bucket = os.environ["PHOTOS_BUCKET"]
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/public/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return f"{emulator}/{bucket}/public"


# What API Gateway (REST) answers, itself, for a method no route defines on a path, as for a path
# no route has: the function never runs.
MISSING_AUTHENTICATION_TOKEN = b'{"message": "Missing Authentication Token"}'


class ApiGatewayRequestHandler(ChaliceRequestHandler):
    """chalice local's request handler, answering methods no route defines as API Gateway does.

    chalice local hands such a request to the app (405 from chalice) or, for a method
    http.server has no `do_` method for (TRACE, QUERY, ...), answers 501 Not Implemented itself.
    A deployed REST API answers both with 403 `{"message": "Missing Authentication Token"}`.
    """

    # The parent writes headers and body in separate sends: with Nagle's algorithm the body waits
    # for the client's delayed ACK, about 40 ms on every answer.
    disable_nagle_algorithm = True

    def __init__(
        self,
        request: Any,
        client_address: tuple[str, int],
        server: Any,
        app_object: Chalice,
        config: Config,
        verifier: control_pool.TokenVerifier,
    ) -> None:
        self._routes = app_object.routes
        # Cognito routes checked as API Gateway checks them (tools/control_pool.py says why).
        self._authorizer = control_pool.VerifyingAuthorizer(app_object, verifier)
        self._matcher = RouteMatcher(list(app_object.routes))
        # The parent handles the request inside __init__: everything above must be set first.
        super().__init__(request, client_address, server, app_object, config)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 for a method it finds no do_<METHOD> for; every method is
        # routed here instead, as API Gateway takes any method and decides by its routes.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self) -> None:
        if self._defined(self.command, self.path):
            self.local_gateway._authorizer = self._authorizer  # chalice's own checks no token
            super()._generic_handle()
            return
        self._parse_payload()  # read the body, so the next request on this connection parses
        headers = {
            "x-amzn-RequestId": str(uuid.uuid4()),
            "x-amzn-ErrorType": "MissingAuthenticationTokenException",
            "Content-Type": "application/json",
        }
        self._send_http_response(403, headers, MISSING_AUTHENTICATION_TOKEN)

    # The parent binds its own _generic_handle to these names; the other methods come through
    # __getattr__.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _defined(self, method: str, path: str) -> bool:
        """Whether a route defines the method on the path (an unknown path is chalice's 403)."""
        try:
            route = self._matcher.match_route(path).route
        except ValueError:
            return True
        views = self._routes[route]
        if method == "OPTIONS":
            # chalice deploys a preflight OPTIONS only where a view on the path has CORS.
            return method in views or any(view.cors for view in views.values())
        return method in views

    def _send_http_response_with_body(
        self, code: int, headers: dict[str, Any], body: str | bytes
    ) -> None:
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        # A HEAD answer has headers only (RFC 9110): a body sent anyway would be read as the
        # start of the next answer on this keep-alive connection.
        size = len(body.encode() if isinstance(body, str) else body)
        self.send_response(code)
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)


def start_emulator(
    emulator_port: int,
) -> tuple[ThreadedMotoServer, PdokStandIn, control_pool.TokenVerifier]:
    """Start the emulator with the stage's resources, and a geocoder; aim this process at them."""
    # Queries read only their partition, as in DynamoDB: local cost follows the cells a circle
    # touches, not the table (tools/moto_index.py says why and how).
    moto_index.install()
    # Each write is atomic, conditions included, as in DynamoDB: racing guesses at a code meet
    # the same limits as in AWS (tools/moto_atomic.py says why).
    moto_atomic.install()
    # Batched messages keep their AWSTraceHeader, as in SQS (tools/moto_trace_header.py).
    moto_trace_header.install()
    # A message goes to one receiver at a time, as in SQS: every sender's instances poll its
    # queue at once (tools/moto_receive.py says why).
    moto_receive.install()
    # This process's own AWS calls reach the emulator without a socket: moto's server closes
    # every connection, so each call cost a connection and a thread (tools/moto_inprocess.py).
    # Before any client exists: a botocore session takes its hooks when it is created.
    moto_inprocess.install()
    # `make sms` and the end-to-end tests read data.json while senders write: each read is a
    # snapshot, never a 500 (tools/moto_dashboard.py says why).
    moto_dashboard.install()
    server = ThreadedMotoServer(ip_address=HOST, port=emulator_port, verbose=False)
    server.start()
    moto_inprocess.serve(server)
    geocoder = PdokStandIn().start()
    emulator = loopback(emulator_port)
    os.environ.update(emulator_environment(emulator))
    os.environ.update(stage_environment(STAGE))
    if os.environ.get("ATTESTATION") == "standin":
        # One key per run, printed in the banner, so tools.attest can issue tokens it accepts.
        os.environ.setdefault("ATTESTATION_STANDIN_KEY", uuid.uuid4().hex)
    os.environ["GEOCODER_URL"] = geocoder.url  # recorded PDOK answers: no network
    create_resources(boto3.client("cloudformation"))
    print(f"emulator: stack {STACK_NAME} created from infra/template.json")
    pool = control_pool.create_pool(boto3.client("cognito-idp"), emulator, REGION)
    control_pool.create_demo_people(boto3.client("cognito-idp"), pool)
    os.environ.update(
        CONTROL_USER_POOL_ID=pool.pool_id, CONTROL_CLIENT_ID=pool.client_id, CONTROL_MFA="off"
    )
    print(f"emulator: control room user pool {pool.pool_id}, demo people in it")
    os.environ["PHOTOS_URL"] = serve_public_photos(boto3.client("s3"), emulator)
    os.environ.update(create_push_applications(boto3.client("sns")))
    return server, geocoder, control_pool.TokenVerifier.fetch(pool)


def start_social_networks(urls: LocalUrls, media_dir: str) -> tuple[LocalMastodon, SocialStandIn]:
    """Mastodon (mastodon_mock) and X (our stand-in) on loopback ports, the poster aimed at them;
    `make posts` reads both."""
    mastodon = LocalMastodon(urls.mastodon_port, media_dir).start()
    x = SocialStandIn(urls.social_port).start()
    os.environ["MASTODON_URL"], os.environ["X_API_URL"] = mastodon.url, x.url
    put_credentials(boto3.client("ssm"), os.environ["SOCIAL_CREDENTIALS_PARAMETER"])
    print(f"social: Mastodon (mastodon_mock) at {mastodon.url}, X stand-in at {x.url}")
    return mastodon, x


def warm_tables() -> None:
    """Make each table's DynamoDB client now, once, as each function's cold start would.

    pynamodb makes a model's client on its first request, with no lock: the targeting worker's
    claim threads (16) each made the ledger's at the first action, about 2.3 s of the runner's
    CPU in front of its first SMS. In Lambda a function's instances are separate processes, each
    with its own clients; here they share one, made once.
    """
    from chalicelib.dal.models import TABLES

    for model in TABLES:
        _ = model._get_connection().connection.client


def freeze_heap() -> None:
    """Leave everything loaded so far (the seeded tables) out of later garbage collections."""
    # A full collection walks every container object: at 50,000 participants the emulator's
    # tables are about 2 million, a 1-4 s pause every few requests. Frozen objects are still
    # freed by reference counting; only reference cycles among them would stay.
    gc.freeze()


def main(argv: list[str] | None = None) -> None:
    """Start emulator, resources, demo data, queue feeders, schedules and the API."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-seed", action="store_true", help="start without demo participants")
    parser.add_argument("--participants", type=int, default=3000, help="demo participants")
    args = parser.parse_args(argv)
    urls = local_urls()  # the ports every other tool reads too
    sys.stdout = cast(TextIO, WholeLines(sys.stdout))  # before anything keeps a reference to it

    # The functions' structured events on the console, as CloudWatch would show them; no line
    # per emulated AWS call.
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    # Local mode has no IAM, by design (loopback only); the banner says so once.
    warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for noisy in ("botocore", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server, geocoder, verifier = start_emulator(urls.emulator_port)
    media = tempfile.TemporaryDirectory(prefix="burgernet-mastodon-")  # uploaded photos
    mastodon, x = start_social_networks(urls, media.name)
    os.environ["PUBLIC_URL"] = urls.local_api  # feeds and posts link here
    tiles = TilesStandIn().start()  # the control room's map: PDOK's tiles need the network
    os.environ["MAP_TILES_URL"] = tiles.url
    factory, config = load_app()
    app = config.chalice_app
    if not args.no_seed:
        from tools import demo

        demo.seed(args.participants)
    freeze_heap()

    stop = threading.Event()
    # Each function's cold start once, before its instances start: boto3 creates clients from
    # one shared session, which is not safe to do from many threads at once.
    from chalicelib.runtime import runtime, social_networks

    runtime(), social_networks()
    warm_tables()
    threads = [
        threading.Thread(
            target=run_call_center,
            args=(app.handler_map["contact_events"], stop),
            name="call-center",
            daemon=True,
        )
    ]
    for feeder in queue_feeders(app, boto3.client("sqs"), stop):
        threads.append(threading.Thread(target=feeder.run, name=feeder.function_name, daemon=True))
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            every = schedule_seconds(source.schedule_expression)
            threads.append(
                threading.Thread(
                    target=run_schedule,
                    args=(source.name, app.handler_map[source.name], every, stop),
                    name=source.name,
                    daemon=True,
                )
            )
    for thread in threads:
        thread.start()

    http = factory.create_local_server(app, config, HOST, urls.api_port)
    # API Gateway's answer to a method no route defines, where chalice local gives 405 or 501.
    http.server.RequestHandlerClass = functools.partial(
        ApiGatewayRequestHandler, app_object=app, config=config, verifier=verifier
    )
    threading.Thread(target=http.serve_forever, name="api", daemon=True).start()
    seed_municipality(urls.local_api)
    print(banner(urls.local_api, urls.emulator), flush=True)

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stop.wait()
    print("stopping...", flush=True)
    http.shutdown()
    for thread in threads:
        thread.join(timeout=5)
    server.stop()
    geocoder.stop()
    tiles.stop()
    mastodon.stop()
    x.stop()
    media.cleanup()
    print("stopped.", flush=True)


if __name__ == "__main__":
    main()
