"""The dispatch client signs what it sends to a deployed stage, and nothing sent locally."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tools import dispatch

STAGE = "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class Sent:
    """What the client handed to the network, answered with a fixed JSON body."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        self.calls.append({"method": method, "url": url, **kwargs})
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"ok": true}'
        return response


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    fake = Sent()
    monkeypatch.setattr(dispatch.requests, "request", fake)
    return fake


def _expected_signature(call: dict[str, Any], secret: str) -> str:
    """SigV4 recomputed by botocore from what was sent, at the request's own X-Amz-Date."""
    headers = {k: v for k, v in call["headers"].items() if k.lower() != "authorization"}
    request = AWSRequest(call["method"], call["url"], data=call["data"] or b"", headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials(KEY, secret), "execute-api", "eu-west-1")
    return str(
        auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    )


def test_a_stage_request_carries_a_valid_sigv4_signature_for_execute_api(sent: Sent) -> None:
    client = dispatch.DispatchClient(STAGE)
    client.close("a1", "arrested", "Dank voor het uitkijken.")

    call = sent.calls[0]
    authorization = call["headers"]["Authorization"]
    scope = (
        f"Credential={KEY}/{call['headers']['X-Amz-Date'][:8]}/eu-west-1/execute-api/aws4_request"
    )
    assert authorization.startswith(f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=")
    assert "content-type;host;x-amz-date" in authorization
    signature = authorization.rsplit("Signature=", 1)[1]
    assert signature == _expected_signature(call, SECRET)
    assert signature != _expected_signature(call, SECRET + "x")  # the check can tell


def test_query_parameters_are_signed_too(sent: Sent) -> None:
    dispatch.DispatchClient(STAGE).sightings("a1", limit=5, page="tok en")
    call = sent.calls[0]
    assert call["url"].endswith("/api/actions/a1/sightings?limit=5&next=tok+en")
    assert call["headers"]["Authorization"].rsplit("Signature=", 1)[1] == _expected_signature(
        call, SECRET
    )


def test_the_local_runner_gets_plain_requests_with_an_idempotency_key(sent: Sent) -> None:
    client = dispatch.DispatchClient("http://127.0.0.1:8000")
    client.start({"incident": "other"})
    client.start({"incident": "other"}, idempotency_key="retry-1")

    first, second = sent.calls
    assert "Authorization" not in first["headers"]
    assert len(first["headers"]["Idempotency-Key"]) >= 16  # generated
    assert second["headers"]["Idempotency-Key"] == "retry-1"


def test_make_ops_calls_the_api_on_the_port_make_run_serves(
    sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BURGERNET_API_URL", raising=False)
    monkeypatch.setenv("BURGERNET_API_PORT", "8123")

    assert dispatch.main(["timeline", "a1", "--json"]) == 0

    assert sent.calls[0]["url"] == "http://127.0.0.1:8123/actions/a1/timeline"
    assert "Authorization" not in sent.calls[0]["headers"]


def test_an_api_url_still_aims_the_client_at_a_stage(
    sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BURGERNET_API_URL", STAGE)
    monkeypatch.setenv("BURGERNET_API_PORT", "8123")

    assert dispatch.main(["status", "a1"]) == 0

    assert sent.calls[0]["url"] == f"{STAGE}/actions/a1"
    assert sent.calls[0]["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_reach_and_start_send_the_duration_and_if_incomplete_given(sent: Sent) -> None:
    where = ["--lat", "52.09", "--lon", "5.12", "--radius", "1500"]
    url = ["--url", "http://127.0.0.1:8000"]

    dispatch.main([*url, "reach", *where, "--duration", "30"])
    start = ["start", "--incident", "other", "--description", "rode jas", "--if-incomplete"]
    dispatch.main([*url, *start, "reject", *where])

    reach, started = (json.loads(call["data"]) for call in sent.calls)
    assert reach == {"area": {"lat": 52.09, "lon": 5.12, "radius_m": 1500}, "duration_minutes": 30}
    assert started["if_incomplete"] == "reject"
