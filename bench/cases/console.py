"""8. The console: with 100,000 tokens, navigation to the overview's first rows; its bytes.

Seeds an SQLite database (bench/seed.py), starts `sat serve` on it, logs in once in
headless Chromium (Debian's, at /usr/bin/chromium), then loads `/` cold (a fresh
browser context holding only the session cookie) several times. For each load it
records, in the page, the time from the start of navigation (``performance.timeOrigin``)
to the moment the first row of the overview is in the document, and it adds up the
bytes of every console asset the load fetched (everything but ``/graphql``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
from pathlib import Path
from typing import Any

from bench.fixtures import fresh_database
from bench.harness import report
from bench.seed import seed
from tests.launcher import Launcher, create_admin

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


def _measure(base: str, loads: int) -> list[tuple[float, int]]:
    from playwright.sync_api import sync_playwright

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
        measured = [one_load(browser, base, storage) for _ in range(loads)]
        browser.close()
    return measured


async def run(directory: Path, *, quick: bool) -> None:
    print("8. console: navigation to the overview's first rows over 100,000 tokens", flush=True)
    if shutil.which(CHROMIUM) is None:
        report("8 console", "skipped: no /usr/bin/chromium (apt-get install chromium)", "-", None)
        return
    count, loads = (20_000, 5) if quick else (100_000, 10)
    url = await fresh_database("sqlite", directory, "console")
    await seed(url, count, sample_size=10, used=True)
    create_admin(directory, password=PASSWORD, username="bench", database_url=url)
    with Launcher(directory) as launcher:
        server = launcher.start("console", url, {"SAT_LOG_LEVEL": "WARNING"})
        measured = await asyncio.to_thread(_measure, server.url, loads)
    times = sorted(t for t, _ in measured)
    asset_bytes = max(b for _, b in measured)
    median = statistics.median(times)
    report(
        "8 console first rows",
        f"median {median:.0f} ms over {loads} cold loads with {count:,} tokens "
        f"(min {times[0]:.0f}, max {times[-1]:.0f})",
        f"< {FIRST_ROWS_TARGET_MS} ms",
        median < FIRST_ROWS_TARGET_MS,
    )
    report(
        "8 console bytes",
        f"{asset_bytes:,} bytes of assets ({asset_bytes / 1024:.1f} KB, uncompressed)",
        f"< {ASSET_TARGET_BYTES // 1024} KB",
        asset_bytes < ASSET_TARGET_BYTES,
    )
