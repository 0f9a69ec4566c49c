"""`make import CSV=path [STAGE=local]`: bulk-load participants from a municipality's CSV.

Header: phone,lat,lon,label,language,channel. Rows with one phone are one person with several
places. Running it twice changes nothing. Rejected rows are listed with line number and reason.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from chalicelib.dal.participants import (
    NewParticipant,
    NewPlace,
    phone_directory,
    upsert_participants,
)
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.roster import Rejected, parse_roster
from chalicelib.runtime import reset, runtime
from tools.emulator import stage_environment
from tools.local_urls import local_urls

BATCH = 25  # people per round of batched writes


def import_lines(
    lines: Iterable[str], progress: bool = True
) -> tuple[Counter[str], list[Rejected]]:
    """Import CSV lines into the configured tables; return counts by outcome and the rejections."""
    people, rejected = parse_roster(lines)
    runtime()  # bind the models to this stage's tables
    outcomes: Counter[str] = Counter()
    now = datetime.now(UTC)
    directory = phone_directory()
    with tqdm(total=len(people), desc="participants", unit="person", disable=not progress) as bar:
        for start in range(0, len(people), BATCH):
            batch = [
                NewParticipant(
                    p.phone,
                    p.language.value,
                    p.channel.value,
                    [NewPlace(place.label, place.lat, place.lon) for place in p.places],
                )
                for p in people[start : start + BATCH]
            ]
            outcomes.update(result.value for result in upsert_participants(batch, now, directory))
            bar.update(len(batch))
    outcomes["rejected rows"] = len(rejected)
    return outcomes, rejected


def configure(stage: str) -> None:
    """Use a stage's settings; `local` means the emulator that `make run` started."""
    os.environ.update(stage_environment(stage))
    if stage == "local":
        os.environ.setdefault("AWS_ENDPOINT_URL", local_urls().emulator)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "local")
        os.environ.setdefault("AWS_REGION", "eu-west-1")
    reset()


def main(argv: list[str] | None = None) -> int:
    """Run the import; exit status 1 if any row was rejected, 2 if the file is unusable."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", type=Path)
    parser.add_argument("--stage", default="local", help="chalice stage (default: local)")
    args = parser.parse_args(argv)
    configure(args.stage)
    try:
        with args.csv.open(newline="", encoding="utf-8-sig") as handle:
            outcomes, rejected = import_lines(handle)
    except (OSError, InvalidInput) as exc:
        print(f"cannot import {args.csv}: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    for r in rejected:
        print(f"line {r.line}: rejected: {r.reason}", file=sys.stderr)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
    print(f"imported {args.csv}: {summary}")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
