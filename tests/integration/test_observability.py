"""What cloud operations see: the functions' events on stdout (CloudWatch), and one trace per
action, with ids only."""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import boto3
import geohash2
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chalicelib import runtime as runtime_module
from chalicelib import tracing
from chalicelib.dal import municipalities as municipality_store
from chalicelib.dal.models import Device
from chalicelib.domain.geo.planning import plan_queries
from chalicelib.domain.geo.shapes import Circle
from chalicelib.queues import PUSH_QUEUE, SMS_QUEUE, TARGETING_QUEUE, VOICE_QUEUE
from tests.support.builders import UTRECHT, add_participant
from tests.support.system import REGION, System
from tests.support.traces import SegmentCollector
from tools.emulator import ROOT

MUNICIPALITY = json.loads((ROOT / "tools/fixtures/gm0344_utrecht.json").read_text())

PHONE = "+31612345678"


@pytest.fixture
def stdout_log(system: System) -> Iterator[io.StringIO]:
    """What chalice's app logger handler (stdout, i.e. CloudWatch in Lambda) writes."""
    # chalice's own handler: a plain StreamHandler (pytest's capture handlers are subclasses)
    [handler] = [
        h for h in logging.getLogger("burgernet").handlers if type(h) is logging.StreamHandler
    ]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_events_reach_stdout_at_the_level_lambda_runs_with(
    system: System, stdout_log: io.StringIO
) -> None:
    # Given a participant inside the area, and logging left as chalice sets it up
    add_participant(PHONE, UTRECHT)
    assert logging.getLogger("burgernet").level == logging.ERROR  # chalice's, without debug

    # When an action runs
    response = system.post(
        "/actions",
        {
            "incident": "robbery",
            "description": "twee mannen op een zwarte scooter",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500},
        },
    )
    action_id = response.json_body["action_id"]
    system.run_queues()

    # Then its events are on stdout as JSON, carrying the action id and counts, not the phone
    out = stdout_log.getvalue()
    events = [json.loads(line[line.index("{") :]) for line in out.splitlines() if '"event"' in line]
    started = [e for e in events if e["event"] == "action_started"]
    targeted = [e for e in events if e["event"] == "action_targeted"]
    assert started == [
        {
            "event": "action_started",
            "action_id": action_id,
            "incident": "robbery",
            "area": "Circle",
            "radius_m": 500.0,
            "function_name": "api_handler",
            "request_id": ANY,
        }
    ]
    assert targeted and targeted[0]["recipients"] == 1
    assert PHONE not in out and "612345678" not in out


def events(out: str) -> list[dict[str, Any]]:
    """The JSON event lines of a log."""
    return [json.loads(line[line.index("{") :]) for line in out.splitlines() if '"event"' in line]


@pytest.fixture
def gone_app(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app install at UTRECHT whose push endpoint the platform has since disabled."""
    sns = boto3.client("sns", region_name=REGION)
    application = sns.create_platform_application(
        Name="burgernet-fcm",
        Platform="GCM",
        Attributes={"PlatformCredential": "secret", "PlatformPrincipal": "principal"},
    )["PlatformApplicationArn"]
    monkeypatch.setenv("PUSH_APPLICATION_FCM_ARN", application)
    runtime_module.reset()
    runtime_module.runtime()
    device = system.post("/devices", {"platform": "fcm", "push_token": "t-1"}).json_body
    located = system.client.http.put(
        f"/devices/{device['device_id']}/location",
        body=json.dumps({"lat": UTRECHT[0], "lon": UTRECHT[1]}),
        headers={"Content-Type": "application/json", "X-Device-Secret": device["device_secret"]},
    )
    assert located.status_code == 200, located.body
    arn = Device.get(device["device_id"]).endpoint_arn
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})


@pytest.mark.usefixtures("gone_app")
def test_every_line_of_a_worker_carries_its_function_invocation_and_action(
    system: System, stdout_log: io.StringIO
) -> None:
    # Given a participant and an app whose endpoint is gone (the push sender then logs that
    # without naming the action), both inside the area
    add_participant(PHONE, UTRECHT)

    # When an action runs
    response = system.post(
        "/actions",
        {
            "incident": "robbery",
            "description": "twee mannen op een zwarte scooter",
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500},
        },
    )
    action_id = response.json_body["action_id"]
    system.run_queues()

    # Then each line a worker wrote names its function, its invocation and the action
    out = stdout_log.getvalue()
    lines = [e for e in events(out) if e.get("function_name") != "api_handler"]
    assert {e["event"] for e in lines} >= {"action_targeted", "push_endpoint_gone", "send_failed"}
    assert all(e.get("action_id") == action_id for e in lines), lines
    invocations: dict[str, set[str]] = {}
    for e in lines:
        invocations.setdefault(e["function_name"], set()).add(e["request_id"])
    # one invocation each here: the targeting worker, and the push sender's one chunk
    assert {name: len(ids) for name, ids in invocations.items()} == {
        "targeting_worker": 1,
        "push_sender": 1,
    }
    assert PHONE not in out and "612345678" not in out


# --- One trace per action ------------------------------------------------------------------------
#
# A whole action (a resident signs up with a code, dispatch starts an action that reaches them by
# SMS, a landline by a call and an app at the scene by push, then closes it), traced in-process:
# X-Ray's recorder hands its segments to a collector instead of a daemon, and OpenTelemetry's SDK
# keeps its spans in memory instead of exporting them (as the ADOT layer would).

RESIDENT = "+31612345678"  # signs up as "06-12345678", at Domplein 1
BIRTH_DATE = "1990-04-01"
DOMPLEIN = (52.09074, 5.12143)  # Domplein 1, 3511 LX, as PDOK answers (tools/fixtures)
LANDLINE = "+31302345678"  # prefers a call
LANDLINE_HOME = (52.0871, 5.1199)  # about 400 m south
APP_AT = (52.0934, 5.1230)  # an app's current location, about 300 m north
PUSH_TOKEN = "push-token-of-the-app"
DESCRIPTION = "man in rode jas op een zwarte fiets"
RADIUS_M = 1000
COUNTS = {"inside", "recipients", "claimed", "queued", "size", "sent", "put_back"}
WORKERS = (
    (TARGETING_QUEUE, "targeting_worker"),
    (SMS_QUEUE, "sms_sender"),
    (VOICE_QUEUE, "voice_sender"),
    (PUSH_QUEUE, "push_sender"),
)


@dataclass(frozen=True)
class Span:
    """One span (an X-Ray segment or subsegment, or an OpenTelemetry span), as ops would see it."""

    name: str
    trace: str  # X-Ray's form, 1-xxxxxxxx-yyyy…, whichever backend recorded it
    fields: dict[str, Any]  # annotations and counts, or attributes
    ours: bool  # made by chalicelib/tracing.py (not an AWS call, not the test's API invocation)
    indexed: frozenset[str]  # the fields X-Ray indexes: annotations, searchable
    parent: str | None  # the name of the span it is part of
    operation: str | None  # an AWS call's, e.g. Query


@dataclass
class Traced:
    """What one backend recorded, and what the test process feeds the system as Lambda would."""

    invocation: Callable[[], AbstractContextManager[Any]]  # Lambda's segment/span for the API
    spans: Callable[[], list[Span]]
    documents: Callable[[], str]  # everything recorded, serialized as it would leave the process


def xray_spans(documents: list[dict[str, Any]]) -> list[Span]:
    names: dict[str, str] = {}  # id -> name: a streamed subsegment names only its parent's id

    def index(entity: dict[str, Any]) -> None:
        names[entity["id"]] = entity["name"]
        for sub in entity.get("subsegments", []):
            index(sub)

    def walk(entity: dict[str, Any], trace: str, parent: str | None) -> Iterator[Span]:
        fields = {**entity.get("annotations", {}), **entity.get("metadata", {}).get("counts", {})}
        ours = entity.get("namespace") != "aws" and entity["name"] != "api_handler"
        operation = entity.get("aws", {}).get("operation")
        indexed = frozenset(entity.get("annotations", {}))
        yield Span(entity["name"], trace, fields, ours, indexed, parent, operation)
        for sub in entity.get("subsegments", []):
            yield from walk(sub, trace, entity["name"])

    for doc in documents:
        index(doc)
    return [
        span
        for doc in documents
        for span in walk(doc, doc["trace_id"], names.get(doc.get("parent_id", "")))
    ]


@pytest.fixture
def xray(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    from aws_xray_sdk.core import xray_recorder

    monkeypatch.setenv("TRACING", "xray")
    collector = SegmentCollector()
    xray_recorder.configure(emitter=collector, sampling=False)
    yield Traced(
        invocation=lambda: xray_recorder.in_segment("api_handler"),
        spans=lambda: xray_spans(collector.documents),
        documents=lambda: json.dumps(collector.documents),
    )
    tracing.init("off", "test")  # botocore stays patched: quiet it for the tests that follow


@pytest.fixture
def otel(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, otel_exporter: InMemorySpanExporter
) -> Iterator[Traced]:
    monkeypatch.setenv("TRACING", "otel")
    otel_exporter.clear()
    aws_calls = BotocoreInstrumentor()  # ADOT traces every AWS call: its spans are scanned too
    aws_calls.instrument()

    def spans() -> list[Span]:
        finished = otel_exporter.get_finished_spans()
        names = {s.context.span_id: s.name for s in finished if s.context is not None}
        found = []
        for span in finished:
            assert span.context is not None
            hexed = f"{span.context.trace_id:032x}"
            scope = span.instrumentation_scope
            attributes = dict(span.attributes or {})
            indexed = frozenset(attributes.pop("aws.xray.annotations", ()))
            found.append(
                Span(
                    span.name,
                    f"1-{hexed[:8]}-{hexed[8:]}",
                    attributes,
                    scope is not None and scope.name == "burgernet",
                    indexed,
                    names.get(span.parent.span_id) if span.parent else None,
                    str(attributes["rpc.method"]) if "rpc.method" in attributes else None,
                )
            )
        return found

    yield Traced(
        invocation=lambda: trace.get_tracer("lambda").start_as_current_span("api_handler"),
        spans=spans,
        documents=lambda: "\n".join(s.to_json() for s in otel_exporter.get_finished_spans()),
    )
    aws_calls.uninstrument()
    tracing.init("off", "test")


@pytest.fixture(params=["xray", "otel"])
def traced(request: pytest.FixtureRequest) -> Traced:
    """The same action under either backend: they must record the same."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def neighbourhood(traced: Traced, system: System, monkeypatch: pytest.MonkeyPatch) -> Traced:
    """A deployment that texts, calls (the local stand-in) and pushes (an FCM application)."""
    arn = boto3.client("sns", region_name=REGION).create_platform_application(
        Name="burgernet-gcm",
        Platform="GCM",
        Attributes={"PlatformCredential": "secret", "PlatformPrincipal": "principal"},
    )["PlatformApplicationArn"]
    monkeypatch.setenv("PUSH_APPLICATION_FCM_ARN", arn)
    monkeypatch.setenv("CHANNELS", "sms,voice")
    monkeypatch.setenv("VOICE_BACKEND", "local")
    monkeypatch.setattr(municipality_store, "_areas", None)  # cached per process
    runtime_module.reset()
    runtime_module.runtime()
    return traced


def ok(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    return dict(response.json_body)


def work_off_every_queue(system: System) -> list[dict[str, Any]]:
    """Invoke each worker with its queue's messages, as Lambda would, until none are left."""
    handled = []
    while True:
        batch = [(q, h, m) for q, h in WORKERS for m in system.emulator.drain(q)]
        if not batch:
            return handled
        for queue, handler, message in batch:
            system.invoke(handler, queue, [message])
            handled.append(message)


def run_whole_action(system: System, traced: Traced) -> dict[str, Any]:
    """Sign a resident up, start an action that reaches three people on three channels, close it.

    Returns what the test must find nowhere in a trace, and the action.
    """
    with traced.invocation():
        ok(system.post("/municipalities", MUNICIPALITY), 201)
    with traced.invocation():
        signup = ok(
            system.post(
                "/signup",
                {
                    "municipality": "GM0344",
                    "phone": "06-12345678",
                    "birth_date": BIRTH_DATE,
                    "places": [{"label": "home", "postcode": "3511 LX", "house_number": "1"}],
                },
            ),
            202,
        )
    [code] = re.findall(r"\b\d{6}\b", system.emulator.sms_to(RESIDENT)[-1])
    with traced.invocation():
        ok(system.post("/signup/verify", {"signup_id": signup["signup_id"], "code": code}), 201)
    add_participant(LANDLINE, LANDLINE_HOME, channel="voice")
    with traced.invocation():
        device = ok(
            system.post(
                "/devices", {"platform": "fcm", "push_token": PUSH_TOKEN, "language": "nl"}
            ),
            201,
        )
    with traced.invocation():
        response = system.client.http.put(
            f"/devices/{device['device_id']}/location",
            body=json.dumps({"lat": APP_AT[0], "lon": APP_AT[1]}),
            headers={
                "Content-Type": "application/json",
                "X-Device-Secret": device["device_secret"],
            },
        )
        assert response.status_code == 200, response.body

    with traced.invocation():
        action = ok(
            system.post(
                "/actions",
                {
                    "incident": "burglary",
                    "description": DESCRIPTION,
                    "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": RADIUS_M},
                    "channels": ["sms", "voice"],
                },
            ),
            202,
        )
    messages = work_off_every_queue(system)
    with traced.invocation():
        ok(system.post(f"/actions/{action['action_id']}/close", {"outcome": "arrested"}), 200)
    messages += work_off_every_queue(system)
    with traced.invocation():
        action = ok(system.get(f"/actions/{action['action_id']}"), 200)

    secrets = [
        RESIDENT,
        RESIDENT[3:],  # 612345678: any notation
        LANDLINE,
        LANDLINE[3:],
        code,
        BIRTH_DATE,
        "3511 LX",
        "3511LX",
        "Domplein",
        device["device_secret"],
        PUSH_TOKEN,
        DESCRIPTION,
    ]
    for lat, lon in (DOMPLEIN, LANDLINE_HOME, APP_AT):
        secrets += [f"{lat:.4f}", f"{lon:.4f}", geohash2.encode(lat, lon, 7)]
    return {"action": action, "messages": messages, "secrets": secrets}


def expected_spans(action: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every span of ours one action makes, with its fields: the contract with cloud ops."""
    ids = {"stage": "test", "action_id": action["action_id"]}
    about = {**ids, "ref": action["ref"], "incident": "burglary"}
    spans: list[tuple[str, dict[str, Any]]] = [
        ("start_action", about),
        ("targeting_worker", {**ids, "kind": "target"}),
        ("target", {**about, "inside": 3, "recipients": 3, "claimed": 3}),
        ("close_action", {**about, "outcome": "arrested"}),
        ("targeting_worker", {**ids, "kind": "results"}),
        ("results", {**about, "queued": 3}),
    ]
    for channel in ("sms", "voice", "push"):
        for kind in ("alert", "result"):
            work = {"kind": kind, "channel": channel}
            spans.append((f"{channel}_sender", {**ids, **work}))
            spans.append(("send", {**about, **work, "size": 1, "sent": 1, "put_back": 0}))
    return sorted(spans, key=repr)


def found_in(text: str, secret: str) -> bool:
    """Whether `secret` is in `text` as itself, not as the tail of a longer number or id."""
    return re.search(rf"(?<![\w.]){re.escape(secret)}(?!\d)", text) is not None


def test_one_action_is_one_trace_with_its_id_everywhere_and_no_personal_data(
    neighbourhood: Traced, system: System
) -> None:
    # Given a resident, a landline and an app near the Dom; When an action runs and closes
    seen = run_whole_action(system, neighbourhood)
    action = seen["action"]
    assert (action["counts"]["sent"], action["counts"]["results_sent"]) == (3, 3)
    spans = neighbourhood.spans()
    ours = [s for s in spans if s.ours]

    # Then every span of ours is the action's, annotated with its id, exactly as agreed: ids
    # indexed (X-Ray filter expressions find them), counts not
    assert sorted(((s.name, s.fields) for s in ours), key=repr) == expected_spans(action)
    assert all(s.indexed == set(s.fields) - COUNTS for s in ours)
    # ... all in the trace the API started, but the close: that is dispatch's own request, which
    # hands the results to the action's trace
    [trace_id] = {s.trace for s in ours if s.name != "close_action"}
    assert trace_id in {s.trace for s in spans if s.name == "api_handler"}
    [close] = [s for s in ours if s.name == "close_action"]
    assert close.trace != trace_id
    # ... AWS calls made on other threads included: each geo query of the targeting, each claim
    by_targeting = Counter(s.operation for s in spans if s.parent == "target")
    # (the first round's probes at least: a probe that stops at its limit plans a second round)
    assert by_targeting["Query"] >= len(plan_queries(Circle(*UTRECHT, RADIUS_M)).probes) > 0
    assert by_targeting["PutItem"] == 3
    # ... which every message on every queue carried to the worker that took it
    headers = [m["Attributes"].get("AWSTraceHeader", "") for m in seen["messages"]]
    assert len(headers) == 2 + 6
    assert all(h.startswith(f"Root={trace_id};Parent=") for h in headers), headers
    # ... and nothing recorded, ours or AWS calls, holds a phone number, address, code or secret
    recorded = neighbourhood.documents()
    assert [secret for secret in seen["secrets"] if found_in(recorded, secret)] == []
