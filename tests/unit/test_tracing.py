"""The X-Ray seam: annotations with ids, never personal data; off unless switched on.

Tracing patches botocore process-wide, so each case runs in its own interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tools.emulator import ROOT

PHONE = "+31612345678"


def run_traced(body: str, enabled: bool = True) -> dict[str, object]:
    """Run `body` inside an X-Ray segment in a fresh interpreter; return the segment as JSON."""
    script = textwrap.dedent(
        """
        import json, os
        os.environ.update(
            AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="eu-west-1"
        )
        from aws_xray_sdk.core import xray_recorder
        from chalicelib import tracing
        tracing.init(ENABLED)
        xray_recorder.configure(sampling=False)
        segment = xray_recorder.begin_segment("test")
        BODY
        print(segment.serialize())
        """
    ).replace("BODY", textwrap.indent(textwrap.dedent(body), "").strip())
    result = subprocess.run(
        [sys.executable, "-c", script.replace("ENABLED", str(enabled))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_work_is_annotated_with_the_action_id() -> None:
    segment = run_traced(
        """
        with tracing.traced("send", action_id="a-1", kind="alert"):
            tracing.annotate(size=25)
        """
    )
    [sub] = segment["subsegments"]
    assert sub["name"] == "send"
    assert sub["annotations"] == {"action_id": "a-1", "kind": "alert", "size": 25}


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


def test_switched_off_nothing_is_recorded() -> None:
    segment = run_traced(
        """
        with tracing.traced("send", action_id="a-1"):
            tracing.annotate(size=1)
        """,
        enabled=False,
    )
    assert "subsegments" not in segment
