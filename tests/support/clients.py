"""Counting the AWS clients a process makes (each costs a cold start CPU time)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.session import Session


def clients_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the service name of every botocore client made, in order."""
    made: list[str] = []
    create_client = Session.create_client

    def counted(self: Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(Session, "create_client", counted)
    return made
