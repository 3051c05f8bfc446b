"""Instructions per request of the validation transports, counted by callgrind, in process.

    .venv/bin/python -m bench.instructions                 # 2,000 requests per transport
    .venv/bin/python -m bench.instructions --requests 500  # quicker, a little less exact
    .venv/bin/python -m bench.instructions --access-log off

Wall-clock figures move with whatever else the machine runs; an instruction count does
not. Each transport of bench cases 2 and 9 (``validateToken`` on ``/graphql``'s compiled
path, ``POST /oauth/introspect``, ``/auth`` in nginx's dialect) and its bare endpoint
(``bench/bare_app.py``, ``bench/bare_integrations.py``) is driven through its ASGI app
with the requests wrk sends, the token's state cached, after a warm-up. Only the measured
batch is counted: it runs inside the comparison function of a two-element ``qsort``
called through ctypes, and callgrind collects inside ``qsort`` alone
(``--collect-atstart=no --toggle-collect=qsort_r``, where glibc's ``qsort`` goes) and
writes one profile per batch (``--dump-after=qsort_r``). uvicorn's own work (HTTP
parsing, a task per request) is the same for SAT and the bare apps and is not counted.
``PYTHONHASHSEED`` is fixed, so two runs of one commit agree to a fraction of a percent.

Needs valgrind. The profiles stay in the directory printed, for ``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import ctypes.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.harness import ROOT

DOCS = ROOT / "docs" / "integrations.md"
PEER = ("127.0.0.1", 51234)  # wrk's address: a trusted proxy for /auth (SAT_TRUSTED_PROXIES)
WARM_UP = 300
PROFILE = False  # --profile: cProfile each batch instead of counting under callgrind
PAIRS = (("graphql", "bare graphql"), ("introspect", "bare introspect"), ("auth", "bare auth"))


# --- the child: runs under callgrind ----------------------------------------------------------


class Exchange:
    """One request's ASGI conversation: the scope, the body handed out, the answer kept."""

    def __init__(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.status = 0
        self.answer = b""

    def scope(self) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": PEER,
            "scheme": "http",
            "method": self.method,
            "root_path": "",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "headers": list(self.headers),
        }

    async def run(self, app: Callable[..., Awaitable[None]]) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                self.answer += message.get("body", b"")

        self.answer = b""
        await app(self.scope(), receive, send)


def _headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"127.0.0.1:8000"), *((k.encode(), v.encode()) for k, v in pairs)]


async def _seed(directory: Path) -> dict[str, str]:
    """The token and service client of bench case 9, and what the bare apps read."""
    from bench.cases.integrations import seed

    url = f"sqlite://{directory / 'instructions.sqlite3'}"
    token, basic, answer = await seed(url)
    secret = base64.b64decode(basic).decode().partition(":")[2]
    routes = re.search(
        r"<!-- tested: routes -->\n```toml\n(.*?)\n```", DOCS.read_text("utf-8"), re.DOTALL
    )
    assert routes is not None
    (directory / "routes.toml").write_text(routes[1])
    facts = {"id": answer["sub"], "name": "bench"}
    (directory / "tokens.json").write_text(
        json.dumps([{"token": token, "answer": answer, "facts": facts}])
    )
    return {"url": url, "token": token, "basic": basic, "secret": secret}


def _exchanges(seeded: dict[str, str]) -> dict[str, Exchange]:
    from bench.fixtures import validate_body

    graphql = Exchange(
        "POST",
        "/graphql",
        _headers(
            ("content-type", "application/json"), ("authorization", f"Bearer {seeded['secret']}")
        ),
        validate_body(seeded["token"], "10.1.2.3", "payroll", None, "READ").encode(),
    )
    introspect = Exchange(
        "POST",
        "/oauth/introspect",
        _headers(
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", f"Basic {seeded['basic']}"),
        ),
        f"token={seeded['token']}&ip=10.1.2.3&area=payroll&folder=payslips&access=read".encode(),
    )
    auth = Exchange(
        "GET",
        "/auth",
        _headers(
            ("authorization", f"Bearer {seeded['token']}"),
            ("x-forwarded-for", "10.1.2.3"),
            ("x-original-method", "GET"),
            ("x-original-uri", "/api/v2/payroll/payslips/2026"),
        ),
        b"",
    )
    return {"graphql": graphql, "introspect": introspect, "auth": auth}


def _expect(name: str, exchange: Exchange) -> None:
    grants = {
        "graphql": b'"valid":true',
        "introspect": b'"active":true',
        "auth": b"",
    }[name.removeprefix("bare ")]
    if exchange.status != 200 or grants not in exchange.answer.replace(b" ", b""):
        raise RuntimeError(f"{name}: {exchange.status} {exchange.answer[:300]!r}")


def _measure(batch: Callable[[], None]) -> None:
    """Run ``batch`` as the comparison of a two-element ``qsort``: callgrind counts it alone.

    With ``--profile`` (no valgrind), ``batch`` runs under cProfile instead, for the
    Python functions behind a figure.
    """
    if PROFILE:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(batch)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    compare_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    done = False

    def compare(a: int | None, b: int | None) -> int:
        nonlocal done
        if not done:
            done = True
            batch()
        return 0

    callback = compare_type(compare)
    pair = (ctypes.c_int * 2)(1, 2)
    libc.qsort(pair, 2, ctypes.sizeof(ctypes.c_int), callback)


def child(requests: int, directory: Path, names_file: Path) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    seeded = loop.run_until_complete(_seed(directory))
    os.environ.update(
        {
            "SAT_DATABASE_URL": seeded["url"],
            "SAT_ROUTES_FILE": str(directory / "routes.toml"),
            "SAT_TRUSTED_PROXIES": "127.0.0.1",
            "BENCH_TOKENS": str(directory / "tokens.json"),
            "BENCH_BASIC": seeded["basic"],
            # No last-use write falls inside a batch (it would wait for storage).
            "SAT_LAST_USED_INTERVAL_SECONDS": "3600",
        }
    )
    import logging

    from bench import bare_app, bare_integrations
    from server.app import create_app
    from tokens import validation
    from tokens.caches import CACHES
    from tokens.grants import Access

    read = Access.READ

    app = create_app()
    # The access log (SAT_ACCESS_LOG) is written, as sat serve writes it, but not shown.
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    for handler in logging.root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)

    def _still(still: bool) -> None:
        clock = itertools.repeat(time.monotonic()).__next__ if still else time.monotonic
        for cache in CACHES._every():
            cache._clock = clock

    exchanges = _exchanges(seeded)
    apps: dict[str, tuple[Callable[..., Awaitable[None]], Exchange]] = {}
    for name, exchange in exchanges.items():
        apps[name] = (app, exchange)
    apps["bare graphql"] = (bare_app.app, exchanges["graphql"])
    apps["bare introspect"] = (bare_integrations.app, exchanges["introspect"])
    apps["bare auth"] = (bare_integrations.app, exchanges["auth"])

    async def batch(target: Callable[..., Awaitable[None]], exchange: Exchange, n: int) -> None:
        for _ in range(n):
            await exchange.run(target)

    async def validations(n: int) -> None:  # bench case 1: the domain call alone
        for _ in range(n):
            await validation.validate(
                token=seeded["token"], ip="10.1.2.3", area="payroll", folder=None, access=read
            )

    # The lifespan stays open across the batches: run each batch on the loop, from qsort.
    names: list[str] = []

    async def lifespan_and_batches() -> None:
        async with app.router.lifespan_context(app):
            await validations(WARM_UP)
            _still(True)
            _measure(lambda: _drive(validations(requests)))
            _still(False)
            names.append("validation")
            for name, (target, exchange) in apps.items():
                await exchange.run(target)
                _expect(name, exchange)
                await batch(target, exchange, WARM_UP)
                _expect(name, exchange)
                names.append(name)
                # No entry expires or is renewed while a batch runs, however slowly
                # callgrind runs it: the caches' clock stands still.
                _still(True)
                # The loop is running here: the batch is driven by hand, each request a
                # coroutine that completes without waiting (every state is cached).
                _measure(lambda t=target, e=exchange: _drive(batch(t, e, requests)))
                _expect(name, exchange)
                _still(False)

    loop.run_until_complete(lifespan_and_batches())
    names_file.write_text(json.dumps(names))


def _drive(coroutine: Any) -> None:
    """Run ``coroutine`` to its end without the loop; it must never wait."""
    try:
        waited = coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError(f"a measured request waited ({waited!r}): a state was not cached")


# --- the parent: starts the child under callgrind, reads the profiles -------------------------


def _totals(profile: Path) -> int:
    for line in profile.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"{profile}: no totals")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="measured per transport")
    parser.add_argument("--access-log", choices=("on", "off"), default="on")
    parser.add_argument("--profile", action="store_true", help="cProfile, no valgrind")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        global PROFILE
        PROFILE = True
        directory = Path(tempfile.mkdtemp(prefix="sat-profile-"))
        os.environ["SAT_ACCESS_LOG"] = "true" if args.access_log == "on" else "false"
        os.environ["PYTHONHASHSEED"] = "0"
        child(args.requests, directory, directory / "names.json")
        return 0
    if args.child is not None:
        child(args.requests, args.child, args.child / "names.json")
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="sat-instructions-"))
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "SAT_ACCESS_LOG": "true" if args.access_log == "on" else "false",
        "SAT_LOG_LEVEL": "INFO",
    }
    command = [
        "valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=qsort_r",
        "--dump-after=qsort_r", f"--callgrind-out-file={directory / 'callgrind.out'}",
        sys.executable, "-m", "bench.instructions", "--requests", str(args.requests),
        "--child", str(directory),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout, done.stderr[-4000:], sep="\n", file=sys.stderr)
        return 1
    names = json.loads((directory / "names.json").read_text())
    parts = sorted(directory.glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    # Start-up calls qsort too (the dynamic loader): a batch's profile holds our callback.
    counts = [_totals(p) for p in parts if "_CallPythonObject" in p.read_text()]
    if len(counts) != len(names):
        print(f"{len(names)} batches, {len(counts)} profiles in {directory}", file=sys.stderr)
        return 1
    per_request = {name: count / args.requests for name, count in zip(names, counts, strict=True)}
    print(f"instructions per request (access log {args.access_log}, {args.requests} requests)")
    print(f"  validation  {per_request['validation'] / 1000:7.1f}k   (case 1: the domain call)")
    for name, bare in PAIRS:
        ours, base = per_request[name], per_request[bare]
        share = f"{base / ours:.0%} of bare"
        print(f"  {name:<11} {ours / 1e3:7.1f}k   bare {base / 1e3:7.1f}k   {share}")
    print(f"profiles: {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
