"""Console load with 100,000 tokens: navigation to the overview's first rows, and asset bytes.

Run from the repository root (needs Debian's chromium at /usr/bin/chromium):

    .venv/bin/python -m bench.console_load [--tokens N] [--loads N]

Seeds an SQLite database with N tokens (bench/seed.py), starts `sat serve` on it,
logs in once in headless Chromium, then loads `/` cold (a fresh browser profile
holding only the session cookie) several times. For each load it records, in the
page, the time from the start of navigation (``performance.timeOrigin``) to the
moment the first row of the overview is in the document, and it adds up the
bytes of every console asset the load fetched (everything but ``/graphql``).
Targets: under 500 ms to the first rows, under 150 KB of assets (uncompressed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from bench.seed import seed
from server.database import prepare

ROOT = Path(__file__).resolve().parent.parent
SAT = ROOT / ".venv" / "bin" / "sat"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench password, not a secret"
FIRST_ROWS_TARGET_MS = 500
ASSET_TARGET_BYTES = 150 * 1024

# Runs before the page's own scripts (Playwright's init scripts are outside the CSP).
FIRST_ROW_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector("table.tokens tbody tr")) {
    window.__firstRowsAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"sat serve stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit(f"sat serve did not start:\n{log.read_text()}")


def one_load(browser: Any, base: str, storage: Any) -> tuple[float, int]:
    context = browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 900}, storage_state=storage
    )
    context.add_init_script(FIRST_ROW_PROBE)
    sizes: list[int] = []

    def counted(response: Any) -> None:
        if not response.url.endswith("/graphql") and response.status == 200:
            sizes.append(len(response.body()))

    page = context.new_page()
    page.on("response", counted)
    page.goto("/")
    page.wait_for_selector("table.tokens tbody tr")
    page.wait_for_load_state("networkidle")
    first_rows_ms = float(page.evaluate("window.__firstRowsAt"))
    if os.environ.get("BENCH_WATERFALL"):
        for name, start, end in page.evaluate(
            "performance.getEntriesByType('resource')"
            ".map(e => [e.name.replace(location.origin, ''), e.startTime, e.responseEnd])"
        ):
            print(f"  {start:7.1f} {end:7.1f} ms  {name}")
        print(f"  first rows at {first_rows_ms:.1f} ms")
    context.close()
    return first_rows_ms, sum(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sat-console-bench-") as directory:
        work = Path(directory)
        url = f"sqlite://{work / 'sat.sqlite3'}"
        started = time.perf_counter()
        asyncio.run(prepare(url))
        asyncio.run(seed(url, args.tokens, sample_size=10, used=True))
        print(f"seeded {args.tokens} tokens in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "SAT_DATABASE_URL": url, "SAT_LOG_LEVEL": "WARNING"}
        subprocess.run(
            [str(SAT), "admin", "create", "bench", "--password-stdin"],
            input=PASSWORD + "\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "serve.log"
        with log.open("w") as output:
            server = subprocess.Popen(
                [str(SAT), "serve", "--port", str(port)], env=env, stdout=output, stderr=output
            )
        try:
            wait_until_healthy(base, server, log)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = browser.new_context(base_url=base)
                page = context.new_page()
                page.goto("/")
                page.get_by_label("Username").fill("bench")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_selector("table.tokens tbody tr")
                storage = context.storage_state()
                context.close()
                one_load(browser, base, storage)  # warm the server's caches once
                loads = [one_load(browser, base, storage) for _ in range(args.loads)]
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)

    times = sorted(t for t, _ in loads)
    asset_bytes = max(b for _, b in loads)
    median = statistics.median(times)
    met = "met" if median < FIRST_ROWS_TARGET_MS else "MISSED"
    print(
        f"navigation to first rows, {args.loads} cold loads over {args.tokens} tokens:"
        f" median {median:.0f} ms, min {times[0]:.0f} ms, max {times[-1]:.0f} ms"
        f" (target < {FIRST_ROWS_TARGET_MS} ms: {met})"
    )
    print(
        f"console assets: {asset_bytes} bytes ({asset_bytes / 1024:.1f} KB, uncompressed)"
        f" (target < {ASSET_TARGET_BYTES // 1024} KB:"
        f" {'met' if asset_bytes < ASSET_TARGET_BYTES else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
