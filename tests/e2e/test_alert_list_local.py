"""Burgernet's alert list as `make run` serves it, read over HTTP by a consumer written from the
published behaviour (tests/support/burgernet.py): start, update, close and an exercise."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from chalicelib.domain.public import ROUNDING_MARGIN_M
from tests.support.burgernet import decode, shown
from tests.support.geometry import destination
from tests.support.local import LocalSystem

pytestmark = pytest.mark.e2e

DOM = (52.0907, 5.1214)


def call(system: LocalSystem, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = requests.post(f"{system.api}{path}", json=body, timeout=10)
    assert response.status_code == status, response.text
    return dict(response.json())


def read(system: LocalSystem) -> bytes:
    response = requests.get(f"{system.api}/public/alerts", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.content


def item_of(system: LocalSystem, ref: str) -> dict[str, Any]:
    [item] = [i for i in decode(read(system)) if i["Message"]["Readmore_URL"].endswith(f"/a/{ref}")]
    return item


def test_a_reader_sees_an_alert_then_an_update_then_a_cancel_and_never_a_drill(
    local_system: LocalSystem,
) -> None:
    body = {
        "incident": "burglary",
        "description": 'Man <b>&"ë, rode jas',
        "area": {"lat": DOM[0], "lon": DOM[1], "radius_m": 1200},
        "place": "Utrecht, Binnenstad",
    }
    action = call(local_system, "/actions", body, 202)
    drill = call(local_system, "/actions", {**body, "exercise": True}, 202)
    ref = action["ref"]

    alert_id = item_of(local_system, ref)["AlertId"]
    [alert] = [a for a in shown(read(local_system)) if a.alert_id == alert_id]
    assert alert.kind == "Alert"
    assert alert.covers(*destination(*DOM, 45, 1199)) and not alert.covers(
        *destination(*DOM, 45, 1201 + 2 * ROUNDING_MARGIN_M)  # the centre is rounded to ~100 m
    )
    assert "Man &lt;b&gt;&amp;&quot;&#235;, rode jas" in str(alert.description)

    call(local_system, f"/actions/{action['action_id']}/updates", {"message": "Te voet."}, 202)
    assert item_of(local_system, ref)["Type"] == "Update"

    call(local_system, f"/actions/{action['action_id']}/close", {"outcome": "arrested"}, 200)
    item = item_of(local_system, ref)
    assert (item["State"], item["Type"]) == ("Actual", "Cancel")
    assert item["Message"]["Description"].startswith("De actie is be&#235;indigd.")
    assert item_of(local_system, drill["ref"])["State"] == "Exercise"
    shown_ids = {a.alert_id for a in shown(read(local_system))}
    assert item["AlertId"] not in shown_ids
    assert item_of(local_system, drill["ref"])["AlertId"] not in shown_ids
