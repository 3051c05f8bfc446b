"""What every case shares: its report, a process of its own, wrk and its scripts, memory.

A case reports each figure with ``report``; the driver (bench/run.py) runs each
case with ``run_case`` in a process of its own, collects the rows its reports
print and shows them side by side with ``print_table``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"

# The prefix of the lines that carry a row from a case's process to the driver.
ROW_PREFIX = "row:"
# The prefix of the line that the scripts' done() writes (bench/lua/common.lua).
SCRIPT_PREFIX = "bench:"


@dataclass
class Row:
    case: str
    figure: str
    target: str
    met: bool | None


def report(case: str, figure: str, target: str, met: bool | None) -> None:
    """Show a figure as it comes, and hand it to the driver for the table."""
    mark = {True: "met", False: "NOT MET", None: "-"}[met]
    print(f"  -> {case}: {figure}  (target {target}: {mark})", flush=True)
    print(ROW_PREFIX + json.dumps([case, figure, target, met]), flush=True)


def run_case(name: str, *, quick: bool) -> list[Row]:
    """Run one case in a process of its own: Tortoise keeps per-dialect state in a process.

    The case's output passes through as it comes; its rows are returned. A case
    that fails gives a row that says so.
    """
    command = [sys.executable, "-m", "bench", "--case", name, *(["--quick"] if quick else [])]
    rows = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(ROW_PREFIX):
                rows.append(Row(*json.loads(line.removeprefix(ROW_PREFIX))))
            else:
                print(line, end="", flush=True)
    if child.returncode != 0:
        rows.append(Row(name, f"the case failed (exit {child.returncode}); see above", "-", False))
    return rows


def print_table(rows: list[Row]) -> None:
    print()
    print(f"| case | figure | target | met |  ({os.cpu_count()} cores)")
    print("|---|---|---|---|")
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        print(f"| {row.case} | {row.figure} | {row.target} | {met} |")


# --- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """A wrk script of bench/lua/ and its parameters, which it reads from the environment."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)

    def command(self, url: str, *, seconds: int, connections: int, latency: bool) -> list[str]:
        return [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *(["--latency"] if latency else []),
            "-s", str(self.path), url,
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def post_script(
    directory: Path, name: str, bodies: list[str], secret: str, *, rate: float | None = None
) -> Script:
    """bench/lua/post.lua posting ``bodies`` round-robin as the client with ``secret``.

    With ``rate``, requests follow a fixed schedule of ``rate`` per second in all.
    """
    bodies_file = directory / f"{name}-bodies.txt"
    bodies_file.write_text("".join(body + "\n" for body in bodies))
    env = {"BENCH_SECRET": secret, "BENCH_BODIES": str(bodies_file)}
    if rate:
        env["BENCH_RATE"] = str(rate)
    return Script(LUA / "post.lua", env)


def wrk(url: str, script: Script, *, seconds: int, connections: int = 16) -> dict[str, Any]:
    """Run wrk with ``script``; its rate, latency percentiles in ms and the script's counts."""
    finished = subprocess.run(
        script.command(url, seconds=seconds, connections=connections, latency=True),
        capture_output=True,
        text=True,
        env=script.environment(),
    )
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{finished.stdout}\n{finished.stderr}")
    return parse_wrk(finished.stdout)


def parse_wrk(out: str) -> dict[str, Any]:
    """wrk's report: ``rps``, ``50%``..``99%`` and ``max`` (ms), errors, the script's counts."""
    result: dict[str, Any] = {"raw": out}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("    Latency"):
            result["max"] = _ms(parts[3])
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif line.strip().startswith(("50%", "75%", "90%", "99%")):
            result[parts[0]] = _ms(parts[1])
        elif line.startswith("  Non-2xx"):
            result["non2xx"] = int(parts[-1])
        elif line.startswith("  Socket errors"):
            result["socket_errors"] = line.strip()
        elif line.startswith(SCRIPT_PREFIX):
            result.update(script_counts(line))
    return result


def script_counts(line: str) -> dict[str, int]:
    """The counts that a script's done() writes: ``bad`` answers, ``requests``, its own."""
    counts: dict[str, int] = json.loads(line.removeprefix(SCRIPT_PREFIX))
    return counts


def _ms(text: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- processes ---------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
