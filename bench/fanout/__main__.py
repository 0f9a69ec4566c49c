"""Fan-out bench: one action reaching 20,000 people, at the providers' real limits, simulated.

    python -m bench.fanout [--rates 10 100] [--people 20000] [--seed 7] [--jobs N]
                           [--close-at S] [--exact-polls]

Each rate runs in its own process (one per core by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from bench.fanout.simulation import run
from bench.fanout.world import Params


def main(argv: list[str] | None = None) -> None:
    """Run the bench for each SMS rate (in parallel processes) and print its JSON lines."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[10.0, 100.0])
    parser.add_argument("--people", type=int, default=Params.people)
    parser.add_argument("--seed", type=int, default=Params.seed)
    parser.add_argument("--close-at", type=float, default=None, help="close after S seconds")
    parser.add_argument("--exact-polls", action="store_true", help="run every line poll")
    parser.add_argument(
        "--jobs", type=int, default=None, help="rates run at once (default: one per core)"
    )
    args = parser.parse_args(argv)
    runs = [
        Params(
            sms_rate=rate,
            people=args.people,
            seed=args.seed,
            close_at_s=args.close_at,
            exact_polls=args.exact_polls,
        )
        for rate in args.rates
    ]
    jobs = args.jobs or min(len(runs), os.cpu_count() or 1)
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
