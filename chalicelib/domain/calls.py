"""How a call went, read from Amazon Connect's contact events (EventBridge)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

CONTACT_EVENTS = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"]}


class CallOutcome(StrEnum):
    """How a call went, as the ledger keeps it (a delivery's alert_outcome)."""

    ANSWERED = "answered"  # a person or a voicemail took it
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the number cannot be called


UNREACHABLE = ("TELECOM_NUMBER_INVALID", "TELECOM_PROBLEM", "TELECOM_POTENTIAL_BLOCKING")


def call_outcome(detail: Mapping[str, Any]) -> CallOutcome:
    """The outcome of a disconnected call: answered, no_answer, busy or failed.

    A call that reached media (CONNECTED_TO_SYSTEM: a person or a voicemail) was answered;
    otherwise the disconnect reason tells busy or a number that cannot be called apart from
    simply not answered.
    """
    if detail.get("connectedToSystemTimestamp"):
        return CallOutcome.ANSWERED
    reason = str(detail.get("disconnectReason") or "").upper()
    if "BUSY" in reason:
        return CallOutcome.BUSY
    if reason in UNREACHABLE:
        return CallOutcome.FAILED
    return CallOutcome.NO_ANSWER
