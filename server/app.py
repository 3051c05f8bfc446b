"""The Starlette app: ``POST /graphql`` (GraphiQL on ``GET``), ``/healthz``, the console
``/``, ``POST /oauth/introspect``, ``/auth`` for reverse proxies and ``GET /metrics``."""

from __future__ import annotations

import functools
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from strawberry.asgi import GraphQL
from tortoise import Tortoise, connections
from tortoise.contrib.starlette import RegisterTortoise

from schema import build_schema
from schema.context import Context
from server import callers, console_routes, logs, validating
from server.database import (
    DatabaseNotReady,
    bring_to_this_version,
    is_postgres,
    tortoise_config,
)
from server.forward_auth import ForwardAuthEndpoint
from server.graphql_endpoint import GraphQLEndpoint
from server.introspection import IntrospectionEndpoint
from server.listener import ChangeListener
from server.metrics import MetricsEndpoint
from server.middleware import RequestContext
from server.session_cookie import SessionCookie
from server.settings import Settings
from tokens import admins, hashing, rate_limits
from tokens.caches import CACHES

log = logging.getLogger("sat.server")

GIL_SWITCH_SECONDS = 0.0005


class SatGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context: the caller, resolved once, and the client IP."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(limits=settings.document_limits, introspection=settings.introspection),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.settings = settings
        # Process-wide, as the validation cache's settings: every login of this process
        # (GraphQL, the console, the CLI) shares one pool and one set of limits.
        rate_limits.configure(settings.rate_limits)
        hashing.configure(workers=settings.password_hash_workers)

    def encode_json(self, data: object) -> bytes:
        """orjson, as the compiled validateToken path writes: both give the same bytes."""
        return orjson.dumps(data)

    async def get_context(self, request: Request, response: Any = None) -> Context:  # type: ignore[override]
        client = request.client
        caller = await callers.caller_of(request.scope)
        return Context(
            caller=caller,
            client_ip=self.settings.trusted_proxies.client_address(
                client.host if client else None, request.headers.getlist("x-forwarded-for")
            ),
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            session_lifetime=self.settings.session_lifetime,
            last_used_interval=self.settings.last_used_interval,
            session_cookie=SessionCookie(request, response) if response is not None else None,
            validate=validating.for_graphql(caller),
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
        CACHES.configure(max_entries=settings.cache_entries, max_age_seconds=settings.cache_seconds)
        try:
            await bring_to_this_version(settings.database_url, migrate=settings.auto_migrate)
        except DatabaseNotReady as refusal:
            raise DatabaseNotReady(f"SAT will not start: {refusal}") from None
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            if not await admins.has_admins():
                log.warning("No admin exists yet. Create one with: sat admin create USERNAME")
            if hashing.too_many_workers(settings.password_hash_workers):
                log.warning(
                    "SAT_PASSWORD_HASH_WORKERS=%d is not below the %d cores this process may "
                    "use: during a storm of failed logins, password hashing takes every core "
                    "and validations wait for one. Use fewer workers.",
                    settings.password_hash_workers,
                    hashing.usable_cores(),
                )
            # On PostgreSQL other instances may change tokens: hear them, or cache nothing.
            # SQLite serves this process alone: its own evictions are all there is.
            listener = None
            if is_postgres(settings.database_url):
                listener = ChangeListener(settings.database_url)
                await listener.start()
            else:
                CACHES.enable(True)
            # What start-up built (modules, the schema, the catalog) lives as long as the
            # process: frozen out of the collector's reach, a full collection no longer
            # walks it and pauses every connection for tens of ms (bench case 12, fairness).
            gc.collect()
            gc.freeze()
            # Threads beside the loop (password hashing, long documents, SQLite) hand the
            # GIL back to it after this long, not after Python's default 5 ms: every
            # await that touches a socket gives the GIL up, and each such wait would
            # otherwise add up to 5 ms to the request it serves (bench case 11).
            switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(GIL_SWITCH_SECONDS)
            try:
                yield
            finally:
                sys.setswitchinterval(switch_interval)
                gc.unfreeze()
                if listener is not None:
                    await listener.stop()
        await Tortoise.close_connections()

    graphql = GraphQLEndpoint(SatGraphQL(settings), settings)
    forward_auth = ForwardAuthEndpoint(settings)
    introspection = IntrospectionEndpoint(settings)
    return SatApp(
        # The validation transports first: the router tries each route in turn. RequestContext
        # calls them itself by the same paths (``direct``, ``under``), past the router.
        routes=[
            Route("/graphql", graphql),
            Route("/auth", forward_auth),
            Route("/oauth/introspect", introspection),
            Route("/auth/{rest:path}", forward_auth),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", MetricsEndpoint(settings.metrics_allow).answer, methods=["GET"]),
            *console_routes.routes(),
        ],
        context=functools.partial(
            RequestContext,
            access_log=settings.access_log,
            direct={
                "/graphql": graphql,
                "/auth": forward_auth,
                "/oauth/introspect": introspection,
            },
            under={"/auth/": forward_auth},
            headers_only={forward_auth},
        ),
        lifespan=lifespan,
    )


class SatApp(Starlette):
    """Starlette with ``RequestContext`` around its whole stack, Starlette's own error layer
    included: a 500 that layer writes gets a request id and an access line too, and the
    validation transports are called from ``RequestContext`` with no layer between it and
    uvicorn. They answer their own failures; anything that still escapes one of them is
    uvicorn's 500, as Starlette's layer would have written it, and keeps its access line."""

    def __init__(self, *, context: Callable[[ASGIApp], ASGIApp], **options: Any) -> None:
        super().__init__(**options)
        self.context = context

    def build_middleware_stack(self) -> ASGIApp:
        return self.context(super().build_middleware_stack())
