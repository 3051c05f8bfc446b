"""Each case of an earlier commit and of this checkout, side by side in one run.

    .venv/bin/python -m bench.compare fb0fb2b --only inprocess,http --quick

The earlier commit's tree is taken with ``git archive`` into a temporary
directory and run with this virtual environment: ``PYTHONPATH`` points at that
tree, so its own code is imported (this checkout is installed in editable mode,
which yields to ``PYTHONPATH``). Its ``.venv`` is a link to this one, for the
benches that start ``.venv/bin/sat``. The two take turns, case by case, the earlier
first, so that what else the machine does falls on both alike. A case the earlier
commit does not have is run for this checkout alone.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.cases import CASES
from bench.harness import ROOT

# A row of the table that bench prints at the end (bench.harness.print_table).
TABLE_ROW = re.compile(
    r"^\| (?P<case>.+?) \| (?P<figure>.+) \| (?P<target>.+?) \| (?P<met>.+?) \|$"
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("revision", help="the earlier commit (any name git knows)")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sat-bench-before-") as tmp:
        before = Path(tmp)
        archive = subprocess.run(
            ["git", "archive", args.revision], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        (before / ".venv").symlink_to(Path(sys.prefix))
        table = []
        for case in args.only.split(","):
            earlier = rows(before, case, quick=args.quick) if has_case(before, case) else []
            now = rows(ROOT, case, quick=args.quick)
            for index in range(max(len(earlier), len(now))):
                table.append(
                    (
                        case,
                        earlier[index] if index < len(earlier) else "(no such case)",
                        now[index] if index < len(now) else "-",
                    )
                )
    print()
    print(f"| case | {args.revision} | this checkout |")
    print("|---|---|---|")
    for case, earlier_figure, figure in table:
        print(f"| {case} | {earlier_figure} | {figure} |")


def has_case(tree: Path, case: str) -> bool:
    """Whether the tree's bench knows ``case`` (its cases were once all in bench/run.py)."""
    cases = tree / "bench" / "cases" / "__init__.py"
    source = cases.read_text() if cases.exists() else (tree / "bench" / "run.py").read_text()
    return f'"{case}"' in source


def rows(tree: Path, case: str, *, quick: bool) -> list[str]:
    """Run one case of the tree's bench; each row of its table as ``figure (met)``."""
    entry = ["-m", "bench"] if (tree / "bench" / "__main__.py").exists() else ["bench/run.py"]
    command = [sys.executable, *entry, "--only", case, *(["--quick"] if quick else [])]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    print(f"== {case} in {tree}", flush=True)
    finished = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    print(finished.stdout[-2000:], finished.stderr[-2000:], sep="\n", flush=True)
    found = []
    for line in finished.stdout.splitlines():
        match = TABLE_ROW.match(line)
        if match and match["case"] not in ("case", "---"):
            found.append(f"{match['figure']} (met: {match['met']})")
    return found or [f"the case failed (exit {finished.returncode}); see above"]


if __name__ == "__main__":
    main()
