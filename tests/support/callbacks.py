"""The callback number as a caller reaches it: Connect's event, and an alert to call about."""

from __future__ import annotations

from typing import Any

from tests.support.builders import UTRECHT
from tests.support.system import System


def inbound_call(caller: str | None) -> dict[str, Any]:
    """What Amazon Connect passes to a Lambda invoked from a contact flow."""
    endpoint = {"Address": caller, "Type": "TELEPHONE_NUMBER"} if caller else None
    return {
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "Channel": "VOICE",
                "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
                "CustomerEndpoint": endpoint,
                "InitiationMethod": "INBOUND",
            },
            "Parameters": {},
        },
    }


def route(system: System, caller: str | None) -> dict[str, str]:
    return dict(system.client.lambda_.invoke("callback_router", inbound_call(caller)).payload)


def alert(system: System, description: str = "man in rode jas") -> dict[str, Any]:
    response = system.post(
        "/actions",
        {
            "incident": "robbery",
            "description": description,
            "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500},
        },
    )
    assert response.status_code == 202
    system.run_queues()
    return dict(response.json_body)
