"""schemathesis fuzzes the running local API from its own OpenAPI document, as a newcomer would:
`schemathesis run <api>/openapi.json`, with its default phases (examples, coverage, fuzzing,
stateful) at the locked version. No answer may be a 5xx, and every answer must match what the
document promises (status code, content type, headers, body schema).

What the command adds to the defaults, and why:

- `--max-examples 25` (default 100) and `--generation-deterministic`: the same requests every
  run, so a failure reproduces, in about a minute on two cores. The coverage phase (every field
  at its limits, just past them, of wrong types, missing, and every unexpected method such as
  TRACE) and the stateful phase (6 steps a scenario) are not bounded by it.
- `--exclude-checks` of five checks that test what the local runner does not do by design:
  `ignored_auth` and `missing_required_header` (locally there is no IAM; deployed, API Gateway
  checks SigV4: tests/integration/test_iam.py), `unsupported_method` (it wants 405; we answer as
  API Gateway does, 403 "Missing Authentication Token", see test_methods_no_route_defines),
  `positive_data_acceptance` and `negative_data_rejection` (some rules are more than JSON Schema
  can say: a phone number that exists, a page token from an earlier page).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.local import LocalSystem

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25
EXCLUDED_CHECKS = (
    "ignored_auth",
    "missing_required_header",
    "unsupported_method",
    "positive_data_acceptance",
    "negative_data_rejection",
)
PHASES = ("examples", "coverage", "fuzzing", "stateful")


def test_schemathesis_with_its_default_phases_finds_nothing(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{local_system.api}/openapi.json",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-deterministic",
            "--exclude-checks",
            ",".join(EXCLUDED_CHECKS),
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        cwd=tmp_path,  # no project config of ours: what a newcomer's run reads
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    result = json.loads(report.read_text())
    assert result["complete"] and result["failures"] == [] and result["errors"] == [], result
    assert {phase: result["phases"][phase]["status"] for phase in PHASES} == dict.fromkeys(
        PHASES, "success"
    ), result["phases"]
    operations = result["operations"]
    assert operations["tested"] == operations["total"] > 30, operations


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("TRACE", "/actions"),  # http.server had no do_TRACE: 501
        ("QUERY", "/public/alerts"),
        ("TRACE", "/a/ABC123"),
        ("DELETE", "/public/alerts"),  # chalice itself answered 405
        ("PUT", "/actions/some-id/close"),
        ("OPTIONS", "/actions"),  # no route has CORS: chalice deploys no OPTIONS
    ],
)
def test_methods_no_route_defines_get_api_gateways_403(
    local_system: LocalSystem, method: str, path: str
) -> None:
    response = requests.request(method, f"{local_system.api}{path}", data=b"{}", timeout=10)

    assert response.status_code == 403, response.text
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_head_answer_has_no_body_and_the_connection_carries_on(
    local_system: LocalSystem,
) -> None:
    with requests.Session() as session:
        head = session.head(f"{local_system.api}/public/alerts", timeout=10)
        after = session.get(f"{local_system.api}/openapi.json", timeout=10)

    assert head.status_code == 403 and head.content == b""
    assert after.status_code == 200 and after.json()["openapi"].startswith("3.1")


def test_defined_methods_still_reach_the_app(local_system: LocalSystem) -> None:
    response = requests.get(f"{local_system.api}/public/alerts", timeout=10)

    assert response.status_code == 200, response.text
