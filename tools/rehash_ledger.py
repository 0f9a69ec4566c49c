"""`python -m tools.rehash_ledger [--stage prod]`: the ledger's caller hashes under the current key.

Run it once after creating or replacing the hash key (HASH_KEY_PARAMETER). Deliveries keep the
phone number for their 90-day TTL, so each caller hash is recomputed from it; a hash whose phone
was erased is removed. Running it twice changes nothing the second time. Rate-limit counters need
no migration: they expire within two windows (at most two days).
"""

from __future__ import annotations

import argparse

from chalicelib.dal.deliveries import rehash_callers
from chalicelib.runtime import runtime
from tools.import_participants import configure


def main(argv: list[str] | None = None) -> int:
    """Recompute the hashes; print how many changed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="local", help="chalice stage (default: local)")
    args = parser.parse_args(argv)
    configure(args.stage)
    runtime()  # binds the tables and reads the key, as a cold start does
    print(f"caller hashes rewritten: {rehash_callers()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
