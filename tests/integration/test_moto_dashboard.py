"""The local runner's /moto-api/data.json answers while the system changes under it."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data
from moto.server import ThreadedMotoServer

from tools import moto_dashboard


class Table(BaseModel):
    """A model whose `items` gains an Item between two reads, as a table's first put does while
    the dashboard is being built."""

    def __init__(self) -> None:
        self._reads = 0

    @property
    def items(self) -> list[Any]:
        self._reads += 1
        return [] if self._reads == 1 else [object()]


@pytest.fixture
def dashboard() -> Iterator[str]:
    """data.json of a moto server started now, tracking one Table in flux."""
    service = Table.__module__.split(".")[1]  # how moto files a model, "integration" here
    model_data[service]["Table"] = Table
    Table.instances_tracked = []  # type: ignore[attr-defined]
    Table()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}/moto-api/data.json"
    finally:
        server.stop()
        model_data.pop(service)


def read(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None


def test_moto_alone_fails_the_whole_page_when_a_value_changes_while_it_is_read(
    dashboard: str,
) -> None:
    assert not moto_dashboard.installed()
    assert read(dashboard)[0] == 500


def test_the_snapshot_answers_with_each_value_as_it_was_read(dashboard: str) -> None:
    moto_dashboard.install()
    try:
        status, data = read(dashboard)
    finally:
        moto_dashboard.uninstall()
    assert status == 200
    assert data["integration"]["Table"] == [{"items": []}]
    assert "sns" in data and "SMS" in data["sns"]  # moto's own models, as before
