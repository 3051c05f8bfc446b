"""Real nginx and Caddy in front of a real ``sat serve``, configured from docs/integrations.md.

Each test writes the documented configuration (its addresses swapped for free
127.0.0.1 ports) into its own temporary directory, runs the proxy there, and
sends requests through it to a small upstream that echoes the headers it got.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ON_POSTGRES,
    _create_postgres_database,
    _drop_postgres_database,
    _server_url,
)
from tests.launcher import SAT, free_port, serving
from tests.support import ADMIN_PASSWORD, operation

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
SAT_ADDRESS = "127.0.0.1:8000"  # where the docs' examples expect SAT
UPSTREAM_ADDRESS = "127.0.0.1:8080"  # and the protected API
OUTSIDE = "192.0.2.66"
INSIDE = "198.51.100.9"
PAYSLIPS = "/api/v2/payroll/payslips/2026"


def documented(name: str) -> str:
    """The fenced block that follows ``<!-- tested: NAME -->`` in docs/integrations.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- tested: {name} -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    assert match, f"docs/integrations.md has no tested example {name!r}"
    return match[1] + "\n"


# --- the upstream -----------------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    """Answers any method with the request's headers as JSON."""

    def _echo(self) -> None:
        body = json.dumps({"method": self.command, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _echo  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- the proxies ------------------------------------------------------------------------------


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"proxy did not start:\n{log.read_text()}")
        time.sleep(0.05)


@contextmanager
def _running(command: list[str], port: int, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    log = workdir / "proxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603  (a fixed command line of our own)
            command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_port(port, process, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=15)


def _addresses(config: str, *, sat: str, upstream: int) -> str:
    assert SAT_ADDRESS in config
    assert UPSTREAM_ADDRESS in config
    return config.replace(SAT_ADDRESS, sat).replace(UPSTREAM_ADDRESS, f"127.0.0.1:{upstream}")


@contextmanager
def nginx(workdir: Path, *, sat: str, upstream: int) -> Iterator[str]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    server = _addresses(documented("nginx"), sat=sat, upstream=upstream)
    assert "listen 80;" in server
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port};")
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = workdir / "nginx.conf"
    conf.write_text(
        "worker_processes 1;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log off;\n{temp}\n{server}}}\n"
    )
    command = [
        binary,
        "-p",
        str(workdir),
        "-c",
        str(conf),
        "-g",
        f"daemon off; pid {workdir / 'nginx.pid'}; error_log stderr;",
    ]
    with _running(command, port, workdir, dict(os.environ)) as base:
        yield base


@contextmanager
def caddy(workdir: Path, *, sat: str, upstream: int) -> Iterator[str]:
    binary = shutil.which("caddy") or "/usr/bin/caddy"
    port = free_port()
    site = _addresses(documented("caddy"), sat=sat, upstream=upstream)
    assert site.startswith(":80 {")
    site = site.replace(":80 {", f"http://127.0.0.1:{port} {{\n\tbind 127.0.0.1", 1)
    conf = workdir / "Caddyfile"
    conf.write_text("{\n\tadmin off\n\tauto_https off\n}\n" + site)
    env = {
        **os.environ,
        "HOME": str(workdir),
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }
    command = [binary, "run", "--config", str(conf), "--adapter", "caddyfile"]
    with _running(command, port, workdir, env) as base:
        yield base


PROXIES = {"nginx": nginx, "caddy": caddy}


# --- SAT --------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A proxy in front of the upstream, asking a real SAT; and an admin session on SAT."""

    kind: str
    proxy: str
    sat: str
    session: str

    def graphql(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = httpx.post(
            f"{self.sat}/graphql",
            json={"query": operation(name), "variables": variables},
            headers={"Authorization": f"Bearer {self.session}"},
        ).json()
        assert "errors" not in body, body
        return body["data"]

    def token(self, **fields: Any) -> tuple[str, str]:
        """A new token's id and access token."""
        data = self.graphql(
            "CreateSharedAccessToken",
            {"input": {"name": f"proxied {time.monotonic_ns()}", **fields}},
        )["createSharedAccessToken"]
        return data["sharedAccessToken"]["id"], data["accessToken"]

    def revoke(self, token_id: str) -> None:
        self.graphql("RevokeSharedAccessToken", {"id": token_id})

    def send(self, method: str, path: str, token: str | None, **headers: str) -> httpx.Response:
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.proxy}{path}", headers=sent)


PAYROLL_READ = {"grants": [{"area": "payroll", "read": True, "write": False, "delete": False}]}


@dataclass(frozen=True)
class Sat:
    base: str
    session: str


@pytest.fixture(scope="module")
def sat_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for the module's SAT: starting SAT is the slow part of these tests."""
    if not ON_POSTGRES:
        yield f"sqlite://{tmp_path_factory.mktemp('sat') / 'sat.sqlite3'}"
        return
    name = f"sat_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_postgres_database(name))
    try:
        yield f"{_server_url()}/{name}"
    finally:
        asyncio.run(_drop_postgres_database(name))


@pytest.fixture(scope="module")
def sat(tmp_path_factory: pytest.TempPathFactory, sat_database: str) -> Iterator[Sat]:
    """A real ``sat serve`` with the documented route map, trusting proxies on 127.0.0.1."""
    workdir = tmp_path_factory.mktemp("serve")
    routes = workdir / "routes.toml"
    routes.write_text(documented("routes"))
    env = {
        "SAT_DATABASE_URL": sat_database,
        "SAT_ROUTES_FILE": str(routes),
        "SAT_TRUSTED_PROXIES": "127.0.0.1",
    }
    subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [SAT, "admin", "create", "alice", "--password-stdin"],
        cwd=workdir,
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    with serving(workdir, **env) as (base, _):
        session = httpx.post(
            f"{base}/graphql",
            json={
                "query": operation("Login"),
                "variables": {"username": "alice", "password": ADMIN_PASSWORD},
            },
        ).json()["data"]["login"]["token"]
        yield Sat(base=base, session=session)


@pytest.fixture(scope="module")
def echo() -> Iterator[int]:
    with upstream() as port:
        yield port


@pytest.fixture(params=sorted(PROXIES))
def stack(request: pytest.FixtureRequest, tmp_path: Path, sat: Sat, echo: int) -> Iterator[Stack]:
    """This test's own proxy, its configuration written into the test's temporary directory."""
    name: str = request.param
    if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists():
        pytest.skip(f"{name} is not installed (apt-get install {name}; .ci/run installs it)")
    sat_address = sat.base.removeprefix("http://")
    with PROXIES[name](tmp_path, sat=sat_address, upstream=echo) as proxy:
        yield Stack(kind=name, proxy=proxy, sat=sat.base, session=sat.session)


# --- what a proxy in front of SAT does ----------------------------------------------------------


def test_valid_token_passes_and_the_upstream_learns_the_token(stack: Stack) -> None:
    token_id, token = stack.token(**PAYROLL_READ)

    response = stack.send("GET", PAYSLIPS, token, X_SAT_Token_Id="999")

    assert response.status_code == 200, response.text
    seen = {name.lower(): value for name, value in response.json()["headers"].items()}
    assert seen["x-sat-token-id"] == token_id
    assert seen["x-sat-token-name"].startswith("proxied%20")


def test_missing_bad_and_revoked_tokens_are_401(stack: Stack) -> None:
    token_id, token = stack.token(**PAYROLL_READ)
    stack.revoke(token_id)

    missing = stack.send("GET", PAYSLIPS, None)
    bad = stack.send("GET", PAYSLIPS, "sat_not-a-token")
    revoked = stack.send("GET", PAYSLIPS, token)

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["x-sat-reason"] == "NO_TOKEN"
    assert (bad.status_code, bad.headers["x-sat-reason"]) == (401, "MALFORMED")
    assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert (revoked.status_code, revoked.headers["x-sat-reason"]) == (401, "REVOKED")
    for response in (missing, bad, revoked):
        assert "headers" not in response.text  # the upstream was never asked


def test_wrong_address_folder_or_method_is_403(stack: Stack) -> None:
    _, token = stack.token(
        **PAYROLL_READ,
        ipRanges=[{"from": "127.0.0.0/8"}, {"from": "198.51.100.0/24"}],
    )
    _, far_away = stack.token(**PAYROLL_READ, ipRanges=[{"from": "198.51.100.0/24"}])

    wrong_folder = stack.send("GET", "/api/v2/employees/contracts", token)
    wrong_method = stack.send("DELETE", PAYSLIPS, token)
    wrong_address = stack.send("GET", PAYSLIPS, far_away)  # the client is at 127.0.0.1

    assert (wrong_folder.status_code, wrong_folder.headers["x-sat-reason"]) == (
        403,
        "NOT_PERMITTED",
    )
    assert (wrong_method.status_code, wrong_method.headers["x-sat-reason"]) == (
        403,
        "NOT_PERMITTED",
    )
    assert (wrong_address.status_code, wrong_address.headers["x-sat-reason"]) == (
        403,
        "IP_NOT_ALLOWED",
    )
    assert stack.send("GET", PAYSLIPS, token).status_code == 200


# Caddy, as documented, sets X-Forwarded-For from its peer alone: nothing to forward.
@pytest.mark.parametrize("stack", ["nginx"], indirect=True)
def test_forwarded_address_behind_a_trusted_hop_is_checked(stack: Stack) -> None:
    """The test client at 127.0.0.1 plays a trusted load balancer before nginx."""
    _, token = stack.token(**PAYROLL_READ, ipRanges=[{"from": "198.51.100.0/24"}])

    inside = stack.send("GET", PAYSLIPS, token, X_Forwarded_For=INSIDE)
    outside = stack.send("GET", PAYSLIPS, token, X_Forwarded_For=OUTSIDE)

    assert inside.status_code == 200
    assert (outside.status_code, outside.headers["x-sat-reason"]) == (403, "IP_NOT_ALLOWED")


def test_revocation_bites_at_once(stack: Stack) -> None:
    token_id, token = stack.token(**PAYROLL_READ)
    assert stack.send("GET", PAYSLIPS, token).status_code == 200

    stack.revoke(token_id)

    assert stack.send("GET", PAYSLIPS, token).status_code == 401
