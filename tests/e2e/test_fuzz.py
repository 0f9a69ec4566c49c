"""schemathesis fuzzes the running local API from its own OpenAPI document.

Every operation gets valid and invalid requests; none may answer 5xx, and every answer must
match what the document promises (status code and body schema).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.handlers.openapi import document
from tests.support.local import LocalSystem

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
OPERATIONS = [
    (path, method) for path, item in sorted(document()["paths"].items()) for method in sorted(item)
]
IDS = [f"{method} {path}" for path, method in OPERATIONS]
# Invalid requests need something to break: a parameter, a body or a credential.
RANDOM = [
    (path, method, mode)
    for path, method in OPERATIONS
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE
    or {"parameters", "requestBody"} & set(document()["paths"][path][method])
    or document()["paths"][path][method]["security"]
]
# On top of the ~1,000 systematic cases, 15 random ones per operation and mode: together
# under a minute on two cores.
EXAMPLES = 15


@pytest.fixture(scope="module")
def served_schema(local_system: LocalSystem) -> schemathesis.BaseSchema:
    """The document as the running API serves it (what an integrator would fuzz)."""
    return schemathesis.openapi.from_url(f"{local_system.api}/openapi.json")


# schemathesis's own pytest plugin does not run under pytest 9 (it sets Node._nodeid), so each
# operation is a plain test that drives schemathesis's generators itself.
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=IDS)
def test_boundaries_and_wrong_types_of_every_field(
    path: str, method: str, served_schema: schemathesis.BaseSchema, local_system: LocalSystem
) -> None:
    """schemathesis's coverage phase: each field at its limits, just past them, of wrong types,
    missing, and unknown fields added; deterministic, so a failure reproduces as it is."""
    operation = served_schema[path][method]
    cases = served_schema.iter_coverage_cases(
        operation,
        generation_modes=list(GenerationMode),
        generation_config=served_schema.config.generation_for(operation=operation),
    )
    for case in cases:
        if case.method.lower() != method:
            # TRACE, QUERY, ...: chalice local's http.server answers 501 before the app runs;
            # API Gateway answers such methods itself in a deployed stage.
            continue
        case.call_and_validate(base_url=local_system.api, checks=CHECKS, timeout=30)


@pytest.mark.parametrize(
    ("path", "method", "mode"), RANDOM, ids=[f"{m} {p} {g.value}" for p, m, g in RANDOM]
)
def test_random_requests(
    path: str,
    method: str,
    mode: GenerationMode,
    served_schema: schemathesis.BaseSchema,
    local_system: LocalSystem,
) -> None:
    """Random requests that fit the document (positive) or break it (negative)."""
    operation = served_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure reproduces
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=local_system.api, checks=CHECKS, timeout=30)

    fuzz()
