"""Configuration from ``SAT_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from server.route_map import RouteMap, RouteMapError
from tokens.errors import InvalidInput
from tokens.ip_ranges import IpNetwork, TrustedProxies

DEFAULT_DATABASE_URL = "sqlite://sat.sqlite3"
DEFAULT_METRICS_ALLOW = "127.0.0.0/8, ::1"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    session_lifetime: timedelta = timedelta(hours=8)
    graphiql: bool = True
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies.none)
    last_used_interval: timedelta = timedelta(seconds=60)
    auto_migrate: bool = True
    log_level: str = "INFO"
    access_log: bool = True
    cache_entries: int = 50_000
    cache_seconds: float = 5.0
    routes: RouteMap = field(default_factory=RouteMap.empty)
    metrics_allow: tuple[IpNetwork, ...] = field(
        default_factory=lambda: _networks("SAT_METRICS_ALLOW", DEFAULT_METRICS_ALLOW)
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings; a bad value fails with the variable's name."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("SAT_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            session_lifetime=timedelta(
                hours=_number(env, "SAT_SESSION_HOURS", default=8, low=0.01, high=24 * 30)
            ),
            graphiql=_flag(env, "SAT_GRAPHIQL", default=True),
            trusted_proxies=_trusted_proxies(env),
            last_used_interval=timedelta(
                seconds=_number(env, "SAT_LAST_USED_INTERVAL_SECONDS", default=60, low=0, high=3600)
            ),
            auto_migrate=_flag(env, "SAT_AUTO_MIGRATE", default=True),
            log_level=_log_level(env),
            access_log=_flag(env, "SAT_ACCESS_LOG", default=True),
            cache_entries=int(
                _number(env, "SAT_CACHE_ENTRIES", default=50_000, low=0, high=10_000_000)
            ),
            cache_seconds=_number(env, "SAT_CACHE_SECONDS", default=5, low=0, high=60),
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
    except InvalidInput as error:
        raise SettingsError(f"SAT_TRUSTED_PROXIES: {error.message}") from None


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
    """A comma-separated list of addresses or CIDRs; IPv4-mapped IPv6 is taken as IPv4."""
    networks: list[IpNetwork] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"{name} has an invalid entry {item[:100]!r}") from None
        networks.append(network)
    return tuple(networks)
