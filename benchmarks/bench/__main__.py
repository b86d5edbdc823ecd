"""The command line of `make bench` (see benchmarks/bench/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from benchmarks.bench import machine
from benchmarks.bench.figures import table, write_json
from benchmarks.bench.load import LoadPool
from benchmarks.bench.run import Run
from benchmarks.bench.scenarios import SCENARIOS


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test's)")
    parser.add_argument("--only", type=lambda text: text.split(","), default=list(SCENARIOS),
                        help=f"comma-separated scenarios among {', '.join(SCENARIOS)}")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=None, help="each load phase (default 5; 0.5 with --quick)")
    parser.add_argument("--out", type=Path, default=Path("var/bench/results.json"))
    options = parser.parse_args(argv)
    unknown = set(options.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if options.seconds is None:
        options.seconds = 0.5 if options.quick else 5.0
    return options


async def main(options: argparse.Namespace) -> int:
    described = machine.describe()
    described["load_average_start"] = machine.load_average()
    described["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"{described['cores']} cores ({described['cpu']}), Python {described['python']}, grpcio {described['grpcio']}; "
          f"load average {described['load_average_start']}", flush=True)
    load = LoadPool()
    await load.start()
    run = Run(options, load)
    run.details["message sizes"] = run.sizes
    began = time.perf_counter()
    try:
        for name in SCENARIOS:
            if name in options.only:
                print(f"-- {name}", flush=True)
                started = time.perf_counter()
                await SCENARIOS[name](run)
                run.details.setdefault("scenario seconds", {})[name] = round(time.perf_counter() - started, 1)
    finally:
        await run.stack.aclose()
        load.close()
    described["load_average_end"] = machine.load_average()
    described["seconds"] = round(time.perf_counter() - began, 1)
    described["options"] = {key: str(value) for key, value in vars(options).items()}
    print(table(run.figures))
    print(f"load average at start {described['load_average_start']}, at end {described['load_average_end']}; "
          f"{described['seconds']} s; JSON: {options.out}")
    write_json(options.out, run.figures, described, run.details)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
