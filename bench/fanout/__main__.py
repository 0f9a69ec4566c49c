"""Fan-out bench: one action reaching 20,000 people, at the providers' real limits, simulated.

    python -m bench.fanout [--rates 10 100] [--people 20000 100000] [--seed 7] [--jobs N]
                           [--close-at S] [--exact-polls] [--quick] [--no-faults]

One run per size per rate, each in its own process (one per core by default). The largest size
also carries the fairness row: a 300-person action started 60 s into the large one. `--quick`
runs a small size at one rate (for CI and tests).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from bench.fanout.faults import NO_FAULTS, FaultRates
from bench.fanout.simulation import run, sizes
from bench.fanout.world import Params

QUICK_PEOPLE, QUICK_RATES, QUICK_SMALL = [1_000], [100.0], 30
SMALL_ACTION = 300  # the fairness row's second action


def plan(argv: list[str] | None = None) -> tuple[list[Params], int | None]:
    """The runs the command line asks for (longest first), and how many to run at once."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rates", type=float, nargs="+", default=None)
    parser.add_argument("--people", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help="one small run, for CI")
    parser.add_argument("--no-faults", action="store_true", help="inject no faults")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--close-at", type=float, default=None, help="close after S seconds")
    parser.add_argument("--exact-polls", action="store_true", help="run every line poll")
    parser.add_argument(
        "--jobs", type=int, default=None, help="rates run at once (default: one per core)"
    )
    args = parser.parse_args(argv)
    people = args.people or (QUICK_PEOPLE if args.quick else [20_000, 100_000])
    rates = args.rates or (QUICK_RATES if args.quick else [10.0, 100.0])
    small = QUICK_SMALL if args.quick else SMALL_ACTION
    faults: FaultRates = NO_FAULTS if args.no_faults else FaultRates()
    runs = [
        sizes(
            size,
            sms_rate=rate,
            seed=args.seed,
            close_at_s=args.close_at,
            exact_polls=args.exact_polls,
            faults=faults,
            small_action=small if size == max(people) else 0,
        )
        for size in people
        for rate in rates
    ]
    # The longest first, so parallel runs end together.
    runs.sort(key=lambda p: -p.people / p.sms_rate)
    return runs, args.jobs


def main(argv: list[str] | None = None) -> None:
    """Run the bench for each size and SMS rate (in parallel processes); print its JSON lines."""
    runs, asked = plan(argv)
    jobs = asked or min(len(runs), os.cpu_count() or 1)
    started = time.perf_counter()
    if jobs > 1:
        # Each run is one process's work (the simulation takes turns on one thread at a time).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(run, runs))
    else:
        results = [run(params) for params in runs]
    for lines in results:
        for line in lines:
            print(json.dumps(line), flush=True)
    print(f"wall time {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
