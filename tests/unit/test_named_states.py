"""States have names: no string equal to a state's value is written out in logic or the dal.

A status, a message kind, an outcome or a fan-out marker is a member of its enum
(domain/model.py), never a string literal compared or set in place. Docstrings, the members of
an enum being defined, and error codes (the first argument of a DomainError) may use the words.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from chalicelib.domain import errors
from chalicelib.domain.model import (
    ActionStatus,
    DeliveryStatus,
    Fanout,
    Kind,
    Outcome,
    PostState,
    Stage,
)

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("chalicelib/logic", "chalicelib/dal")
STATES = frozenset(
    member.value
    for enum in (ActionStatus, DeliveryStatus, Kind, Outcome, Fanout, Stage, PostState)
    for member in enum
)
ERRORS = frozenset(
    name
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, errors.DomainError)
)


def _allowed(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that may hold a state's word."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                allowed.add(id(first.value))  # a docstring
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id.endswith("Enum") for base in node.bases
        ):
            allowed.update(id(n) for n in ast.walk(node))  # an enum's members being defined
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ERRORS
            and node.args
        ):
            allowed.add(id(node.args[0]))  # an error code
    return allowed


def literal_states(source: str) -> list[tuple[int, str]]:
    """(line, word) of each string literal in `source` equal to a state's value."""
    tree = ast.parse(source)
    allowed = _allowed(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in STATES
        and id(node) not in allowed
    )


def _modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for d in SCANNED for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", _modules())
def test_no_state_is_a_string_literal(path: str) -> None:
    found = literal_states((ROOT / path).read_text())
    assert found == [], "\n".join(f"{path}:{line}: {word!r}" for line, word in found)


def test_the_scan_finds_a_state_written_out_and_leaves_what_may_use_the_word() -> None:
    source = '''
"""A docstring may say "active"."""
from enum import StrEnum


class Step(StrEnum):
    SENT = "sent"


def f(action, delivery):
    """Only while "active"."""
    if action.status == "active":
        raise NotFound("not_found", "No such thing.")
    delivery.update(actions=[Delivery.alert_status.set("queued")])
    return {"sent": 1}
'''
    assert literal_states(source) == [(12, "active"), (14, "queued"), (15, "sent")]
