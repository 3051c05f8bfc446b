"""Several real ``sat serve`` processes on one PostgreSQL database ("beyond one machine").

Each test starts the installed ``sat`` script as subprocesses on a private
database and talks to them over HTTP with the documents in
``graphql/operations``, as clients do. A server's output goes to a file under
the test's ``tmp_path`` and is printed when the test fails; every process a
test starts is stopped at teardown, whatever happened.

Servers that must show a change made by another instance run with
``SAT_CACHE_SECONDS=30``: a cached answer then stays stale far longer than the
one-second bound asserted here, so only the change notice can explain a change
seen in time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from server import cli
from server.database import MIGRATION_LOCK, driver_dsn
from tests.launcher import (
    REQUEST_TIMEOUT,
    SAT,
    STARTUP_TIMEOUT,
    Launcher,
    Process,
    Server,
    authorization,
    free_ports,
    ready,
)
from tests.support import ADMIN_PASSWORD, error_codes, operation
from tokens import secrets
from tokens.changes import CHANNEL, Change

# Other tests import the launcher's parts from here; their home is tests/launcher.py.
__all__ = ["SAT", "Launcher", "Process", "Server", "free_ports", "ready"]

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO / "models" / "migrations"

VALIDATION_IP = "198.51.100.7"  # the end client's address, as the calling service saw it
RESTRICTED_RANGE = "10.0.0.0/8"  # excludes VALIDATION_IP
INSIDE_RANGE = "10.1.2.3"
READ_EMPLOYEES = {"area": "employees", "read": True, "write": False, "delete": False}
NO_EMPLOYEES = {"area": "employees", "read": False, "write": False, "delete": False}

LONG_CACHE = {"SAT_CACHE_SECONDS": "30"}  # far beyond every bound below
NOTICE_BOUND = 1.0  # seconds for a change on one instance to show on another (stated: ~100 ms)
STALE_BOUND = 3.0  # seconds after a revoke beyond which no instance may still answer valid
POLL_INTERVAL = 0.005

TERMINATE_OTHERS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
REVOKE_BEHIND_ITS_BACK = (
    "UPDATE shared_access_token SET revoked_at = now(), live_name = NULL WHERE id = $1"
)


def validate(
    server: Server, secret: str, token: str, *, ip: str = VALIDATION_IP, area: str = "employees"
) -> dict[str, Any]:
    answer: dict[str, Any] = server.data(
        "ValidateToken",
        {"token": token, "ip": ip, "area": area, "folder": None, "access": "READ"},
        bearer=secret,
    )
    return answer


@pytest.fixture
def launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    failed_before = request.session.testsfailed
    try:
        yield launcher
    finally:
        launcher.stop_all()
        if request.session.testsfailed > failed_before:
            launcher.report()


# --- the database, as the test sees it ----------------------------------------------------------


class Database:
    """One connection of the test's own to the test database, on a private event loop."""

    def __init__(self, database_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._connection = self._run(asyncpg.connect(driver_dsn(database_url)))
        except BaseException:
            self._loop.close()
            raise

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(work)

    def fetch(self, query: str, *args: Any) -> list[Any]:
        return self._run(self._connection.fetch(query, *args))

    def value(self, query: str, *args: Any) -> Any:
        return self._run(self._connection.fetchval(query, *args))

    def cut_others(self) -> int:
        """Terminate every other connection to this database; how many there were."""
        return len(self.fetch(TERMINATE_OTHERS))

    def revoke_behind_its_back(self, token_id: int, *, announce: bool) -> None:
        """Revoke as another instance would (announced) or as nothing should (silently)."""

        async def revoke() -> None:
            async with self._connection.transaction():
                await self._connection.execute(REVOKE_BEHIND_ITS_BACK, token_id)
                if announce:
                    await self._connection.execute(
                        "SELECT pg_notify($1, $2)", CHANNEL, Change.token(token_id).encode()
                    )

        self._run(revoke())

    def close(self) -> None:
        try:
            self._run(self._connection.close())
        finally:
            self._loop.close()


@pytest.fixture
def database(sync_database_url: str) -> Iterator[Database]:
    session = Database(sync_database_url)
    try:
        yield session
    finally:
        session.close()


def create_admin(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """``sat admin create alice --password-stdin`` in-process; it migrates the database too."""
    for name in list(os.environ):
        if name.startswith("SAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SAT_DATABASE_URL", database_url)
    monkeypatch.setenv("SAT_LOG_LEVEL", "WARNING")
    monkeypatch.setattr(sys, "stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    assert cli.main(["admin", "create", "alice", "--password-stdin"]) == 0


# --- a deployment: admin alice, a service client, servers -------------------------------------


@dataclass(frozen=True)
class Issued:
    id: str
    access_token: str
    refresh_key: str


@dataclass
class Deployment:
    database: Database
    servers: list[Server]
    session: str  # alice's admin session token
    service_id: str
    service_secret: str
    names: Iterator[int] = field(default_factory=lambda: iter(range(1, 1000)))

    @property
    def a(self) -> Server:
        return self.servers[0]

    @property
    def b(self) -> Server:
        return self.servers[1]

    def create_token(self, *, on: Server | None = None) -> Issued:
        issued = (on or self.a).data(
            "CreateSharedAccessToken",
            {
                "input": {
                    "name": f"partner {next(self.names)}",
                    "grants": [READ_EMPLOYEES],
                }
            },
            bearer=self.session,
        )
        return Issued(
            issued["sharedAccessToken"]["id"], issued["accessToken"], issued["refreshKey"]
        )

    def create_client(self, *, on: Server | None = None) -> tuple[str, str]:
        issued = (on or self.a).data(
            "CreateServiceClient", {"name": f"gateway {next(self.names)}"}, bearer=self.session
        )
        return issued["serviceClient"]["id"], issued["secret"]

    def validate(self, server: Server, token: str, *, ip: str = VALIDATION_IP) -> dict[str, Any]:
        return validate(server, self.service_secret, token, ip=ip)


def deploy(
    launcher: Launcher,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    database: Database,
    *,
    count: int,
    env: dict[str, str] | None = None,
) -> Deployment:
    """Admin alice, ``count`` servers started together, alice's session and a service client."""
    create_admin(monkeypatch, database_url)
    servers = [launcher.serve(name, database_url, env) for name in "AB"[:count]]
    for server in servers:
        ready(server)
    session = servers[0].data("Login", {"username": "alice", "password": ADMIN_PASSWORD})["token"]
    deployment = Deployment(database, servers, session, service_id="", service_secret="")
    deployment.service_id, deployment.service_secret = deployment.create_client()
    return deployment


@pytest.fixture
def two_servers(
    launcher: Launcher,
    monkeypatch: pytest.MonkeyPatch,
    sync_database_url: str,
    database: Database,
) -> Deployment:
    """Servers A and B on one database, caching for 30 s, so only notices explain a quick turn."""
    return deploy(launcher, monkeypatch, sync_database_url, database, count=2, env=LONG_CACHE)


def poll(check: Callable[[], tuple[bool, Any]], *, since: float, within: float, what: str) -> float:
    """Ask ``check`` until it says done; seconds from ``since`` to that answer."""
    deadline = since + within
    while True:
        done, last = check()
        now = time.monotonic()
        if done:
            return now - since
        if now >= deadline:
            pytest.fail(f"{what}: not within {within}s of the change; last answer {last!r}")
        time.sleep(POLL_INTERVAL)


def reason_is(
    deployment: Deployment,
    server: Server,
    token: str,
    reason: str | None,
    *,
    ip: str = VALIDATION_IP,
) -> Callable[[], tuple[bool, Any]]:
    def check() -> tuple[bool, Any]:
        answer = deployment.validate(server, token, ip=ip)
        return answer["reason"] == reason, answer

    return check


def assert_caches_tokens(deployment: Deployment, server: Server) -> None:
    """``server`` answers validations from its cache: a silent revoke in the database goes unseen.

    The precondition of every timing check below: without it, a quick turn would
    show only that the server reads the database, not that the notice arrived.
    """
    probe = deployment.create_token()
    for _ in range(2):
        assert deployment.validate(server, probe.access_token)["valid"]
    deployment.database.revoke_behind_its_back(int(probe.id), announce=False)
    answer = deployment.validate(server, probe.access_token)
    assert answer["valid"], f"{server.name} is not answering from its cache: {answer}"


def assert_caches_clients(deployment: Deployment, server: Server) -> None:
    """``server`` authenticates service clients from its cache: a silent revoke goes unseen."""
    probe = deployment.create_token()
    client_id, secret = deployment.create_client()
    for _ in range(2):
        assert validate(server, secret, probe.access_token)["valid"]
    deployment.database.fetch(
        "UPDATE service_client SET revoked_at = now(), live_name = NULL WHERE id = $1",
        int(client_id),
    )
    body = server.graphql(
        "ValidateToken",
        {"token": probe.access_token, "ip": VALIDATION_IP, "area": "employees", "access": "READ"},
        bearer=secret,
    )
    assert not body.get("errors"), f"{server.name} is not authenticating from its cache: {body}"


# --- several instances --------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_token_created_on_one_instance_validates_on_another(two_servers: Deployment) -> None:
    deployment = two_servers
    issued = deployment.create_token(on=deployment.a)

    answer = deployment.validate(deployment.b, issued.access_token)

    assert answer["valid"] is True
    assert answer["reason"] is None
    assert answer["sharedAccessToken"]["id"] == issued.id


@pytest.mark.postgres
def test_a_revoke_on_one_instance_is_denied_on_another_within_the_bound(
    two_servers: Deployment,
) -> None:
    deployment = two_servers
    a, b = deployment.a, deployment.b
    issued = deployment.create_token()
    assert_caches_tokens(deployment, b)
    for _ in range(2):
        assert deployment.validate(b, issued.access_token)["valid"]

    a.data("RevokeSharedAccessToken", {"id": issued.id}, bearer=deployment.session)
    revoked_at = time.monotonic()
    answers: list[tuple[float, dict[str, Any]]] = []
    while time.monotonic() < revoked_at + STALE_BOUND + 0.5:
        answer = deployment.validate(b, issued.access_token)
        answers.append((time.monotonic(), answer))
        time.sleep(POLL_INTERVAL)

    denied = [i for i, (_, answer) in enumerate(answers) if answer["reason"] == "REVOKED"]
    assert denied, f"B never answered REVOKED; last answer {answers[-1][1]}"
    turned = answers[denied[0]][0] - revoked_at
    print(f"revoke on A seen on B after {turned * 1000:.1f} ms")
    assert turned <= NOTICE_BOUND
    after_turn = [answer for _, answer in answers[denied[0] :]]
    assert all(answer["reason"] == "REVOKED" for answer in after_turn), after_turn
    late = [answer for at, answer in answers if at >= revoked_at + STALE_BOUND]
    assert late
    assert not any(answer["valid"] for answer in late)


@pytest.mark.postgres
def test_ip_ranges_and_grants_changed_on_one_instance_are_enforced_on_another(
    two_servers: Deployment,
) -> None:
    deployment = two_servers
    a, b = deployment.a, deployment.b
    issued = deployment.create_token()
    assert_caches_tokens(deployment, a)
    for _ in range(2):
        assert deployment.validate(a, issued.access_token)["valid"]

    b.data(
        "Restrict",
        {"id": issued.id, "ipRanges": [{"from": RESTRICTED_RANGE}]},
        bearer=deployment.session,
    )
    restricted = poll(
        reason_is(deployment, a, issued.access_token, "IP_NOT_ALLOWED"),
        since=time.monotonic(),
        within=NOTICE_BOUND,
        what="restrict on B enforced on A",
    )
    for _ in range(2):
        assert deployment.validate(a, issued.access_token, ip=INSIDE_RANGE)["valid"]

    b.data("Grant", {"id": issued.id, "grants": [NO_EMPLOYEES]}, bearer=deployment.session)
    ungranted = poll(
        reason_is(deployment, a, issued.access_token, "NOT_PERMITTED", ip=INSIDE_RANGE),
        since=time.monotonic(),
        within=NOTICE_BOUND,
        what="grant removed on B enforced on A",
    )
    print(
        f"restrict on B seen on A after {restricted * 1000:.1f} ms; "
        f"grant change after {ungranted * 1000:.1f} ms"
    )


@pytest.mark.postgres
def test_concurrent_refreshes_across_instances_leave_exactly_one_live_pair(
    two_servers: Deployment,
) -> None:
    deployment = two_servers
    issued = deployment.create_token()
    count = 20
    start = threading.Barrier(count)

    def refresh(index: int) -> dict[str, Any]:
        server = deployment.servers[index % 2]
        start.wait(REQUEST_TIMEOUT)
        response = httpx.post(
            f"{server.url}/graphql",
            json={
                "query": operation("RefreshAccessToken"),
                "variables": {"refreshKey": issued.refresh_key},
            },
            timeout=REQUEST_TIMEOUT * 2,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        bodies = list(pool.map(refresh, range(count)))

    issued_tokens = [
        body["data"]["refreshAccessToken"]["accessToken"]
        for body in bodies
        if (body.get("data") or {}).get("refreshAccessToken")
    ]
    refusals = [code for body in bodies for code in error_codes(body)]
    assert issued_tokens, f"no refresh succeeded: {refusals}"
    assert set(refusals) <= {"UNAUTHENTICATED", "CONFLICT"}, refusals

    token_id = int(issued.id)
    live = deployment.database.fetch(
        "SELECT access_digest FROM credential WHERE token_id = $1 AND current_of IS NOT NULL",
        token_id,
    )
    assert len(live) == 1, live
    revoked = deployment.database.value(
        "SELECT revoked_at IS NOT NULL FROM shared_access_token WHERE id = $1", token_id
    )
    answers = {
        token: deployment.validate(deployment.servers[i % 2], token)
        for i, token in enumerate([issued.access_token, *issued_tokens])
    }
    valid = [token for token, answer in answers.items() if answer["valid"]]
    assert all(
        answer["reason"] in {"ROTATED", "REVOKED"}
        for token, answer in answers.items()
        if token not in valid
    ), answers
    print(
        f"{len(issued_tokens)} of {count} refreshes issued a pair, refusals {refusals}, "
        f"revoked as reuse: {revoked}"
    )
    if revoked:
        assert valid == []
    else:
        assert len(valid) == 1
        assert secrets.digest(valid[0]) == live[0]["access_digest"]


@pytest.mark.postgres
def test_a_service_client_revoked_on_one_instance_is_refused_on_another_within_the_bound(
    two_servers: Deployment,
) -> None:
    deployment = two_servers
    a, b = deployment.a, deployment.b
    issued = deployment.create_token()
    assert_caches_clients(deployment, b)
    for _ in range(2):
        assert deployment.validate(b, issued.access_token)["valid"]

    a.data("RevokeServiceClient", {"id": deployment.service_id}, bearer=deployment.session)

    def refused() -> tuple[bool, Any]:
        body = b.graphql(
            "ValidateToken",
            {
                "token": issued.access_token,
                "ip": VALIDATION_IP,
                "area": "employees",
                "access": "READ",
            },
            bearer=deployment.service_secret,
        )
        return error_codes(body) == ["UNAUTHENTICATED"] and body.get("data") is None, body

    turned = poll(refused, since=time.monotonic(), within=NOTICE_BOUND, what="client refused on B")
    print(f"service client revoked on A refused on B after {turned * 1000:.1f} ms")


# --- the database cut away ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    at: float  # when the answer (or the failure) came
    outcome: str  # "valid", a denial reason, "error" (INTERNAL_SERVER_ERROR), or "BAD: ..."


def outcome_of(response: httpx.Response) -> str:
    """What one validateToken answer says; anything but a GraphQL answer is BAD."""
    if response.status_code != 200:
        return f"BAD: HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"BAD: not JSON: {response.text[:200]}"
    codes = error_codes(body)
    if codes:
        return "error" if set(codes) == {"INTERNAL_SERVER_ERROR"} else f"BAD: errors {codes}"
    answer = body["data"]["validateToken"]
    return "valid" if answer["valid"] else str(answer["reason"])


@pytest.mark.postgres
def test_validations_never_go_stale_while_the_database_is_cut_away_and_recover(
    launcher: Launcher,
    monkeypatch: pytest.MonkeyPatch,
    sync_database_url: str,
    database: Database,
) -> None:
    """Cut every server connection twice; the second cut hides the revoke's notice from it."""
    deployment = deploy(launcher, monkeypatch, sync_database_url, database, count=1, env=LONG_CACHE)
    server = deployment.a
    revoked, spare = deployment.create_token(), deployment.create_token()
    for token in (revoked, spare, revoked):
        assert deployment.validate(server, token.access_token)["valid"]
    variables = {
        "token": revoked.access_token,
        "ip": VALIDATION_IP,
        "area": "employees",
        "access": "READ",
    }
    answers: list[Answer] = []
    stop = threading.Event()

    def stream() -> None:
        """About 20 validations a second, each on its own, until told to stop."""
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
            hard_stop = time.monotonic() + 30
            while not stop.is_set() and time.monotonic() < hard_stop:
                sent = time.monotonic()
                try:
                    response = client.post(
                        "/graphql",
                        json={"query": operation("ValidateToken"), "variables": variables},
                        headers=authorization(deployment.service_secret),
                    )
                    outcome = outcome_of(response)
                except httpx.HTTPError as error:
                    outcome = f"BAD: {type(error).__name__}: {error}"
                answers.append(Answer(time.monotonic(), outcome))
                stop.wait(max(0.0, sent + 0.05 - time.monotonic()))

    def after_answers(count: int) -> None:
        deadline = time.monotonic() + 15
        while len(answers) < count:
            assert time.monotonic() < deadline, f"the stream stalled at {len(answers)} answers"
            time.sleep(POLL_INTERVAL)

    streamer = threading.Thread(target=stream, name="validation stream")
    streamer.start()
    try:
        after_answers(20)  # about 1 s of validations
        first_cut = database.cut_others()
        after_answers(len(answers) + 20)
        second_cut = database.cut_others()
        # At once, before the server's listener is back: it cannot hear this notice.
        database.revoke_behind_its_back(int(revoked.id), announce=True)
        revoked_at = time.monotonic()
        stop.wait(STALE_BOUND + 1.5)
    finally:
        stop.set()
        streamer.join(REQUEST_TIMEOUT * 2)
    assert not streamer.is_alive()

    assert server.alive(), "the server died when its database connections were cut"
    bad = [answer for answer in answers if answer.outcome.startswith("BAD")]
    assert bad == []
    assert first_cut >= 2  # the server's listener and at least one pooled connection
    assert second_cut >= 1
    assert answers[0].outcome == "valid"
    late = [answer.outcome for answer in answers if answer.at >= revoked_at + STALE_BOUND]
    assert late, "no answer came after the bound"
    assert "valid" not in late, late
    assert late[-1] == "REVOKED", late
    denied = next(a.at for a in answers if a.at >= revoked_at and a.outcome == "REVOKED")
    errors = sum(answer.outcome == "error" for answer in answers)
    print(
        f"{len(answers)} validations; {errors} INTERNAL_SERVER_ERROR; connections cut: "
        f"{first_cut} then {second_cut}; unheard revoke denied after "
        f"{(denied - revoked_at) * 1000:.1f} ms"
    )

    poll(
        reason_is(deployment, server, spare.access_token, None),
        since=time.monotonic(),
        within=10,
        what="an unrevoked token valid again after the cut",
    )
    assert server.http.get("/healthz").status_code == 200


# --- migrations and workers ---------------------------------------------------------------------


def migrations_on_disk() -> list[str]:
    return sorted(p.stem for p in MIGRATIONS_DIR.glob("*.py") if re.match(r"\d{4}_", p.name))


def waiting_for_migration_lock(database: Database) -> int:
    count: int = database.value(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND objid::bigint = $1",
        MIGRATION_LOCK,
    )
    return count


@pytest.mark.postgres
def test_migrations_started_together_wait_for_the_lock_and_apply_once(
    launcher: Launcher, sync_database_url: str, database: Database
) -> None:
    database.value("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    first = launcher.spawn("migrate-1", ["migrate"], sync_database_url)
    second = launcher.spawn("migrate-2", ["migrate"], sync_database_url)

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while waiting_for_migration_lock(database) < 2:
        for process in (first, second):
            assert process.popen.poll() is None, f"{process.name} did not wait for the lock"
        assert time.monotonic() < deadline, "the migrations never queued on the advisory lock"
        time.sleep(0.05)
    assert database.value("SELECT to_regclass('tortoise_migrations') IS NULL")
    database.value("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    assert first.wait(STARTUP_TIMEOUT) == 0, first.output()
    assert second.wait(STARTUP_TIMEOUT) == 0, second.output()
    applied = database.fetch("SELECT app, name FROM tortoise_migrations ORDER BY name")
    assert [(row["app"], row["name"]) for row in applied] == [
        ("models", name) for name in migrations_on_disk()
    ]
    assert database.value("SELECT to_regclass('shared_access_token') IS NOT NULL")


@pytest.mark.postgres
def test_serve_without_auto_migrate_refuses_an_unmigrated_database_until_sat_migrate(
    launcher: Launcher, sync_database_url: str, database: Database
) -> None:
    no_auto = {"SAT_AUTO_MIGRATE": "false"}
    (port,) = free_ports(1)

    code, output = launcher.run(
        "refused", ["serve", "--port", str(port)], sync_database_url, no_auto
    )

    assert code != 0, output
    assert "sat migrate" in output
    assert database.value("SELECT to_regclass('shared_access_token') IS NULL")

    code, output = launcher.run("migrate", ["migrate"], sync_database_url)
    assert code == 0, output
    server = launcher.start("after-migrate", sync_database_url, no_auto)
    assert server.data("Me") is None


@pytest.mark.postgres
@pytest.mark.parametrize("auto_migrate", ["false", "true"])
def test_serve_refuses_a_database_migrated_by_a_newer_version(
    launcher: Launcher, sync_database_url: str, database: Database, auto_migrate: str
) -> None:
    code, output = launcher.run("migrate", ["migrate"], sync_database_url)
    assert code == 0, output
    database.value(
        "INSERT INTO tortoise_migrations (app, name, applied_at) "
        "VALUES ('models', '9999_future', now())"
    )
    (port,) = free_ports(1)

    code, output = launcher.run(
        "refused",
        ["serve", "--port", str(port)],
        sync_database_url,
        {"SAT_AUTO_MIGRATE": auto_migrate},
    )

    assert code != 0, output
    assert "9999_future" in output
    assert "newer version" in output


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def connection_owners(port: int, candidates: set[int]) -> set[int]:
    """The processes among ``candidates`` holding an established connection on ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    owners = set()
    for pid in candidates:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    owners.add(pid)
            except OSError:
                continue
    return owners


@pytest.mark.postgres
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads connections from /proc")
def test_serve_with_two_workers_answers_from_both_on_postgresql(
    launcher: Launcher, sync_database_url: str
) -> None:
    server = launcher.start("workers", sync_database_url, {"SAT_LOG_LEVEL": "INFO"}, workers=2)
    processes = {server.process.popen.pid} | descendants(server.process.popen.pid)

    owners: set[int] = set()
    for _ in range(10):  # the kernel hands each connection to whichever worker accepts first
        clients = [httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) for _ in range(16)]
        try:
            for client in clients:
                response = client.post("/graphql", json={"query": operation("Me")})
                assert response.json() == {"data": {"me": None}}
            owners |= connection_owners(server.port, processes)
        finally:
            for client in clients:
                client.close()
        if len(owners) >= 2:
            break
    assert len(owners) == 2, f"answered by {owners} of the processes {processes}"
    # Each worker configures logging itself: its access lines are written too.
    assert '"POST /graphql" 200' in server.process.output()


def test_serve_with_several_workers_is_refused_on_sqlite(
    launcher: Launcher, tmp_path: Path
) -> None:
    (port,) = free_ports(1)

    code, output = launcher.run(
        "sqlite-workers",
        ["serve", "--workers", "2", "--port", str(port)],
        f"sqlite://{tmp_path / 'sat.sqlite3'}",
    )

    assert code == 2, output
    assert "needs PostgreSQL" in output
