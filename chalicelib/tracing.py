"""The one seam to tracing: the X-Ray SDK and OpenTelemetry live here and nowhere else.

TRACING (chalicelib/settings.py) picks what records: `xray`, the X-Ray SDK (end of support
25 February 2027); `otel`, the OpenTelemetry API, which the ADOT Lambda layer implements and
exports (docs/operations.md); or `off`. Both record the same spans with the same fields: ids
(action_id, ref, incident, channel, kind, outcome, stage) as X-Ray annotations or OpenTelemetry
attributes, counts as X-Ray metadata or attributes. Never phone numbers, addresses or codes, and
of an error only its type (a message may quote what it failed on).

One trace per action: each SQS message carries the trace it was sent in (`trace_header`, X-Ray's
header format, which both backends speak), and a worker handles it in a span continuing that
trace (`continued`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
HEADER = "X-Amzn-Trace-Id"  # X-Ray's trace header, as SQS's AWSTraceHeader carries it
COUNTS = "counts"  # the X-Ray metadata namespace of counts
XRAY_ANNOTATIONS = "aws.xray.annotations"  # the OpenTelemetry attributes X-Ray indexes


class _Backend(Protocol):
    def span(self, name: str, ids: Mapping[str, str]) -> AbstractContextManager[None]: ...

    def continued(
        self, name: str, header: str | None, ids: Mapping[str, str]
    ) -> AbstractContextManager[None]: ...

    def annotate(self, ids: Mapping[str, str]) -> None: ...

    def count(self, counts: Mapping[str, int]) -> None: ...

    def header(self) -> str | None: ...

    def carried(self, work: Callable[P, T]) -> Callable[P, T]: ...


_backend: _Backend | None = None
_stage = ""  # the deployment stage, on every span
_within: ContextVar[str | None] = ContextVar("within", default=None)  # see within()


def init(backend: str, stage: str) -> None:
    """Record traces with `backend` (xray | otel | off) from now on, each span naming `stage`."""
    global _backend, _stage
    _stage = stage
    if isinstance(_backend, _XRay):
        _backend.stop()
    if backend == "xray":
        _backend = _XRay()
    elif backend == "otel":
        _backend = _OTel()
    else:
        _backend = None


@contextmanager
def traced(name: str, **ids: str) -> Iterator[None]:
    """Run a block as a span (an X-Ray subsegment) of the current trace, annotated with ids."""
    if _backend is None:
        yield
        return
    with _backend.span(name, {"stage": _stage, **ids}):
        yield


@contextmanager
def continued(name: str, header: str | None, **ids: str) -> Iterator[None]:
    """Handle one SQS message in a span continuing the trace its AWSTraceHeader names."""
    if _backend is None:
        yield
        return
    with _backend.continued(name, header, {"stage": _stage, **ids}):
        yield


def annotate(**ids: str) -> None:
    """Add ids to the current span, e.g. an id known only part-way through."""
    if _backend is not None:
        _backend.annotate(ids)


def count(**counts: int) -> None:
    """Add counts to the current span (X-Ray metadata: not indexed, as counts need not be)."""
    if _backend is not None:
        _backend.count(counts)


def trace_header() -> str | None:
    """The current trace context as an AWSTraceHeader value (Root=…;Parent=…;Sampled=…)."""
    if _backend is None:
        return None
    return _within.get() or _backend.header()


@contextmanager
def within(header: str | None) -> Iterator[None]:
    """Work sent in the block continues `header`'s trace (an action's own, kept since its start)
    rather than the current one; with no header, the current one."""
    token = _within.set(header)
    try:
        yield
    finally:
        _within.reset(token)


def carried(work: Callable[P, T]) -> Callable[P, T]:
    """`work`, to run on other threads inside the current span (a thread starts with none)."""
    return _backend.carried(work) if _backend is not None else work


class _XRay:
    """The X-Ray SDK: subsegments of the function's segment, which Lambda makes."""

    def __init__(self) -> None:
        from aws_xray_sdk import global_sdk_config
        from aws_xray_sdk.core import patch, xray_recorder
        from aws_xray_sdk.core.lambda_launcher import LambdaContext

        global_sdk_config.set_sdk_enabled(True)
        # Outside a traced invocation (e.g. an import script) log instead of raising.
        xray_recorder.configure(context_missing="LOG_ERROR")
        # botocore's X-Ray metadata keeps only whitelisted parameters (no PhoneNumber, no items).
        patch(("boto3", "botocore", "pynamodb"))
        self.recorder = xray_recorder
        self.lambda_context = LambdaContext

    def stop(self) -> None:
        """Record nothing more: botocore stays patched (it cannot be undone), but idle."""
        from aws_xray_sdk import global_sdk_config

        global_sdk_config.set_sdk_enabled(False)

    def _current(self) -> Any:
        from aws_xray_sdk.core.models.facade_segment import FacadeSegment

        entity = self.recorder.get_trace_entity()
        # Lambda's own segment takes no annotations: they go on our subsegments.
        return None if isinstance(entity, FacadeSegment) else entity

    @contextmanager
    def _recording(self, entity: Any, ids: Mapping[str, str]) -> Iterator[None]:
        for key, value in ids.items():
            entity.put_annotation(key, value)
        try:
            yield
        except BaseException as exc:
            entity.add_fault_flag()
            entity.put_annotation("error", type(exc).__name__)
            raise

    @contextmanager
    def span(self, name: str, ids: Mapping[str, str]) -> Iterator[None]:
        subsegment = self.recorder.begin_subsegment(name)
        if subsegment is None:  # no segment to be part of (logged by context_missing)
            yield
            return
        try:
            with self._recording(subsegment, ids):
                yield
        finally:
            self.recorder.end_subsegment()

    @contextmanager
    def continued(self, name: str, header: str | None, ids: Mapping[str, str]) -> Iterator[None]:
        if isinstance(self.recorder.context, self.lambda_context):
            # Lambda made this invocation's segment and links it to the message's trace itself
            # (X-Ray trace linking reads AWSTraceHeader); a function may not make segments.
            with self.span(name, ids):
                yield
            return
        from aws_xray_sdk.core.models.trace_header import TraceHeader

        parent = TraceHeader.from_header_str(header)
        segment = self.recorder.begin_segment(
            name, traceid=parent.root, parent_id=parent.parent, sampling=parent.sampled
        )
        try:
            with self._recording(segment, ids):
                yield
        finally:
            self.recorder.end_segment()

    def annotate(self, ids: Mapping[str, str]) -> None:
        entity = self._current()
        if entity is not None:
            for key, value in ids.items():
                entity.put_annotation(key, value)

    def count(self, counts: Mapping[str, int]) -> None:
        entity = self._current()
        if entity is not None:
            for key, value in counts.items():
                entity.put_metadata(key, value, COUNTS)

    def header(self) -> str | None:
        from aws_xray_sdk.ext.util import inject_trace_header

        headers: dict[str, str] = {}
        inject_trace_header(headers, self.recorder.get_trace_entity())
        return headers.get(HEADER)

    def carried(self, work: Callable[P, T]) -> Callable[P, T]:
        entity = self.recorder.get_trace_entity()

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            self.recorder.set_trace_entity(entity)
            try:
                return work(*args, **kwargs)
            finally:
                self.recorder.clear_trace_entities()

        return run if entity is not None else work


class _OTel:
    """The OpenTelemetry API; the ADOT layer's SDK records and exports (a no-op without one)."""

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.propagators.aws import AwsXRayPropagator

        self.trace = trace
        self.tracer = trace.get_tracer("burgernet")
        self.propagator = AwsXRayPropagator()

    @contextmanager
    def _span(self, name: str, ids: Mapping[str, str], **options: Any) -> Iterator[None]:
        from opentelemetry.trace import Status, StatusCode

        with self.tracer.start_as_current_span(
            name,
            record_exception=False,  # an exception's message may quote personal data
            set_status_on_exception=False,
            **options,
        ) as span:
            self._annotate(span, ids)
            try:
                yield
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR))
                self._annotate(span, {"error": type(exc).__name__})
                raise

    @staticmethod
    def _annotate(span: Any, ids: Mapping[str, str]) -> None:
        # X-Ray indexes only the attributes this list names (the rest become metadata): ids are
        # searched as the X-Ray SDK's annotations are, counts are not indexed.
        recorded = getattr(span, "attributes", None) or {}  # the SDK's spans show theirs
        keys = dict.fromkeys([*recorded.get(XRAY_ANNOTATIONS, ()), *ids])
        span.set_attributes({**ids, XRAY_ANNOTATIONS: list(keys)})

    def span(self, name: str, ids: Mapping[str, str]) -> AbstractContextManager[None]:
        return self._span(name, ids)

    def continued(
        self, name: str, header: str | None, ids: Mapping[str, str]
    ) -> AbstractContextManager[None]:
        from opentelemetry.trace import Link, SpanKind

        invocation = self.trace.get_current_span().get_span_context()
        message = self.propagator.extract({HEADER: header}) if header else None
        if message is None or not self.trace.get_current_span(message).get_span_context().is_valid:
            return self._span(name, ids, kind=SpanKind.CONSUMER)
        # The message's trace is the action's: continue it, and link the Lambda invocation's
        # span (ADOT makes one per invocation) so its own trace leads here too.
        links = [Link(invocation)] if invocation.is_valid else []
        return self._span(name, ids, kind=SpanKind.CONSUMER, context=message, links=links)

    def annotate(self, ids: Mapping[str, str]) -> None:
        self._annotate(self.trace.get_current_span(), ids)

    def count(self, counts: Mapping[str, int]) -> None:
        self.trace.get_current_span().set_attributes(dict(counts))

    def header(self) -> str | None:
        carrier: dict[str, str] = {}
        self.propagator.inject(carrier)
        return carrier.get(HEADER)

    def carried(self, work: Callable[P, T]) -> Callable[P, T]:
        from opentelemetry import context

        current = context.get_current()

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            token = context.attach(current)
            try:
                return work(*args, **kwargs)
            finally:
                context.detach(token)

        return run
