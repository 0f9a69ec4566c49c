"""moto's DynamoDB expression parsing, done once per expression string: for the fan-out bench only.

Why: moto parses every UpdateExpression twice per UpdateItem (once in its response handler to
validate, once in its backend) and lexes every ConditionExpression character by character with
six regular expressions, on every request. The ledger's code sends the same few expressions
thousands of times with different values; a profile of conditional updates put a quarter of
moto's UpdateItem time in that parsing.

What `install()` changes, keeping moto's answers:
- `UpdateExpressionParser.make(expression)` returns the tree it built for the same string before.
  moto never changes that tree: its validator works on its own deep copy (`Validator.__init__`)
  and the handler only reads it (`find_clauses`).
- `ConditionExpressionParser._lex_condition_expression` returns the tokens it lexed for the same
  string before, as fresh nodes (new `children` lists) in a new deque, since the parser consumes
  the deque. Resolving names and values, and everything after, is moto's code on every request.
An expression moto refuses raises on every request, as before (only successes are kept).
tests/unit/test_dynamo_direct.py runs the same updates and failed conditions through moto with
and without it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from tools.patches import scoped

_saved: dict[str, Any] = {}
_trees: dict[str, Any] = {}
_tokens: dict[str, tuple[Any, ...]] = {}
_lock = threading.Lock()


def install() -> None:
    """Patch moto's two parsers (idempotent)."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]
        UpdateExpressionParser,
    )

    with _lock:
        if _saved:
            return
        _saved["make"] = UpdateExpressionParser.__dict__["make"]
        _saved["lex"] = ConditionExpressionParser._lex_condition_expression
        setattr(UpdateExpressionParser, "make", classmethod(_make))  # noqa: B010
        setattr(ConditionExpressionParser, "_lex_condition_expression", _lex)  # noqa: B010


def uninstall() -> None:
    """Put back moto's own parsers."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]
        UpdateExpressionParser,
    )

    with _lock:
        if not _saved:
            return
        setattr(UpdateExpressionParser, "make", _saved.pop("make"))  # noqa: B010
        setattr(ConditionExpressionParser, "_lex_condition_expression", _saved.pop("lex"))  # noqa: B010
        _trees.clear()
        _tokens.clear()


def cached() -> AbstractContextManager[None]:
    """The cached parsers for the duration of a block."""
    return scoped(lambda: bool(_saved), install, uninstall)


def _make(cls: Any, expression_str: str) -> Any:
    tree = _trees.get(expression_str)
    if tree is None:
        make: Callable[[str], Any] = _saved["make"].__get__(None, cls)
        tree = _trees[expression_str] = make(expression_str)
    return tree


def _lex(self: Any) -> deque[Any]:
    expression = self.condition_expression
    tokens = _tokens.get(expression)
    if tokens is None:
        tokens = _tokens[expression] = tuple(_saved["lex"](self))
    return deque(node._replace(children=[]) for node in tokens)
