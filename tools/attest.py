"""Print a stand-in attestation token for POST /devices (local runs with ATTESTATION=standin).

    ATTESTATION_STANDIN_KEY=<key from the banner> python -m tools.attest fcm <push_token>

The token is bound to the platform and push token, and is accepted for 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from chalicelib.adapters.attestation import StandInAttestation
from chalicelib.domain.devices import PLATFORMS


def main(argv: list[str] | None = None) -> int:
    """Issue one token with the key in ATTESTATION_STANDIN_KEY."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("push_token")
    args = parser.parse_args(argv)
    key = os.environ.get("ATTESTATION_STANDIN_KEY", "")
    if not key:
        print("ATTESTATION_STANDIN_KEY is not set (make run prints it)", file=sys.stderr)
        return 2
    standin = StandInAttestation(key.encode())
    print(standin.issue(args.platform, args.push_token.strip(), datetime.now(UTC)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
