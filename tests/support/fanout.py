"""The fan-out as tests drive it: a neighbourhood round the Dom, SNS faults, queues run by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.messages import render_alert
from chalicelib.domain.model import Channel, Incident, Language
from chalicelib.domain.pacing import RateLimiter
from chalicelib.handlers import workers
from chalicelib.queues import SMS_QUEUE, TARGETING_QUEUE
from chalicelib.runtime import runtime
from tests.support.builders import UTRECHT
from tests.support.system import System
from tools.emulator import stage_environment

CALLBACK_NUMBER = stage_environment("test")["CALLBACK_NUMBER"]  # "0800-0011"
METRES_PER_DEGREE_LAT = 111_195
RADIUS_M = 1500
DESCRIPTION = "Man, ongeveer 30 jaar, donkere jas met capuchon, witte sneakers"

# The neighbourhood most tests use: five people inside a 1500 m circle, nearest first, and two
# outside it (one just outside the edge).
INSIDE = [
    ("+31610000001", 100, "nl"),
    ("+31610000002", -400, "en"),
    ("+31610000003", 700, "nl"),
    ("+31610000004", -1000, "nl"),
    ("+31610000005", 1400, "en"),
]
INSIDE_PHONES = [phone for phone, _, _ in INSIDE]
JUST_OUTSIDE = "+31610000091"  # 1550 m
FAR_OUTSIDE = "+31610000092"  # 4 km


def north(metres: float) -> tuple[float, float]:
    """A point the given distance due north (negative: south) of UTRECHT."""
    return UTRECHT[0] + metres / METRES_PER_DEGREE_LAT, UTRECHT[1]


class PublishFaults:
    """Stands in for the SNS client's Publish: fails scripted calls, passes the rest to moto."""

    def __init__(self, publish: Callable[..., Any]) -> None:
        self._publish = publish
        self.calls = 0
        self.at_call: dict[int, BaseException] = {}  # the n-th call (from 1) raises this, once
        self.for_phone: dict[str, Exception] = {}  # every call to this phone raises this

    def __call__(self, **params: Any) -> Any:
        self.calls += 1
        fault = self.at_call.pop(self.calls, None) or self.for_phone.get(params["PhoneNumber"])
        if fault is not None:
            raise fault
        return self._publish(**params)


def paced_at(monkeypatch: pytest.MonkeyPatch, per_second: float) -> list[float]:
    """Paces the SMS sender at `per_second` on a fake clock; the list collects its sleeps."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    rt = runtime()
    pacers = {
        **rt.sender.pacers,
        Channel.SMS: RateLimiter(per_second, clock=lambda: now[0], sleep=sleep),
    }
    wired = dataclasses.replace(rt, sender=dataclasses.replace(rt.sender, pacers=pacers))
    monkeypatch.setattr(workers, "runtime", lambda: wired)
    return sleeps


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Publish")


def start(system: System, radius_m: float = RADIUS_M, **changes: Any) -> dict[str, Any]:
    """POST /actions around the Dom; the action's view."""
    body = {
        "incident": "burglary",
        "description": DESCRIPTION,
        "area": {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": radius_m},
        **changes,
    }
    response = system.post("/actions", body)
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def close(system: System, action_id: str, outcome: str = "arrested", **extra: str) -> None:
    response = system.post(f"/actions/{action_id}/close", {"outcome": outcome, **extra})
    assert response.status_code == 200, response.body


def view(system: System, action_id: str) -> dict[str, Any]:
    response = system.get(f"/actions/{action_id}")
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def counts(system: System, action_id: str) -> dict[str, int]:
    return dict(view(system, action_id)["counts"])


def run(system: System, handler: str, queue: str) -> list[tuple[dict[str, Any], Any]]:
    """Drain one queue into its handler once: (message, handler payload) per message."""
    return [(m, system.invoke(handler, queue, [m])) for m in system.emulator.drain(queue)]


def deliver(system: System, max_receives: int = 5) -> list[dict[str, Any]]:
    """Run both queues as SQS would: a message handed back is redelivered, at most
    `max_receives` times (the queues' redrive policy); return what would be dead-lettered."""
    handed_back: dict[str, list[dict[str, Any]]] = {TARGETING_QUEUE: [], SMS_QUEUE: []}
    receives: dict[str, int] = {}
    dead: list[dict[str, Any]] = []
    for _ in range(50):
        busy = False
        for queue, handler in ((TARGETING_QUEUE, "targeting_worker"), (SMS_QUEUE, "sms_sender")):
            system.emulator.time_passes(queue)  # work put back comes round after its delay
            messages, handed_back[queue] = handed_back[queue] + system.emulator.drain(queue), []
            for message in messages:
                busy = True
                receives[message["MessageId"]] = receives.get(message["MessageId"], 0) + 1
                if not failed_ids(system.invoke(handler, queue, [message])):
                    continue
                if receives[message["MessageId"]] < max_receives:
                    handed_back[queue].append(message)
                else:
                    dead.append(message)
        if not busy:
            return dead
    raise AssertionError("queues did not drain")


def failed_ids(payload: Any) -> list[str]:
    return [f["itemIdentifier"] for f in payload["batchItemFailures"]]


def texts_per_phone(system: System) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for phone, text in system.emulator.sms():
        out.setdefault(phone, []).append(text)
    return out


def alert_text(ref: str, language: str) -> str:
    return render_alert(Incident.BURGLARY, DESCRIPTION, ref, Language(language), CALLBACK_NUMBER)


def assert_each_got_exactly(system: System, expected: dict[str, list[str]]) -> None:
    """Exactly these phones received exactly these texts, in this order; nobody else got any."""
    assert texts_per_phone(system) == expected


def language_of(phone: str) -> str:
    return next(language for p, _, language in INSIDE if p == phone)


def alerts_for(phones: list[str], ref: str) -> dict[str, list[str]]:
    return {p: [alert_text(ref, language_of(p))] for p in phones}


class LambdaTimeout(BaseException):
    """What a Lambda cut off by its timeout looks like from inside: nothing gets to clean up."""
