#!/usr/bin/env python3
"""``sat refresh``: trade the refresh key in a credentials file for a new pair, and keep it safe.

This file needs nothing but the Python standard library (3.8 or newer, on a
Unix-like system), so that a third party can copy it alone to the machine that
runs its automation and call it there:

    python3 refresh_client.py --url https://sat.example.com --credentials /etc/app/sat.json

The credentials file is a JSON object with ``accessToken`` and ``refreshKey``
(other keys are kept). On success it is replaced atomically with the new
``accessToken``, ``refreshKey`` and ``expiresAt`` (mode 0600, same owner), and
only the new expiry is printed. On any failure the file is left as it was, one
line on standard error says why, and the exit status says what to do:

    0   refreshed
    1   the server refused (a person must look: revoked token, wrong address, ...)
    2   bad arguments, a bad URL or a credentials file that cannot be used
    75  a temporary failure (network, timeout, server error): run again later

Two runs on one file never overlap: each holds an exclusive lock on ``FILE.lock``
beside it while it reads, asks and writes. A run killed after the server answered
but before the file was written leaves the old pair in the file; the next run
presents the old refresh key again, which the server's retry rule answers with a
fresh pair (the pair nobody received is void).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_TEMPORARY = 75  # EX_TEMPFAIL from sysexits.h: cron wrappers and systemd know it
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 3600
# An answer to this one mutation is well under a kilobyte; a larger one is not SAT's.
MAX_ANSWER_BYTES = 1 << 20
MAX_MESSAGE_CHARS = 200
MIN_SECRET_CHARS = 16

REFRESH_DOCUMENT = """\
mutation RefreshAccessToken($refreshKey: String!) {
  refreshAccessToken(refreshKey: $refreshKey) { accessToken refreshKey expiresAt }
}"""

# Codes after which running again later may succeed; every other refusal needs a person.
TEMPORARY_CODES = frozenset({"INTERNAL_SERVER_ERROR", "CONFLICT", "RATE_LIMITED"})


class RefreshFailed(Exception):
    """The run failed and the credentials file is unchanged; ``str()`` is the one-line reason."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Expired(Exception):
    """The run's time limit passed (raised from the SIGALRM handler)."""


class _Terminated(Exception):
    """SIGTERM or SIGHUP arrived: stop, but let cleanups run."""


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = _parser(prog or Path(sys.argv[0]).name)
    args = parser.parse_args(argv)
    seen = _Secrets()
    previous = {
        number: signal.signal(number, _terminate) for number in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        if not args.url:
            raise RefreshFailed("no server URL: pass --url or set SAT_URL", EXIT_USAGE)
        if not 0 < args.timeout <= MAX_TIMEOUT_SECONDS:  # also refuses nan
            raise RefreshFailed(
                f"--timeout must be a positive number of seconds, at most {MAX_TIMEOUT_SECONDS}",
                EXIT_USAGE,
            )
        expiry = refresh(
            url=args.url,
            credentials=Path(args.credentials),
            timeout=args.timeout,
            seen=seen,
        )
    except RefreshFailed as error:
        _fail(parser.prog, seen.redact(str(error)))
        return error.exit_code
    except _Expired:
        _fail(parser.prog, f"did not finish within {args.timeout:g} s")
        return EXIT_TEMPORARY
    except (KeyboardInterrupt, _Terminated):
        _fail(parser.prog, "interrupted")
        return EXIT_TEMPORARY
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(expiry)
    return 0


def refresh(*, url: str, credentials: Path, timeout: float, seen: _Secrets) -> str:
    """Rotate the pair in ``credentials`` through the server at ``url``; return the new expiry."""
    endpoint = graphql_endpoint(url)
    # Replace the file a symbolic link points to, in its own directory, not the link.
    path = Path(os.path.realpath(credentials))
    with _time_limit(timeout) as limit:
        # A file that cannot be used is refused before a lock file is made beside it.
        _read_credentials(path)
        with _exclusive_lock(path):
            # Read again under the lock: a run that held it may have just replaced the file.
            stored = _read_credentials(path)
            seen.add(stored["accessToken"], stored["refreshKey"])
            pair = _exchange(endpoint, stored["refreshKey"], timeout=timeout)
            seen.add(pair["accessToken"], pair["refreshKey"])
            # Writing is local and short: once the server has answered, finish the job.
            limit.cancel()
            _replace(path, {**stored, **pair})
    return pair["expiresAt"]


def graphql_endpoint(url: str) -> str:
    """The GraphQL endpoint of a server's base URL (``/graphql`` appended unless already there)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise RefreshFailed(f"bad URL {url!r}", EXIT_USAGE) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefreshFailed(
            f"bad URL {url!r}: give the server's http:// or https:// address", EXIT_USAGE
        )
    if parts.username is not None or parts.query or parts.fragment:
        raise RefreshFailed(
            f"bad URL {url!r}: no user, query or fragment, just the server's address",
            EXIT_USAGE,
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


# --- the credentials file -----------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold ``PATH.lock`` so that a second run waits (up to its time limit) instead of racing.

    Two runs presenting the same refresh key at once would each get a pair from
    the server (the later as a retry), and whichever wrote last could leave the
    void one in the file. The lock file stays: removing it would let a waiting
    run lock a file that is no longer the one others see.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise RefreshFailed(
            f"cannot open the lock file {lock_path}: {_reason(error)}", _file_exit_code(error)
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except _Expired:
            raise RefreshFailed(
                f"another run holds {lock_path} and did not finish in time", EXIT_TEMPORARY
            ) from None
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _read_credentials(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RefreshFailed(
            f"cannot read {path}: {_reason(error)}", _file_exit_code(error)
        ) from None
    try:
        stored = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RefreshFailed(f"{path} is not UTF-8 text", EXIT_USAGE) from None
    except json.JSONDecodeError as error:
        # The message names the position only, never the text: the file holds secrets.
        raise RefreshFailed(
            f"{path} is not JSON ({error.msg} at line {error.lineno} column {error.colno})",
            EXIT_USAGE,
        ) from None
    if not isinstance(stored, dict):
        raise RefreshFailed(
            f"{path} must hold a JSON object with accessToken and refreshKey", EXIT_USAGE
        )
    for key in ("accessToken", "refreshKey"):
        if not isinstance(stored.get(key), str) or not stored[key]:
            raise RefreshFailed(f"{path} has no {key} (a non-empty string)", EXIT_USAGE)
    return stored


def _replace(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` to ``path`` atomically: the old file or the new, never half of one."""
    directory = path.parent
    # A fixed name is safe under the lock, and a file left by a killed run is reused.
    temporary = directory / f".{path.name}.tmp"
    data = (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        owner = os.stat(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(temporary, flags, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                os.fchmod(file.fileno(), 0o600)  # whatever the umask and the old file's mode
                if (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
                    # Run by root for a service account: the account must still read it.
                    os.fchown(file.fileno(), owner.st_uid, owner.st_gid)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise RefreshFailed(
            f"the server issued new credentials but {path} could not be written "
            f"({_reason(error)}); it is unchanged, and the next run retries with its refresh key",
            EXIT_TEMPORARY,
        ) from None
    try:
        directory_descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(directory_descriptor)  # make the rename itself survive a power cut
        finally:
            os.close(directory_descriptor)
    except OSError as error:
        raise RefreshFailed(
            f"{path} holds the new credentials, but its directory could not be synced "
            f"({_reason(error)})",
            EXIT_TEMPORARY,
        ) from None


# --- the server ---------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A refresh key goes to the address given and nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _exchange(endpoint: str, refresh_key: str, *, timeout: float) -> dict[str, str]:
    """POST the refresh mutation; return the new accessToken, refreshKey and expiresAt."""
    body = json.dumps(
        {
            "query": REFRESH_DOCUMENT,
            "operationName": "RefreshAccessToken",
            "variables": {"refreshKey": refresh_key},
        }
    ).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  (graphql_endpoint allows http(s) only)
        endpoint,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "sat-refresh/1",
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        try:
            status, raw = error.code, error.read(MAX_ANSWER_BYTES)
        finally:
            error.close()
        if 300 <= status < 400:
            raise RefreshFailed(
                f"{endpoint} redirects (HTTP {status}) to {error.headers.get('Location')}: "
                "give --url the server's final address",
                EXIT_USAGE,
            ) from None
    # socket.timeout is TimeoutError only from Python 3.10 on; this file runs on 3.8.
    except (_Expired, socket.timeout, TimeoutError):  # noqa: UP041
        raise _timed_out(endpoint, timeout) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (socket.timeout, TimeoutError)):
            raise _timed_out(endpoint, timeout) from None
        raise RefreshFailed(
            f"cannot reach {endpoint}: {_reason(error.reason)}", EXIT_TEMPORARY
        ) from None
    except (OSError, http.client.HTTPException) as error:
        raise RefreshFailed(
            f"the connection to {endpoint} failed: {_reason(error)}", EXIT_TEMPORARY
        ) from None
    return _issued_pair(endpoint, status, raw)


def _issued_pair(endpoint: str, status: int, raw: bytes) -> dict[str, str]:
    temporary = EXIT_TEMPORARY if status >= 500 else EXIT_REFUSED
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise RefreshFailed(
            f"{endpoint} answered HTTP {status} without a GraphQL answer", temporary
        ) from None
    if not isinstance(answer, dict):
        raise RefreshFailed(f"{endpoint} answered HTTP {status} with no GraphQL answer", temporary)
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        extensions = first.get("extensions")
        code = str(extensions.get("code")) if isinstance(extensions, dict) else "NO_CODE"
        message = _one_line(str(first.get("message", "")))
        exit_code = EXIT_TEMPORARY if code in TEMPORARY_CODES else EXIT_REFUSED
        raise RefreshFailed(f"the server refused: {code}: {message}", exit_code)
    data = answer.get("data")
    issued = data.get("refreshAccessToken") if isinstance(data, dict) else None
    if not isinstance(issued, dict) or not all(
        isinstance(issued.get(key), str) and issued[key]
        for key in ("accessToken", "refreshKey", "expiresAt")
    ):
        raise RefreshFailed(f"{endpoint} answered HTTP {status} without new credentials", temporary)
    try:
        # Python before 3.11 does not read a trailing "Z".
        expiry = datetime.fromisoformat(issued["expiresAt"].replace("Z", "+00:00"))
    except ValueError:
        raise RefreshFailed(
            f"{endpoint} answered an expiry that is not ISO 8601", temporary
        ) from None
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=timezone.utc)  # noqa: UP017  (datetime.UTC is 3.11+)
    return {
        "accessToken": issued["accessToken"],
        "refreshKey": issued["refreshKey"],
        "expiresAt": expiry.astimezone(timezone.utc).isoformat(),  # noqa: UP017
    }


def _timed_out(endpoint: str, timeout: float) -> RefreshFailed:
    return RefreshFailed(f"no answer from {endpoint} within {timeout:g} s", EXIT_TEMPORARY)


# --- the run ------------------------------------------------------------------------------------


class _Secrets:
    """The secrets this run has seen, kept out of every message it prints."""

    def __init__(self) -> None:
        self._known: list[str] = []

    def add(self, *secrets: str) -> None:
        # SAT's secrets are 50 characters or more; a short string in a broken file is not one,
        # and replacing it everywhere would only garble the message.
        self._known.extend(secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS)

    def redact(self, message: str) -> str:
        for secret in self._known:
            message = message.replace(secret, "[secret]")
        return message


class _TimeLimit:
    def cancel(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[_TimeLimit]:
    """Bound the whole run (waiting for the lock, connecting, reading), not each socket call."""

    def expire(signum: int, frame: FrameType | None) -> NoReturn:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    limit = _TimeLimit()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield limit
    finally:
        limit.cancel()
        signal.signal(signal.SIGALRM, previous)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise _Terminated


def _reason(error: object) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return _one_line(str(error)) or type(error).__name__


def _file_exit_code(error: OSError) -> int:
    return EXIT_USAGE if isinstance(error, (FileNotFoundError, PermissionError)) else EXIT_TEMPORARY


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _fail(prog: str, message: str) -> None:
    print(f"{prog}: {_one_line(message)}", file=sys.stderr)


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors too are one line on standard error (``--help`` still explains)."""

    def error(self, message: str) -> NoReturn:
        _fail(self.prog, f"{message} (see --help)")
        raise SystemExit(EXIT_USAGE)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=prog,
        description=(
            "Trade the refresh key in a credentials file for a new access token and refresh key, "
            "replace the file atomically, and print the new expiry."
        ),
        epilog=(
            f"Implemented by {Path(__file__).resolve()}, which needs only the Python standard "
            "library: copy that one file to another machine and run it there as "
            "`python3 refresh_client.py --url URL --credentials FILE`. Exit status: 0 refreshed, "
            "1 refused by the server, 2 bad arguments or credentials file, "
            "75 temporary failure (run again later)."
        ),
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("SAT_URL"),
        help="the SAT server's base URL, e.g. https://sat.example.com (default: $SAT_URL)",
    )
    parser.add_argument(
        "--credentials",
        required=True,
        metavar="FILE",
        help="JSON file with accessToken and refreshKey; replaced on success (mode 0600)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"longest time the run may take, waiting for the lock included "
        f"(default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
