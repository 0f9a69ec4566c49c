"""The tracing seam: ids as annotations, counts apart, never personal data; off unless chosen.

X-Ray patches botocore process-wide, so each X-Ray case runs in its own interpreter. The
OpenTelemetry cases run here, with the SDK's in-memory exporter as the ADOT layer's stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chalicelib import tracing
from tools.emulator import ROOT

PHONE = "+31612345678"
# A header as SQS carries it: trace 1-5759e988-bd86…, sent from span 53995c3f42cd8ad8, sampled.
ROOT_ID = "1-5759e988-bd862e3fe1be46a994272793"
HEADER = f"Root={ROOT_ID};Parent=53995c3f42cd8ad8;Sampled=1"


PRELUDE = textwrap.dedent(
    """
    import json, os
    os.environ.update(
        AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="eu-west-1"
    )
    from aws_xray_sdk.core import xray_recorder
    from chalicelib import tracing
    from tests.support.traces import SegmentCollector
    """
)


def run_python(body: str, env: dict[str, str] | None = None) -> Any:
    """Run `body` in a fresh interpreter, after PRELUDE; return its last line as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_traced(body: str, backend: str = "xray") -> dict[str, Any]:
    """Run `body` inside an X-Ray segment in a fresh interpreter; return the segment as JSON."""
    opening = f"""
tracing.init({backend!r}, "test")
xray_recorder.configure(sampling=False)
segment = xray_recorder.begin_segment("test")
"""
    return dict(run_python(opening + textwrap.dedent(body) + "\nprint(segment.serialize())\n"))


# --- X-Ray -------------------------------------------------------------------------------------


def test_work_is_annotated_with_the_action_id() -> None:
    segment = run_traced(
        """
        with tracing.traced("send", action_id="a-1", kind="alert"):
            tracing.annotate(ref="ABC234")
            tracing.count(size=25)
        """
    )
    [sub] = segment["subsegments"]
    assert sub["name"] == "send"
    # ids are annotations (indexed: X-Ray can filter on them); counts are metadata
    assert sub["annotations"] == {
        "action_id": "a-1",
        "kind": "alert",
        "ref": "ABC234",
        "stage": "test",
    }
    assert sub["metadata"] == {"counts": {"size": 25}}


def test_an_sms_publish_is_traced_without_the_phone_number_or_the_text() -> None:
    segment = run_traced(
        f"""
        import boto3
        from moto import mock_aws
        with mock_aws():
            with tracing.traced("send", action_id="a-1"):
                boto3.client("sns").publish(PhoneNumber="{PHONE}", Message="Burgernet: ref. ABC123")
        """
    )
    text = json.dumps(segment)
    assert '"namespace": "aws"' in text  # the publish call itself was traced
    assert PHONE not in text and "612345678" not in text
    assert "ABC123" not in text


def test_a_failure_is_marked_with_its_type_but_not_its_message() -> None:
    segment = run_traced(
        f"""
        try:
            with tracing.traced("send", action_id="a-1"):
                raise ValueError("no SMS to {PHONE}")
        except ValueError:
            pass
        """
    )
    [sub] = segment["subsegments"]
    assert sub["fault"] is True
    assert sub["annotations"]["error"] == "ValueError"
    assert "612345678" not in json.dumps(segment)


def test_switched_off_nothing_is_recorded() -> None:
    segment = run_traced(
        """
        with tracing.traced("send", action_id="a-1"):
            tracing.count(size=1)
        """,
        backend="off",
    )
    assert "subsegments" not in segment


def test_switched_off_after_xray_the_patched_aws_calls_record_nothing_either() -> None:
    segment = run_traced(
        """
        import boto3
        from moto import mock_aws
        tracing.init("off", "test")  # botocore stays patched: it must go quiet
        with mock_aws():
            boto3.client("sqs").list_queues()
        """
    )
    assert "subsegments" not in segment


def test_the_header_sent_with_work_names_the_trace_and_the_span_it_was_sent_from() -> None:
    sent = run_python(
        """
        tracing.init("xray", "test")
        xray_recorder.configure(sampling=False)
        segment = xray_recorder.begin_segment("api_handler")
        with tracing.traced("start_action"):
            header = tracing.trace_header()
            subsegment = xray_recorder.current_subsegment()
        print(json.dumps([header, segment.trace_id, subsegment.id]))
        """
    )
    header, trace_id, span_id = sent
    assert header == f"Root={trace_id};Parent={span_id};Sampled=1"


def test_outside_lambda_a_message_is_handled_in_a_segment_of_the_trace_that_sent_it() -> None:
    documents = run_python(
        f"""
        collector = SegmentCollector()
        tracing.init("xray", "test")
        xray_recorder.configure(emitter=collector, sampling=False)
        with tracing.continued("sms_sender", {HEADER!r}, action_id="a-1"):
            with tracing.traced("send", action_id="a-1"):
                pass
        print(json.dumps(collector.documents))
        """
    )
    [segment] = documents
    assert segment["name"] == "sms_sender"
    assert segment["trace_id"] == ROOT_ID
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["annotations"] == {"action_id": "a-1", "stage": "test"}
    assert [s["name"] for s in segment["subsegments"]] == ["send"]


def test_in_lambda_a_message_is_handled_in_a_subsegment_of_lambdas_own_segment() -> None:
    # Lambda makes the invocation's segment (and links its trace to the message's); a function
    # may not make one, so the SDK would drop a segment made here, and everything in it.
    lambda_root = "1-6759e988-0d862e3fe1be46a994272793"
    documents = run_python(
        f"""
        collector = SegmentCollector()
        tracing.init("xray", "test")
        xray_recorder.configure(emitter=collector, streaming_threshold=0)
        tracing.annotate(action_id="a-1")  # outside any span: Lambda's segment refuses them
        tracing.count(size=1)
        with tracing.continued("sms_sender", {HEADER!r}, action_id="a-1"):
            header = tracing.trace_header()
        print(json.dumps([header, collector.documents]))
        """,
        env={
            "LAMBDA_TASK_ROOT": "/var/task",
            "_X_AMZN_TRACE_ID": f"Root={lambda_root};Parent=1111111111111111;Sampled=1",
        },
    )
    header, [subsegment] = documents
    assert subsegment["type"] == "subsegment"
    assert subsegment["name"] == "sms_sender"
    assert subsegment["trace_id"] == lambda_root
    assert subsegment["parent_id"] == "1111111111111111"
    assert subsegment["annotations"] == {"action_id": "a-1", "stage": "test"}
    # work it sends on carries this invocation's trace, which Lambda links on in turn
    assert header.startswith(f"Root={lambda_root};Parent={subsegment['id']};Sampled=1")


def test_aws_calls_on_other_threads_are_recorded_inside_the_span_that_made_them() -> None:
    segment = run_traced(
        """
        import boto3
        from concurrent.futures import ThreadPoolExecutor
        from moto import mock_aws
        with mock_aws():
            sqs = boto3.client("sqs")
            with tracing.traced("target", action_id="a-1"):
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(tracing.carried(lambda _: sqs.list_queues()), range(2)))
        """
    )
    [target] = segment["subsegments"]
    assert [s["name"] for s in target["subsegments"]] == ["sqs", "sqs"]


# --- OpenTelemetry ------------------------------------------------------------------------------


@pytest.fixture
def spans(otel_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """TRACING=otel, with the spans the SDK finishes."""
    otel_exporter.clear()
    tracing.init("otel", "test")
    yield otel_exporter
    tracing.init("off", "test")


def test_otel_work_carries_ids_and_counts_as_attributes(spans: InMemorySpanExporter) -> None:
    with tracing.traced("send", action_id="a-1", kind="alert"):
        tracing.annotate(ref="ABC234")
        tracing.count(size=25)
    [span] = spans.get_finished_spans()
    assert span.name == "send"
    attributes = dict(span.attributes or {})
    # X-Ray indexes the ids (as the X-Ray SDK's annotations), not the counts
    assert set(attributes.pop("aws.xray.annotations")) == {"action_id", "kind", "ref", "stage"}
    assert attributes == {
        "action_id": "a-1",
        "kind": "alert",
        "ref": "ABC234",
        "stage": "test",
        "size": 25,
    }


def test_otel_failure_is_marked_with_its_type_but_not_its_message(
    spans: InMemorySpanExporter,
) -> None:
    with pytest.raises(ValueError), tracing.traced("send", action_id="a-1"):
        raise ValueError(f"no SMS to {PHONE}")
    [span] = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error"] == "ValueError"
    assert "error" in (span.attributes or {})["aws.xray.annotations"]
    assert "612345678" not in span.to_json()


def test_otel_header_is_xrays_naming_the_trace_and_the_span(spans: InMemorySpanExporter) -> None:
    with tracing.traced("start_action"):
        header = tracing.trace_header()
        context = trace.get_current_span().get_span_context()
    trace_hex = f"{context.trace_id:032x}"
    assert (
        header == f"Root=1-{trace_hex[:8]}-{trace_hex[8:]};Parent={context.span_id:016x};Sampled=1"
    )


def test_otel_continues_the_trace_an_xray_header_names_and_links_the_invocation(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("lambda")  # the span ADOT makes for each invocation
    with (
        tracer.start_as_current_span("invocation") as invocation,
        tracing.continued("sms_sender", HEADER, action_id="a-1"),
    ):
        pass
    handled = next(s for s in spans.get_finished_spans() if s.name == "sms_sender")
    assert handled.kind is SpanKind.CONSUMER
    assert f"{handled.context.trace_id:032x}" == ROOT_ID[2:].replace("-", "")
    assert handled.parent is not None and f"{handled.parent.span_id:016x}" == "53995c3f42cd8ad8"
    assert [link.context for link in handled.links] == [invocation.get_span_context()]
    assert dict(handled.attributes or {}) == {
        "action_id": "a-1",
        "stage": "test",
        "aws.xray.annotations": ("stage", "action_id"),
    }


def test_otel_without_a_header_a_message_is_handled_inside_the_invocation(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("lambda")
    with (
        tracer.start_as_current_span("invocation") as invocation,
        tracing.continued("code_sender", None),
    ):
        pass
    handled = next(s for s in spans.get_finished_spans() if s.name == "code_sender")
    assert handled.parent == invocation.get_span_context()
    assert not handled.links


def test_otel_work_on_other_threads_stays_inside_its_span(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("botocore")  # as ADOT's botocore instrumentation makes spans

    def query() -> None:
        with tracer.start_as_current_span("DynamoDB.Query"):
            pass

    with tracing.traced("target", action_id="a-1"):
        worker = threading.Thread(target=tracing.carried(query))
        worker.start()
        worker.join()
        context = trace.get_current_span().get_span_context()
    query_span = next(s for s in spans.get_finished_spans() if s.name == "DynamoDB.Query")
    assert query_span.parent == context


def test_otel_switched_off_nothing_is_recorded(spans: InMemorySpanExporter) -> None:
    tracing.init("off", "test")
    with tracing.traced("send", action_id="a-1"):
        tracing.count(size=1)
        assert tracing.trace_header() is None
    assert spans.get_finished_spans() == ()
