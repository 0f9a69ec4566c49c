"""A delivery's partition key is the same wherever and whenever it is computed.

The targeting worker claims a person under one key; a sender, the sweep or a contact event, in
other processes and possibly a later release, must compute the same key to find it again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chalicelib.dal.deliveries import ledger_key, shard_of

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = [f"p-{n}" for n in range(32)]


def test_a_person_has_the_same_shard_in_every_process() -> None:
    # Python salts str hashes per process (PYTHONHASHSEED): hash() would pass in one process
    # and strand deliveries between the targeting worker and the senders.
    code = (
        f"from chalicelib.dal.deliveries import shard_of\nprint([shard_of(p) for p in {PEOPLE!r}])"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {str([shard_of(p) for p in PEOPLE])}


def test_a_stored_delivery_keeps_its_key_across_releases() -> None:
    # Deliveries live 90 days: a new hash or shard count would leave them under keys no reader
    # asks for. These are keys stored today.
    assert [
        ledger_key("a-1", p) for p in ("p-1", "device:d-1", "00000000-0000-4000-8000-000000000001")
    ] == ["a-1#07", "a-1#03", "a-1#01"]
