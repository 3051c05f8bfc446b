"""Configuration from ``SAT_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from schema.limits import (
    DEFAULT_MAX_ALIASES,
    DEFAULT_MAX_QUERY_DEPTH,
    DEFAULT_MAX_QUERY_TOKENS,
    DocumentLimits,
)
from server import admission
from server.client_ip import TrustedProxies, parse_networks
from server.route_map import RouteMap, RouteMapError
from tokens import hashing, rate_limits
from tokens.admins import DEFAULT_SESSION_LIFETIME
from tokens.caches import DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_SECONDS
from tokens.ip_ranges import IpNetwork
from tokens.validation import DEFAULT_LAST_USED_INTERVAL

DEFAULT_DATABASE_URL = "sqlite://sat.sqlite3"
DEFAULT_METRICS_ALLOW = "127.0.0.0/8, ::1"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    session_lifetime: timedelta = DEFAULT_SESSION_LIFETIME
    graphiql: bool = True
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies.none)
    last_used_interval: timedelta = DEFAULT_LAST_USED_INTERVAL
    auto_migrate: bool = True
    log_level: str = "INFO"
    access_log: bool = True
    cache_entries: int = DEFAULT_CACHE_ENTRIES
    cache_seconds: float = DEFAULT_CACHE_SECONDS
    production: bool = False
    introspection: bool = True
    document_limits: DocumentLimits = field(default_factory=DocumentLimits)
    rate_limits: rate_limits.Limits = field(default_factory=rate_limits.Limits)
    password_hash_workers: int = hashing.DEFAULT_WORKERS
    anonymous_concurrency: int = admission.DEFAULT_CONCURRENCY
    anonymous_queue: int = admission.DEFAULT_QUEUE
    routes: RouteMap = field(default_factory=RouteMap.empty)
    metrics_allow: tuple[IpNetwork, ...] = field(
        default_factory=lambda: _networks("SAT_METRICS_ALLOW", DEFAULT_METRICS_ALLOW)
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings; a bad value fails with the variable's name."""
        env = os.environ if environ is None else environ
        production = _environment(env) == "production"
        return cls(
            database_url=env.get("SAT_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            session_lifetime=timedelta(
                hours=_number(
                    env,
                    "SAT_SESSION_HOURS",
                    default=DEFAULT_SESSION_LIFETIME / timedelta(hours=1),
                    low=0.01,
                    high=24 * 30,
                )
            ),
            graphiql=_flag(env, "SAT_GRAPHIQL", default=not production),
            trusted_proxies=_trusted_proxies(env),
            last_used_interval=timedelta(
                seconds=_number(
                    env,
                    "SAT_LAST_USED_INTERVAL_SECONDS",
                    default=DEFAULT_LAST_USED_INTERVAL.total_seconds(),
                    low=0,
                    high=3600,
                )
            ),
            auto_migrate=_flag(env, "SAT_AUTO_MIGRATE", default=True),
            log_level=_log_level(env),
            access_log=_flag(env, "SAT_ACCESS_LOG", default=True),
            cache_entries=int(
                _number(
                    env, "SAT_CACHE_ENTRIES", default=DEFAULT_CACHE_ENTRIES, low=0, high=10_000_000
                )
            ),
            cache_seconds=_number(
                env, "SAT_CACHE_SECONDS", default=DEFAULT_CACHE_SECONDS, low=0, high=60
            ),
            production=production,
            introspection=_flag(env, "SAT_INTROSPECTION", default=not production),
            document_limits=DocumentLimits(
                max_tokens=_count(env, "SAT_MAX_QUERY_TOKENS", default=DEFAULT_MAX_QUERY_TOKENS),
                max_aliases=_count(env, "SAT_MAX_ALIASES", default=DEFAULT_MAX_ALIASES),
                max_depth=_count(env, "SAT_MAX_QUERY_DEPTH", default=DEFAULT_MAX_QUERY_DEPTH),
            ),
            rate_limits=rate_limits.Limits(
                login_per_user_and_address=_count(
                    env, "SAT_LOGIN_LIMIT", default=rate_limits.DEFAULT_LOGIN_LIMIT
                ),
                login_per_address=_count(
                    env, "SAT_LOGIN_IP_LIMIT", default=rate_limits.DEFAULT_LOGIN_IP_LIMIT
                ),
                login_per_user=_count(
                    env, "SAT_LOGIN_USER_LIMIT", default=rate_limits.DEFAULT_LOGIN_USER_LIMIT
                ),
                refresh_per_address=_count(
                    env, "SAT_REFRESH_IP_LIMIT", default=rate_limits.DEFAULT_REFRESH_IP_LIMIT
                ),
                window_seconds=_count(
                    env, "SAT_LOGIN_WINDOW_SECONDS", default=rate_limits.DEFAULT_WINDOW_SECONDS
                ),
            ),
            password_hash_workers=int(
                _number(
                    env,
                    "SAT_PASSWORD_HASH_WORKERS",
                    default=hashing.DEFAULT_WORKERS,
                    low=1,
                    high=64,
                )
            ),
            anonymous_concurrency=_count(
                env, "SAT_ANONYMOUS_CONCURRENCY", default=admission.DEFAULT_CONCURRENCY
            ),
            anonymous_queue=_count(env, "SAT_ANONYMOUS_QUEUE", default=admission.DEFAULT_QUEUE),
            routes=_routes(env),
            metrics_allow=_networks(
                "SAT_METRICS_ALLOW", env.get("SAT_METRICS_ALLOW", DEFAULT_METRICS_ALLOW)
            ),
        )


class SettingsError(ValueError):
    """A ``SAT_*`` variable holds a value that cannot be used."""


def _number(env: Mapping[str, str], name: str, *, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}")
    return value


def _count(env: Mapping[str, str], name: str, *, default: int) -> int:
    """A limit or a count: a whole number from 1 to 100,000."""
    value = _number(env, name, default=default, low=1, high=100_000)
    if value != int(value):
        raise SettingsError(f"{name} must be a whole number")
    return int(value)


def _environment(env: Mapping[str, str]) -> str:
    """``SAT_ENV``: ``production`` turns off what only developers need (introspection, GraphiQL)."""
    name = env.get("SAT_ENV", "").strip().lower() or "development"
    if name not in {"development", "production"}:
        raise SettingsError(f"SAT_ENV must be development or production, not {name[:40]!r}")
    return name


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _trusted_proxies(env: Mapping[str, str]) -> TrustedProxies:
    try:
        return TrustedProxies.parse(env.get("SAT_TRUSTED_PROXIES", ""))
    except ValueError as error:
        raise SettingsError(f"SAT_TRUSTED_PROXIES {error}") from None


def _log_level(env: Mapping[str, str]) -> str:
    level = env.get("SAT_LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(
            f"SAT_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level.lower()!r}"
        )
    return level


def _routes(env: Mapping[str, str]) -> RouteMap:
    """The route map for ``/auth``; a malformed file stops the server at start, naming the line."""
    path = env.get("SAT_ROUTES_FILE", "").strip()
    if not path:
        return RouteMap.empty()
    try:
        return RouteMap.from_file(Path(path))
    except RouteMapError as error:
        raise SettingsError(f"SAT_ROUTES_FILE: {error}") from None


def _networks(name: str, text: str) -> tuple[IpNetwork, ...]:
    try:
        return parse_networks(text)
    except ValueError as error:
        raise SettingsError(f"{name} {error}") from None
