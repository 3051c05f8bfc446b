"""SAT benchmarks: every figure of the performance targets, side by side in one run.

    .venv/bin/python -m bench            # the full run (about 20 minutes)
    .venv/bin/python -m bench --quick    # smaller sizes and shorter loads (about 5 minutes)
    .venv/bin/python -m bench --only inprocess,http   # cases: see bench/cases/

Run from the repository root (``python -m bench.run`` works too). Needs wrk
(`apt-get install wrk`) and, for the PostgreSQL figures, a server at
BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); databases it
creates are named sat_bench_* and dropped afterwards. Figures are ratios to a
baseline measured in the same run wherever one exists: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.cases import CASES
from bench.harness import Row, print_table, run_case


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        with tempfile.TemporaryDirectory(prefix="sat-bench-") as tmp:
            asyncio.run(CASES[args.case](Path(tmp), quick=args.quick))
        return
    unknown = [name for name in args.only.split(",") if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; the cases: {', '.join(CASES)}")
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    print(
        f"SAT benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick)' if args.quick else ''}",
        flush=True,
    )
    rows: list[Row] = []
    for name in args.only.split(","):
        rows += run_case(name, quick=args.quick)
    print_table(rows)


if __name__ == "__main__":
    main()
