"""`sat refresh` and its one-file client, run as processes against a real `sat serve`."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from server import refresh_client
from tests.launcher import SAT, free_port, serving
from tests.support import ADMIN_PASSWORD, operation
from tokens import secrets
from tokens.secrets import SecretKind

CLIENT_FILE = Path(refresh_client.__file__).resolve()
# An interpreter outside the virtual environment, where neither SAT nor its dependencies are.
STANDALONE_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys._base_executable
CLIENT_COMMAND = [STANDALONE_PYTHON, "-I", "-S", str(CLIENT_FILE)]
NOBODY = 65534
EXIT_REFUSED, EXIT_USAGE, EXIT_TEMPORARY = 1, 2, 75


# --- a real server, and what an admin and a gateway do with it ----------------------------------


@dataclass
class Server:
    base: str
    admin: str  # session token
    gateway: str  # service client secret

    def gql(self, name: str, variables: dict[str, Any], auth: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {auth}"} if auth else {}
        answer = httpx.post(
            f"{self.base}/graphql",
            json={"query": operation(name), "variables": variables},
            headers=headers,
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]

    def create_token(self, name: str = "Payroll bureau", **extra: Any) -> dict[str, Any]:
        grants = [{"area": "payroll", "read": True, "write": False, "delete": False}]
        variables = {"input": {"name": name, "expiresInDays": 30, "grants": grants, **extra}}
        issued = self.gql("CreateSharedAccessToken", variables, self.admin)
        return dict(issued["createSharedAccessToken"])

    def denial(self, access_token: str) -> str | None:
        """None when the access token is valid, else the reason it is denied."""
        variables = {"token": access_token, "ip": "127.0.0.1", "area": "payroll", "access": "READ"}
        answer = self.gql("ValidateToken", variables, self.gateway)["validateToken"]
        return None if answer["valid"] else str(answer["reason"])

    def token(self, token_id: str) -> dict[str, Any]:
        answer = self.gql("SharedAccessToken", {"id": token_id}, self.admin)
        return dict(answer["sharedAccessToken"])

    def revoke(self, token_id: str) -> None:
        self.gql("RevokeSharedAccessToken", {"id": token_id}, self.admin)


def create_admin_on(workdir: Path, database_url: str) -> None:
    subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [SAT, "admin", "create", "alice", "--password-stdin"],
        cwd=workdir,
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env={**os.environ, "SAT_DATABASE_URL": database_url},
    )


@pytest.fixture
def server(tmp_path: Path, sync_database_url: str) -> Iterator[Server]:
    """`sat serve` on the test database (SQLite or PostgreSQL), an admin and a gateway."""
    workdir = tmp_path / "server"
    workdir.mkdir()
    create_admin_on(workdir, sync_database_url)
    with serving(workdir, SAT_DATABASE_URL=sync_database_url) as (base, _):
        login = {"username": "alice", "password": ADMIN_PASSWORD}
        anonymous = Server(base=base, admin="", gateway="")
        admin = anonymous.gql("Login", login)["login"]["token"]
        gateway = anonymous.gql("CreateServiceClient", {"name": "gateway"}, admin)
        yield Server(base=base, admin=admin, gateway=gateway["createServiceClient"]["secret"])


# --- the third party's side ---------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def sat_refresh(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run `sat refresh ARGS...` as the installed console script."""
    return _run([SAT, "refresh", *args], env={**os.environ, **(env or {})})


def client(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run the one file as a third party does: isolated, on a Python without SAT's packages.

    Most tests run it this way, which is what `sat refresh` runs too, without the
    second or so that importing the server's packages takes on a busy machine.
    """
    return _run(CLIENT_COMMAND + list(args), env={"PATH": "/usr/bin:/bin", **(env or {})})


def _run(command: list[str], *, env: dict[str, str]) -> Run:
    done = subprocess.run(  # noqa: S603  (our own programs, fixed arguments)
        command, capture_output=True, text=True, timeout=60, env=env
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def client_dir(tmp_path: Path) -> Path:
    """The third party's directory for its credentials file, apart from the server's files."""
    directory = tmp_path / "client"
    directory.mkdir()
    return directory


def write_credentials(path: Path, issued: dict[str, Any], **extra: Any) -> Path:
    content = {"accessToken": issued["accessToken"], "refreshKey": issued["refreshKey"], **extra}
    path.write_text(json.dumps(content))
    path.chmod(0o600)
    return path


def assert_one_line_without_secrets(run: Run, *secret_values: str) -> None:
    assert run.stdout == ""
    assert run.stderr.endswith("\n")
    assert run.stderr.count("\n") == 1, run.stderr
    for value in secret_values:
        assert value not in run.stderr


def held_secrets(path: Path) -> list[str]:
    content = json.loads(path.read_text())
    return [content["accessToken"], content["refreshKey"]]


# --- success ------------------------------------------------------------------------------------


def test_a_refresh_replaces_the_file_keeps_other_keys_and_prints_only_the_expiry(
    server: Server, client_dir: Path
) -> None:
    issued = server.create_token()
    path = write_credentials(client_dir / "sat.json", issued, service="payroll-sync", retries=3)
    path.chmod(0o644)
    before = datetime.now(UTC)

    run = sat_refresh("--url", server.base, "--credentials", str(path))

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    content = json.loads(path.read_text())
    assert set(content) == {"accessToken", "refreshKey", "expiresAt", "service", "retries"}
    assert (content["service"], content["retries"]) == ("payroll-sync", 3)
    assert secrets.is_well_formed(SecretKind.ACCESS_TOKEN, content["accessToken"])
    assert secrets.is_well_formed(SecretKind.REFRESH_KEY, content["refreshKey"])
    assert content["accessToken"] != issued["accessToken"]
    assert content["refreshKey"] != issued["refreshKey"]
    # Standard output is the expiry alone: ISO 8601 in UTC, 30 days (expiresInDays) from now.
    assert run.stdout == content["expiresAt"] + "\n"
    expiry = datetime.fromisoformat(run.stdout.strip())
    assert expiry.utcoffset() == timedelta(0)
    assert before + timedelta(days=30) <= expiry <= datetime.now(UTC) + timedelta(days=30)
    # Mode 0600 although the old file was 0644; no temporary file is left beside it.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in client_dir.iterdir()) == ["sat.json", "sat.json.lock"]
    # The server agrees: the new access token is valid, the old one rotated (no grace).
    assert server.denial(content["accessToken"]) is None
    assert server.denial(issued["accessToken"]) == "ROTATED"
    hint = server.token(issued["sharedAccessToken"]["id"])["tokenHint"]
    assert hint == content["accessToken"][-4:]


def test_the_url_may_name_the_endpoint_defaults_to_sat_url_and_no_server_setting_is_read(
    server: Server, client_dir: Path
) -> None:
    path = write_credentials(client_dir / "sat.json", server.create_token())

    # Settings that would stop the server's commands: `sat refresh` reads none of them.
    not_for_us = {"SAT_DATABASE_URL": "nonsense://", "SAT_SESSION_HOURS": "never"}

    first = sat_refresh("--url", f"{server.base}/graphql/", "--credentials", str(path))
    second = sat_refresh("--credentials", str(path), env={"SAT_URL": server.base, **not_for_us})

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert server.denial(held_secrets(path)[0]) is None


def test_the_one_file_runs_alone_on_a_python_without_sat(server: Server, client_dir: Path) -> None:
    """Copied alone into an empty directory and run isolated (-I) without site-packages (-S)."""
    alone = client_dir / "elsewhere"
    alone.mkdir()
    copy = alone / "refresh_client.py"
    shutil.copyfile(CLIENT_FILE, copy)
    isolated = [STANDALONE_PYTHON, "-I", "-S"]
    probe = "import importlib.util as u; print(u.find_spec('server'), u.find_spec('strawberry'))"
    assert subprocess.run(  # noqa: S603  (a fixed interpreter and arguments)
        [*isolated, "-c", probe], capture_output=True, text=True, check=True, cwd=alone
    ).stdout.split() == ["None", "None"]
    path = write_credentials(alone / "sat.json", server.create_token())

    done = subprocess.run(  # noqa: S603  (a fixed interpreter and arguments)
        [*isolated, str(copy), "--url", server.base, "--credentials", str(path)],
        capture_output=True,
        text=True,
        cwd=alone,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == json.loads(path.read_text())["expiresAt"] + "\n"
    assert server.denial(held_secrets(path)[0]) is None


def test_help_names_the_file_that_implements_it() -> None:
    run = sat_refresh("--help")
    assert run.returncode == 0
    assert str(CLIENT_FILE) in " ".join(run.stdout.split())


# --- failures leave the file as it was ----------------------------------------------------------


def test_a_refusal_exits_non_zero_with_one_line_and_the_file_unchanged(
    server: Server, client_dir: Path
) -> None:
    revoked = server.create_token("Revoked")
    server.revoke(revoked["sharedAccessToken"]["id"])
    live = server.create_token("Live")
    refused = {
        "revoked": revoked,
        "unknown key": {**live, "refreshKey": secrets.generate(SecretKind.REFRESH_KEY)},
        "malformed key": {**live, "refreshKey": live["refreshKey"][:-1]},
    }
    for why, pair in refused.items():
        path = write_credentials(client_dir / f"{why}.json", pair, note="kept")
        before = path.read_bytes()

        run = sat_refresh("--url", server.base, "--credentials", str(path))

        assert run.returncode == EXIT_REFUSED, why
        assert_one_line_without_secrets(run, pair["accessToken"], pair["refreshKey"])
        assert run.stderr.startswith("sat refresh: the server refused: UNAUTHENTICATED"), why
        assert path.read_bytes() == before, why
    # Presenting an unknown key is not reuse of the live token's key.
    assert server.token(live["sharedAccessToken"]["id"])["status"] == "ACTIVE"


def test_nothing_listening_is_a_temporary_failure_with_the_file_unchanged(client_dir: Path) -> None:
    path = client_dir / "sat.json"
    path.write_text('{"accessToken": "sat_x", "refreshKey": "satr_y"}')
    before = path.read_bytes()

    run = client("--url", f"http://127.0.0.1:{free_port()}", "--credentials", str(path))

    assert run.returncode == EXIT_TEMPORARY
    assert_one_line_without_secrets(run, "sat_x", "satr_y")
    assert "cannot reach" in run.stderr
    assert path.read_bytes() == before


def test_a_server_that_never_answers_is_given_up_after_the_timeout(client_dir: Path) -> None:
    path = client_dir / "sat.json"
    path.write_text('{"accessToken": "sat_x", "refreshKey": "satr_y"}')
    before = path.read_bytes()
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever reads them
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        run = client("--url", url, "--credentials", str(path), "--timeout", "0.5")

    assert run.returncode == EXIT_TEMPORARY
    assert_one_line_without_secrets(run, "sat_x", "satr_y")
    assert "within 0.5 s" in run.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("accessToken=sat_x\nrefreshKey=satr_y\n", "is not JSON"),
        ('{"accessToken": "sat_x", "refreshKey": ', "is not JSON"),
        ('["sat_x", "satr_y"]', "must hold a JSON object"),
        ('"satr_y"', "must hold a JSON object"),
        ('{"accessToken": "sat_x"}', "has no refreshKey"),
        ('{"refreshKey": "satr_y"}', "has no accessToken"),
        ('{"accessToken": "sat_x", "refreshKey": 7}', "has no refreshKey"),
        ('{"accessToken": "sat_x", "refreshKey": ""}', "has no refreshKey"),
        (b"\xff\xfe{}", "is not UTF-8"),
    ],
)
def test_a_malformed_file_is_refused_before_anything_is_sent(
    client_dir: Path, content: str | bytes, complaint: str
) -> None:
    path = client_dir / "sat.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    with socket.socket() as listening:  # a refresh that reached the network would time out here
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"

        run = client("--url", url, "--credentials", str(path), "--timeout", "30")

    assert run.returncode == EXIT_USAGE
    assert_one_line_without_secrets(run, "sat_x", "satr_y")
    assert complaint in run.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in client_dir.iterdir()) == ["sat.json"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--url", "ftp://sat.example.com"], "bad URL"),
        (["--url", "sat.example.com"], "bad URL"),
        (["--url", "http://127.0.0.1:port"], "bad URL"),
        (["--url", "http://127.0.0.1:8000", "--timeout", "soon"], "invalid float value"),
        (["--url", "http://127.0.0.1:8000", "--timeout", "0"], "--timeout must be a positive"),
        (["--url", "http://127.0.0.1:8000", "--timeout", "nan"], "--timeout must be a positive"),
        (["--url", "http://127.0.0.1:8000", "--timeout", "inf"], "--timeout must be a positive"),
        ([], "no server URL"),
    ],
)
def test_bad_arguments_are_one_line_and_touch_nothing(
    client_dir: Path, args: list[str], complaint: str
) -> None:
    path = client_dir / "sat.json"
    path.write_text('{"accessToken": "sat_x", "refreshKey": "satr_y"}')
    before = path.read_bytes()

    run = client(*args, "--credentials", str(path), env={"SAT_URL": ""})

    assert run.returncode == EXIT_USAGE
    assert_one_line_without_secrets(run)
    assert complaint in run.stderr
    assert path.read_bytes() == before


class OddServer(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the status, headers and body in ``answers[self.server_port]``."""

    answers: ClassVar[dict[int, tuple[int, dict[str, str], bytes]]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, headers, body = self.answers[self.server.server_port]
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def odd_server(status: int, headers: dict[str, str], body: bytes) -> Iterator[str]:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), OddServer) as odd:
        OddServer.answers[odd.server_port] = (status, headers, body)
        thread = threading.Thread(target=odd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{odd.server_port}"
        finally:
            odd.shutdown()
            thread.join()


KEY = secrets.generate(SecretKind.REFRESH_KEY)
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("status", "headers", "body", "exit_code", "complaint"),
    [
        (
            200,
            JSON,
            json.dumps(
                {"errors": [{"message": f"no such key\n{KEY}", "extensions": {"code": "X"}}]}
            ).encode(),
            EXIT_REFUSED,
            "the server refused: X: no such key [secret]",
        ),
        (
            200,
            JSON,
            json.dumps({"errors": [{"message": "x" * 5000}]}).encode(),
            EXIT_REFUSED,
            "the server refused: NO_CODE: xxx",
        ),
        (
            200,
            JSON,
            json.dumps(
                {"errors": [{"message": "busy", "extensions": {"code": "CONFLICT"}}]}
            ).encode(),
            EXIT_TEMPORARY,
            "the server refused: CONFLICT: busy",
        ),
        (502, {"Content-Type": "text/html"}, b"<h1>Bad Gateway</h1>", EXIT_TEMPORARY, "HTTP 502"),
        (404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>", EXIT_REFUSED, "HTTP 404"),
        (301, {"Location": "https://elsewhere.example/graphql"}, b"", EXIT_USAGE, "redirects"),
        (200, JSON, b'{"data": {"refreshAccessToken": {"accessToken": "sat_x"}}}', 1, "without"),
        (200, JSON, b'{"data": {"refreshAccessToken": null}}', EXIT_REFUSED, "without"),
    ],
    ids=[
        "message echoes the key",
        "huge message, no code",
        "temporary code",
        "proxy error page",
        "wrong path",
        "redirect",
        "pair incomplete",
        "no pair",
    ],
)
def test_an_odd_answer_is_one_line_without_secrets_and_the_file_unchanged(
    client_dir: Path,
    status: int,
    headers: dict[str, str],
    body: bytes,
    exit_code: int,
    complaint: str,
) -> None:
    """Proxies, wrong URLs and broken servers: no secret is echoed, no file is written."""
    path = client_dir / "sat.json"
    path.write_text(json.dumps({"accessToken": "sat_" + "a" * 46, "refreshKey": KEY}))
    before = path.read_bytes()

    with odd_server(status, headers, body) as url:
        run = client("--url", url, "--credentials", str(path))

    assert run.returncode == exit_code
    assert_one_line_without_secrets(run, KEY)
    assert complaint in run.stderr
    assert len(run.stderr) < 400
    assert path.read_bytes() == before
    assert not (client_dir / ".sat.json.tmp").exists()


def test_a_missing_file_is_refused_and_no_lock_file_is_made(client_dir: Path) -> None:
    path = client_dir / "nowhere.json"

    run = client("--url", "http://127.0.0.1:9", "--credentials", str(path))

    assert run.returncode == EXIT_USAGE
    assert_one_line_without_secrets(run)
    assert "no such file" in run.stderr
    assert list(client_dir.iterdir()) == []


def test_an_unreadable_file_is_refused_and_left_as_it_was() -> None:
    """Run as nobody when the tests run as root, who may read any file."""
    as_root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="sat-refresh-"))
    try:
        directory.chmod(0o777 if as_root else 0o700)
        copy = directory / "refresh_client.py"
        shutil.copyfile(CLIENT_FILE, copy)
        copy.chmod(0o644)
        path = directory / "sat.json"
        path.write_text('{"accessToken": "sat_x", "refreshKey": "satr_y"}')
        path.chmod(0o000)
        before = (path.stat().st_mtime_ns, path.stat().st_size)

        arguments = ["--url", "http://127.0.0.1:9", "--credentials", str(path)]
        done = subprocess.run(  # noqa: S603  (a fixed interpreter and arguments)
            [STANDALONE_PYTHON, "-I", "-S", str(copy), *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            user=NOBODY if as_root else None,
            group=NOBODY if as_root else None,
            extra_groups=[] if as_root else None,
        )

        run = Run(done.returncode, done.stdout, done.stderr)
        assert run.returncode == EXIT_USAGE
        assert_one_line_without_secrets(run)
        assert "permission denied" in run.stderr
        assert (path.stat().st_mtime_ns, path.stat().st_size) == before
        assert stat.S_IMODE(path.stat().st_mode) == 0o000
    finally:
        shutil.rmtree(directory)


def test_a_run_as_root_keeps_the_files_owner(server: Server) -> None:
    """Root refreshing a service account's file must leave it readable by that account."""
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another user")
    directory = Path(tempfile.mkdtemp(prefix="sat-refresh-"))
    try:
        path = write_credentials(directory / "sat.json", server.create_token())
        os.chown(path, NOBODY, NOBODY)

        run = client("--url", server.base, "--credentials", str(path))

        assert run.returncode == 0, run.stderr
        assert (path.stat().st_uid, path.stat().st_gid) == (NOBODY, NOBODY)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        shutil.rmtree(directory)


# --- overlapping runs and lost answers ----------------------------------------------------------


@dataclass
class Exchange:
    request: dict[str, Any]
    answer: dict[str, Any]


@dataclass
class Relay:
    """A TCP relay between `sat refresh` and the server that can hold or drop an answer.

    ``hold_first`` keeps the first answer until ``release`` is set; ``drop_first``
    calls it with the first answer instead of passing it on (and closes the
    connection), as when the client dies or the network fails just then.
    """

    upstream: str
    hold_first: threading.Event | None = None
    drop_first: Any = None
    exchanges: list[Exchange] = field(default_factory=list)
    first_request_seen: threading.Event = field(default_factory=threading.Event)
    answers_in_flight: int = 0
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        count = 0
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            count += 1
            threading.Thread(target=self._relay, args=(client, count == 1), daemon=True).start()

    def _relay(self, client: socket.socket, first: bool) -> None:
        with client:
            request = _read_http_message(client)
            with self._lock:
                self.answers_in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.answers_in_flight)
            if first:
                self.first_request_seen.set()
            host, port = self.upstream.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port))) as upstream:
                upstream.sendall(request)
                answer = _read_http_message(upstream)
            self.exchanges.append(Exchange(_json_body(request), _json_body(answer)))
            if first and self.drop_first is not None:
                self.drop_first()
            else:
                if first and self.hold_first is not None:
                    assert self.hold_first.wait(timeout=30)
                client.sendall(answer)
            with self._lock:
                self.answers_in_flight -= 1


def _read_http_message(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, "connection closed inside the headers"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return head + b"\r\n\r\n" + body


def _json_body(message: bytes) -> dict[str, Any]:
    return dict(json.loads(message.partition(b"\r\n\r\n")[2]))


def presented_key(exchange: Exchange) -> str:
    return str(exchange.request["variables"]["refreshKey"])


def issued_pair(exchange: Exchange) -> dict[str, str]:
    return dict(exchange.answer["data"]["refreshAccessToken"])


def start_refresh(url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603  (our own console script, fixed arguments)
        [*CLIENT_COMMAND, "--url", url, "--credentials", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_waiting_for_lock(lock_file: Path, process: subprocess.Popen[str]) -> None:
    """Until /proc/locks lists ``process`` as blocked on ``lock_file``'s flock."""
    inode = lock_file.stat().st_ino
    blocked = re.compile(rf"->\s+FLOCK\s+ADVISORY\s+WRITE\s+{process.pid}\s+\S+:{inode}\s")
    deadline = time.monotonic() + 30
    while not blocked.search(Path("/proc/locks").read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the second run never waited for the lock"
        time.sleep(0.01)


def test_two_runs_at_once_take_turns_and_leave_one_working_pair(
    server: Server, client_dir: Path
) -> None:
    """The second run waits for the first, then presents the key the first one saved."""
    issued = server.create_token()
    path = write_credentials(client_dir / "sat.json", issued)
    release = threading.Event()
    relay = Relay(upstream=server.base, hold_first=release)
    try:
        first = start_refresh(relay.url, path)
        assert relay.first_request_seen.wait(timeout=30)
        # The first run now has the server's answer on its way and holds the lock.
        second = start_refresh(relay.url, path)
        wait_until_waiting_for_lock(client_dir / "sat.json.lock", second)
        release.set()
        outcomes = [process.communicate(timeout=60) for process in (first, second)]
    finally:
        release.set()
        relay.close()

    assert (first.returncode, second.returncode) == (0, 0), outcomes
    # Never two requests at once, and never one key presented twice.
    assert relay.most_in_flight == 1
    assert [presented_key(e) for e in relay.exchanges] == [
        issued["refreshKey"],
        issued_pair(relay.exchanges[0])["refreshKey"],
    ]
    # The file holds the second pair, which works; the first pair is rotated away.
    held = held_secrets(path)
    assert held == [issued_pair(relay.exchanges[1])[k] for k in ("accessToken", "refreshKey")]
    assert server.denial(held[0]) is None
    assert server.denial(issued_pair(relay.exchanges[0])["accessToken"]) == "ROTATED"
    assert server.token(issued["sharedAccessToken"]["id"])["status"] == "ACTIVE"
    assert client("--url", server.base, "--credentials", str(path)).returncode == 0


def test_a_run_killed_after_the_answer_is_recovered_by_the_next_run(
    server: Server, client_dir: Path
) -> None:
    """The server issued a pair that never reached the file; the next run retries the old key."""
    issued = server.create_token()
    path = write_credentials(client_dir / "sat.json", issued, note="kept")
    before = path.read_bytes()
    killed: list[subprocess.Popen[str]] = []
    relay = Relay(upstream=server.base, drop_first=lambda: killed[0].send_signal(signal.SIGKILL))
    try:
        killed.append(start_refresh(relay.url, path))
        killed[0].communicate(timeout=60)
    finally:
        relay.close()
    assert killed[0].returncode == -signal.SIGKILL
    lost = issued_pair(relay.exchanges[0])
    assert path.read_bytes() == before

    recovery = client("--url", server.base, "--credentials", str(path))

    assert recovery.returncode == 0, recovery.stderr
    held = held_secrets(path)
    assert held[0] not in (issued["accessToken"], lost["accessToken"])
    assert server.denial(held[0]) is None
    # The pair nobody received is void, and the retry was not taken for theft.
    assert server.denial(lost["accessToken"]) is not None
    assert server.token(issued["sharedAccessToken"]["id"])["status"] == "ACTIVE"
    assert json.loads(path.read_text())["note"] == "kept"


def test_a_second_run_that_cannot_get_the_lock_in_time_gives_up(
    server: Server, client_dir: Path
) -> None:
    issued = server.create_token()
    path = write_credentials(client_dir / "sat.json", issued)
    release = threading.Event()
    relay = Relay(upstream=server.base, hold_first=release)
    try:
        first = start_refresh(relay.url, path)
        assert relay.first_request_seen.wait(timeout=30)
        late = client("--url", server.base, "--credentials", str(path), "--timeout", "0.5")
        release.set()
        first.communicate(timeout=60)
    finally:
        release.set()
        relay.close()

    assert late.returncode == EXIT_TEMPORARY
    assert_one_line_without_secrets(late, *held_secrets(path))
    assert "another run holds" in late.stderr
    assert first.returncode == 0
    assert server.denial(held_secrets(path)[0]) is None
