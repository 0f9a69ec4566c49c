"""The one seam to AWS X-Ray: patching, subsegments and annotations live here and nowhere else.

The X-Ray SDK reaches end of support in February 2027; moving to OpenTelemetry changes this file.
Only ids and counts are ever annotated: never phone numbers, addresses or codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_enabled = False


def init(enabled: bool) -> None:
    """Switch tracing on (deployed stages) or leave it off (tests and local mode)."""
    global _enabled
    if not enabled or _enabled:
        return
    from aws_xray_sdk.core import patch, xray_recorder

    # Outside a traced invocation (e.g. an import script) log instead of raising.
    xray_recorder.configure(context_missing="LOG_ERROR")
    # botocore's X-Ray metadata keeps only whitelisted parameters (no PhoneNumber, no items).
    patch(("boto3", "botocore", "pynamodb"))
    _enabled = True


def annotate(**annotations: str | int) -> None:
    """Annotate the current subsegment, e.g. with an id known only part-way through."""
    if not _enabled:
        return
    from aws_xray_sdk.core import xray_recorder

    subsegment = xray_recorder.current_subsegment()
    if subsegment is not None:
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)


@contextmanager
def traced(name: str, **annotations: str | int) -> Iterator[None]:
    """Run a block as an X-Ray subsegment annotated with ids and counts (a no-op when off)."""
    if not _enabled:
        yield
        return
    from aws_xray_sdk.core import xray_recorder

    with xray_recorder.in_subsegment(name):
        annotate(**annotations)
        yield
