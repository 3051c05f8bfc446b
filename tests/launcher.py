"""Real ``sat`` processes (``sat serve``, ``sat migrate``, ...) for tests and for bench/.

One home for starting the installed console script as users run it, waiting
until a server answers ``/healthz`` and stopping every process, whatever
happened. tests/server/ imports it as ``tests.launcher``, and so does bench/
(run from the repository root as ``python -m bench``). It needs neither pytest
nor the schema: a server that does not start raises ``LaunchFailed`` with the
server's own output, which pytest reports as a failure and bench as a failed case.

A process gets the caller's environment without any ``SAT_*`` variable, then
only the settings it is given: what a developer's shell exports cannot change
what a test or a benchmark runs against.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.operations import operation

STARTUP_TIMEOUT = 30.0  # seconds for a server to answer /healthz, or for a command to end
STOP_TIMEOUT = 10.0  # seconds for a process to end after SIGTERM before its group is killed
REQUEST_TIMEOUT = 5.0  # a server's HTTP client gives up on any one request after this


class LaunchFailed(AssertionError):
    """A process did not start, did not end in time, or exited while starting."""


def _script(name: str) -> str:
    """A console script by absolute path: the interpreter's neighbour, else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found is not None, f"the `{name}` script is not installed"
    return str(Path(found).resolve())


SAT = _script("sat")
UVICORN = _script("uvicorn")


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on; all held at once while picking, so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    (port,) = free_ports(1)
    return port


def environment(settings: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its ``SAT_*`` variables, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAT_")}
    env.update(settings)
    return env


def authorization(secret: str | None) -> dict[str, str]:
    """The header that presents ``secret`` as a bearer token; none for no secret."""
    return {} if secret is None else {"Authorization": f"Bearer {secret}"}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    output_file: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.output_file.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # raised below, outside the handler, without the timeout's traceback
        raise LaunchFailed(f"`{self.name}` still running after {timeout}s:\n{self.output()}")


@dataclass
class Server:
    """One server process on a port of its own and an HTTP client for it."""

    process: Process
    port: int
    http: httpx.Client

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def post(
        self, name: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> httpx.Response:
        """Send the operation document ``name`` to ``/graphql``."""
        return self.http.post(
            "/graphql",
            json={"query": operation(name), "operationName": name, "variables": variables or {}},
            headers=authorization(bearer),
        )

    def graphql(
        self, name: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> dict[str, Any]:
        response = self.post(name, variables, bearer=bearer)
        assert response.status_code == 200, f"{self.name}: {name}: {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def data(
        self, name: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> Any:
        """The one field a document asks for; fails on any error."""
        body = self.graphql(name, variables, bearer=bearer)
        assert not body.get("errors"), f"{self.name}: {name}: {body['errors']}"
        (value,) = body["data"].values()
        return value


def ready(
    server: Server, timeout: float = STARTUP_TIMEOUT, *, path: str = "/healthz", status: int = 200
) -> None:
    """Wait until ``GET path`` answers ``status``; fail at once if the process exits.

    ``sat serve`` is ready when ``/healthz`` answers 200; another server (a bare app, a
    proxy in front of SAT) names a path and the answer that shows it works.
    """
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            raise LaunchFailed(f"{server.name} exited while starting:\n{server.process.output()}")
        try:
            if server.http.get(path, timeout=1.0).status_code == status:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() >= deadline:
            raise LaunchFailed(
                f"{server.name} not ready after {timeout}s:\n{server.process.output()}"
            )
        time.sleep(0.05)


class Launcher:
    """Starts processes with their output in files of ``directory``; stops every one, always.

    Use it as a context manager, or call ``stop_all`` yourself (the tests' fixture does).
    """

    def __init__(self, directory: Path, *, log_level: str = "WARNING") -> None:
        self.directory = directory
        self.log_level = log_level
        self.processes: list[Process] = []
        self.clients: list[httpx.Client] = []

    def __enter__(self) -> Launcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()

    def spawn_command(
        self,
        name: str,
        command: list[str],
        settings: dict[str, str],
        *,
        cwd: Path | None = None,
        stdin: str | None = None,
    ) -> Process:
        """Start ``command``; its output (stdout and stderr) goes to ``NAME.log``."""
        output_file = self._output_file(name)
        with output_file.open("wb") as output:
            popen = subprocess.Popen(  # noqa: S603  (our own scripts, fixed arguments)
                command,
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment(settings),
                cwd=cwd or self.directory,
                # Its own process group, so that workers die with it; not its own session,
                # which on Linux would put it in a scheduling group (autogroup) of its own.
                process_group=0,
            )
        if stdin is not None:
            assert popen.stdin is not None
            popen.stdin.write(stdin.encode())
            popen.stdin.close()
        process = Process(name, popen, output_file)
        self.processes.append(process)
        return process

    def spawn(
        self,
        name: str,
        args: list[str],
        database_url: str | None,
        env: dict[str, str] | None = None,
        *,
        stdin: str | None = None,
    ) -> Process:
        """Start ``sat ARGS`` on ``database_url`` (None: the default, ./sat.sqlite3)."""
        settings = {"SAT_LOG_LEVEL": self.log_level}
        if database_url is not None:
            settings["SAT_DATABASE_URL"] = database_url
        return self.spawn_command(name, [SAT, *args], {**settings, **(env or {})}, stdin=stdin)

    def run(
        self,
        name: str,
        args: list[str],
        database_url: str | None,
        env: dict[str, str] | None = None,
        *,
        stdin: str | None = None,
        timeout: float = STARTUP_TIMEOUT,
    ) -> tuple[int, str]:
        """Run a command to its end: its exit code and output."""
        process = self.spawn(name, args, database_url, env, stdin=stdin)
        return process.wait(timeout), process.output()

    def serve(
        self,
        name: str,
        database_url: str | None,
        env: dict[str, str] | None = None,
        *,
        workers: int = 1,
    ) -> Server:
        """Start ``sat serve`` on a free port; ``ready`` waits for it."""
        port = free_port()
        args = ["serve", "--port", str(port)]
        if workers != 1:
            args += ["--workers", str(workers)]
        return self.server(self.spawn(name, args, database_url, env), port)

    def start(
        self,
        name: str,
        database_url: str | None,
        env: dict[str, str] | None = None,
        *,
        workers: int = 1,
    ) -> Server:
        """Start ``sat serve`` and wait until it answers."""
        server = self.serve(name, database_url, env, workers=workers)
        ready(server)
        return server

    def server(self, process: Process, port: int) -> Server:
        """A server for a process that listens on ``port``, with a client closed at the end."""
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT)
        self.clients.append(client)
        return Server(process, port, client)

    def stop_all(self) -> None:
        for client in self.clients:
            client.close()
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            try:
                process.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(STOP_TIMEOUT)

    def report(self) -> None:
        """Print every process's output: what a failed test shows."""
        for process in self.processes:
            print(f"----- output of `{process.name}` (exit {process.popen.returncode}) -----")
            print(process.output())

    def _output_file(self, name: str) -> Path:
        path = self.directory / f"{name}.log"
        number = 1
        while path.exists():  # a second process of the same name in the same directory
            number += 1
            path = self.directory / f"{name}-{number}.log"
        return path


@contextmanager
def serving(directory: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """Run `sat serve` in ``directory`` at INFO; yield its base URL and its output file."""
    with Launcher(directory, log_level="INFO") as launcher:
        server = launcher.start("serve", None, env)
        yield server.url, server.process.output_file


def create_admin(
    directory: Path,
    *,
    password: str,
    username: str = "alice",
    database_url: str | None = None,
) -> None:
    """``sat admin create USERNAME --password-stdin`` in ``directory``, as an operator runs it."""
    with Launcher(directory) as launcher:
        code, output = launcher.run(
            f"admin-create-{username}",
            ["admin", "create", username, "--password-stdin"],
            database_url,
            stdin=password + "\n",
        )
    if code != 0:
        raise LaunchFailed(f"`sat admin create {username}` exited {code}:\n{output}")
