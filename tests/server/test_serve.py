"""`sat serve` as users run it: a real uvicorn process on the embedded SQLite database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, operation

SAT = shutil.which("sat", path=str(Path(sys.executable).parent)) or "sat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """Run `sat serve` in ``tmp_path``; yield its base URL and its output file."""
    port = free_port()
    output = tmp_path / f"serve-{port}.log"
    with output.open("w") as log:
        process = subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
            [SAT, "serve", "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "SAT_LOG_LEVEL": "INFO", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sat serve did not start:\n{output.read_text()}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", output
        finally:
            process.terminate()
            process.wait(timeout=15)


def create_admin(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [SAT, "admin", "create", "alice", "--password-stdin"],
        cwd=tmp_path,
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env={**os.environ, "SAT_DATABASE_URL": ""},
    )


def login_ip(base: str, *, forwarded_for: str) -> str:
    """Log in with a forged X-Forwarded-For and return the address the audit trail recorded."""
    graphql = f"{base}/graphql"
    session = httpx.post(
        graphql,
        json={
            "query": operation("Login"),
            "variables": {"username": "alice", "password": ADMIN_PASSWORD},
        },
        headers={"X-Forwarded-For": forwarded_for},
    ).json()["data"]["login"]["token"]
    events = httpx.post(
        graphql,
        json={"query": operation("AuditEvents"), "variables": {"first": 1}},
        headers={"Authorization": f"Bearer {session}"},
    ).json()["data"]["auditEvents"]["nodes"]
    assert events[0]["action"] == "ADMIN_LOGIN"
    return str(events[0]["ip"])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory for the default database (./sat.sqlite3), whatever the suite uses."""
    monkeypatch.delenv("SAT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SAT_TRUSTED_PROXIES", raising=False)
    return tmp_path


def test_serve_on_a_fresh_database_says_how_to_create_an_admin(workdir: Path) -> None:
    with serving(workdir) as (_, output):
        assert (workdir / "sat.sqlite3").exists()
    assert "sat admin create" in output.read_text()


def test_uvicorn_does_not_take_the_client_address_from_x_forwarded_for(workdir: Path) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; `sat serve` must not."""
    create_admin(workdir)
    with serving(workdir) as (base, _):
        assert login_ip(base, forwarded_for="203.0.113.77") == "127.0.0.1"


def test_x_forwarded_for_counts_when_the_peer_is_a_trusted_proxy(workdir: Path) -> None:
    create_admin(workdir)
    with serving(workdir, SAT_TRUSTED_PROXIES="127.0.0.1") as (base, _):
        assert login_ip(base, forwarded_for="198.51.100.1, 203.0.113.77") == "203.0.113.77"
