"""The app-device and municipality routes keep to the layers: handlers call logic only, logic
never touches boto3 or pynamodb itself (the dal and the adapters do)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports(relative: str) -> set[str]:
    """Every module a source file imports."""
    tree = ast.parse((ROOT / relative).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize(
    "handler", ["chalicelib/handlers/devices.py", "chalicelib/handlers/municipalities.py"]
)
def test_a_handler_calls_logic_never_the_dal_or_an_adapter(handler: str) -> None:
    below = sorted(
        m for m in imports(handler) if m.startswith(("chalicelib.dal", "chalicelib.adapters"))
    )
    assert below == [], f"{handler} reaches past logic: {below}"


@pytest.mark.parametrize(
    "module",
    [
        "chalicelib/logic/devices.py",
        "chalicelib/logic/municipalities.py",
        "chalicelib/domain/devices.py",
    ],
)
def test_logic_and_domain_know_no_aws_library(module: str) -> None:
    aws = sorted(m for m in imports(module) if m.split(".")[0] in ("boto3", "botocore", "pynamodb"))
    assert aws == [], f"{module} imports {aws}"
