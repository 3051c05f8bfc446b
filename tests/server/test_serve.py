"""`sat serve` as users run it: a real uvicorn process on the embedded SQLite database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests import launcher
from tests.launcher import free_port, serving
from tests.support import ADMIN_PASSWORD, operation

# Other tests import the launcher's helpers from here; their home is tests/launcher.py.
__all__ = ["create_admin", "free_port", "serving"]


def create_admin(tmp_path: Path) -> None:
    """``sat admin create alice`` with ``ADMIN_PASSWORD`` on ./sat.sqlite3 of ``tmp_path``."""
    launcher.create_admin(tmp_path, password=ADMIN_PASSWORD)


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
