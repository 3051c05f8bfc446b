"""The ``sat`` command: serve, migrate, admin create, catalog import, export-schema, refresh."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tortoise import Tortoise

from server import logs, refresh_client
from server.database import (
    DatabaseNotReady,
    bring_to_this_version,
    is_postgres,
    tortoise_config,
)
from server.settings import Settings, SettingsError
from tokens import admins, catalog, catalog_file
from tokens.errors import DomainError

T = TypeVar("T")

CLI_ACTOR = "cli"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["refresh"]:
        # The third party's command: it reads no server settings and no database, and the
        # file that implements it runs alone, so it parses its own arguments.
        return refresh_client.main(arguments[1:], prog="sat refresh")
    parser = _parser()
    args = parser.parse_args(arguments)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"sat: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        result: int = args.run(args, settings)
    except (DomainError, catalog_file.CatalogError, DatabaseNotReady) as error:
        print(f"sat: {error}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sat", description="Shared Access Tokens")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than one needs PostgreSQL)"
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(run=_migrate)

    admin = commands.add_parser("admin", help="manage admins").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = admin.add_parser("create", help="create an admin")
    create.add_argument("username")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(run=_admin_create)

    catalog_parser = commands.add_parser("catalog", help="manage the area/folder tree")
    catalog_actions = catalog_parser.add_subparsers(required=True, metavar="ACTION")
    import_parser = catalog_actions.add_parser("import", help="add or rename areas and folders")
    import_parser.add_argument("file", type=Path)
    import_parser.set_defaults(run=_catalog_import)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(run=_export_schema)

    # Listed for `sat --help` only: main() hands `sat refresh ...` to refresh_client first.
    commands.add_parser(
        "refresh",
        add_help=False,
        help="rotate a third party's credentials file (sat refresh --help)",
    )
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers < 1:
        print("sat: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not is_postgres(settings.database_url):
        print(
            "sat: --workers above 1 needs PostgreSQL (SAT_DATABASE_URL=postgres://...): "
            "SQLite serves one process",
            file=sys.stderr,
        )
        return 2
    base = f"http://{args.host}:{args.port}"
    asyncio.run(_with_database(settings, functools.partial(_announce, base)))
    print(
        f"SAT serving the admin console on {base}/ and GraphQL on {base}/graphql",
        file=sys.stderr,
    )
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # The client address is the peer's; X-Forwarded-For is read by SAT itself,
        # and only from SAT_TRUSTED_PROXIES. uvicorn must not rewrite it.
        proxy_headers=False,
        forwarded_allow_ips="",
        # SAT writes its own access log, without query strings (they may hold secrets).
        access_log=False,
        server_header=False,
        log_level=settings.log_level.lower(),
    )
    return 0


async def _announce(base: str) -> None:
    if not await admins.has_admins():
        print(
            f"No admin exists yet. Create one, then log in to the admin console at {base}/\n"
            "  sat admin create admin",
            file=sys.stderr,
        )


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(bring_to_this_version(settings.database_url, migrate=True))
    print("migrations and the bundled catalog applied", file=sys.stderr)
    return 0


def _admin_create(args: argparse.Namespace, settings: Settings) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("sat: the passwords differ", file=sys.stderr)
            return 1

    async def create() -> str:
        return await admins.create_admin(username=args.username, password=password)

    username = asyncio.run(_with_database(settings, create))
    print(
        f"admin {username!r} created; log in to the admin console (`sat serve`, then "
        "http://127.0.0.1:8000/ by default) or with the `login` mutation",
        file=sys.stderr,
    )
    return 0


def _catalog_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        parsed = catalog_file.parse_file(args.file)
    except OSError as error:
        print(f"sat: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1

    async def apply() -> catalog.ImportSummary:
        return await catalog.apply(parsed, actor=CLI_ACTOR, source=str(args.file))

    summary = asyncio.run(_with_database(settings, apply))
    print(
        f"catalog imported: {summary.areas_added} areas added, {summary.areas_renamed} renamed; "
        f"{summary.folders_added} folders added, {summary.folders_changed} changed",
        file=sys.stderr,
    )
    return 0


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


async def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Bring the database to this version (``bring_to_this_version``), then run ``work``."""
    await bring_to_this_version(settings.database_url, migrate=settings.auto_migrate)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()
