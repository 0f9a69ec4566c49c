"""How a call went: the outcomes the ledger records (adapters/connect.py reads them)."""

from __future__ import annotations

ANSWERED, NO_ANSWER, BUSY, FAILED = "answered", "no_answer", "busy", "failed"
