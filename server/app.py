"""The Starlette application: ``POST /graphql`` (GraphiQL on ``GET``), ``GET /healthz``,
``POST /oauth/introspect``, ``/auth`` for reverse proxies and ``GET /metrics``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from tortoise import Tortoise, connections
from tortoise.contrib.starlette import RegisterTortoise

from schema import schema
from schema.context import Context
from server import callers, logs
from server.database import is_postgres, migration_state, prepare, tortoise_config
from server.forward_auth import ForwardAuthEndpoint
from server.graphql_endpoint import GraphQLEndpoint
from server.introspection import IntrospectionEndpoint
from server.listener import ChangeListener, use_caches
from server.metrics import MetricsEndpoint
from server.middleware import RequestContext
from server.settings import Settings
from tokens import admins, catalog, service_clients, validation

log = logging.getLogger("sat.server")


class StartupRefused(RuntimeError):
    """The server must not start against this database (the message says why)."""


class SatGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context: the caller, resolved once, and the client IP."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.settings = settings

    async def get_context(self, request: Request, response: Any = None) -> Context:  # type: ignore[override]
        client = request.client
        return Context(
            caller=await callers.resolve(request.headers.get("authorization")),
            client_ip=self.settings.trusted_proxies.client_address(
                client.host if client else None, request.headers.getlist("x-forwarded-for")
            ),
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            session_lifetime=self.settings.session_lifetime,
            last_used_interval=self.settings.last_used_interval,
        )


async def healthz(request: Request) -> Response:
    """200 when the database answers, 503 when it does not."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure to reach the database is "unhealthy", never a crash
        log.warning("health check: database unreachable", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    if not logging.root.handlers:
        # A worker process of `sat serve --workers N` starts here, not in `sat`'s main.
        logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        validation.configure_cache(
            max_entries=settings.cache_entries, max_age_seconds=settings.cache_seconds
        )
        service_clients.configure_cache(max_age_seconds=settings.cache_seconds)
        catalog.forget_targets()
        if settings.auto_migrate:
            await prepare(settings.database_url)
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            # After automatic migration only unknown (newer) migrations can remain.
            state = await migration_state()
            if not state.current:
                raise StartupRefused(f"SAT will not start: {state.problem()}")
            if not await admins.has_admins():
                log.warning("No admin exists yet. Create one with: sat admin create USERNAME")
            # On PostgreSQL other instances may change tokens: hear them, or cache nothing.
            # SQLite serves this process alone: its own evictions are all there is.
            listener = None
            if is_postgres(settings.database_url):
                listener = ChangeListener(settings.database_url)
                await listener.start()
            else:
                use_caches(True)
            try:
                yield
            finally:
                if listener is not None:
                    await listener.stop()
        await Tortoise.close_connections()

    graphql = GraphQLEndpoint(SatGraphQL(settings), settings)
    forward_auth = ForwardAuthEndpoint(settings)
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", graphql),
            Route("/oauth/introspect", IntrospectionEndpoint(settings)),
            Route("/auth", forward_auth),
            Route("/auth/{rest:path}", forward_auth),
            Route("/metrics", MetricsEndpoint(settings.metrics_allow).answer, methods=["GET"]),
        ],
        middleware=[Middleware(RequestContext, access_log=settings.access_log)],
        lifespan=lifespan,
    )
