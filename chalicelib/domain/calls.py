"""How a call went, read from Amazon Connect's contact events (EventBridge)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONTACT_EVENTS = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"]}

ANSWERED, NO_ANSWER, BUSY, FAILED = "answered", "no_answer", "busy", "failed"
UNREACHABLE = ("TELECOM_NUMBER_INVALID", "TELECOM_PROBLEM", "TELECOM_POTENTIAL_BLOCKING")


def call_outcome(detail: Mapping[str, Any]) -> str:
    """The outcome of a disconnected call: answered, no_answer, busy or failed.

    A call that reached media (CONNECTED_TO_SYSTEM: a person or a voicemail) was answered;
    otherwise the disconnect reason tells busy or a number that cannot be called apart from
    simply not answered.
    """
    if detail.get("connectedToSystemTimestamp"):
        return ANSWERED
    reason = str(detail.get("disconnectReason") or "").upper()
    if "BUSY" in reason:
        return BUSY
    if reason in UNREACHABLE:
        return FAILED
    return NO_ANSWER
