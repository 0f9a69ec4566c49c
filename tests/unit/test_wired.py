"""@wired builds the process's runtime before a handler that only needs it bound runs."""

from __future__ import annotations

import pytest

from chalicelib.handlers import http


def test_a_wired_handler_runs_after_the_runtime_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(http, "runtime", lambda: calls.append("runtime"))

    @http.wired
    def get_thing(thing_id: str) -> str:
        """Docstring chalice shows."""
        calls.append(f"handler {thing_id}")
        return thing_id

    assert get_thing("t-1") == "t-1"
    assert calls == ["runtime", "handler t-1"]
    # Chalice names functions and routes after the handler: the wrapper must keep its name.
    assert (get_thing.__name__, get_thing.__doc__) == ("get_thing", "Docstring chalice shows.")
