"""``GET /metrics``: Prometheus text format, to peers in ``SAT_METRICS_ALLOW`` only.

What the hot path counts is kept in plain integers and exported at scrape time
(see ``ValidationCollector``), so a validation pays three additions. What the domain keeps
itself (the validation cache's hits and misses, whether caches are on) is read
by a collector at scrape time, so ``tokens/`` needs no Prometheus.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import accumulate

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from server import listener
from tokens import rate_limits, refresh, validation
from tokens.ip_ranges import IpNetwork, canonical
from tokens.validation import DenialReason, Validation

PATHS = ("graphql", "introspect", "auth")
RESULTS = ("valid", *(reason.value for reason in DenialReason))

# Latency buckets in seconds: a cached validation takes a few hundred microseconds.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

registry = CollectorRegistry(auto_describe=True)

_database_errors = Counter(
    "sat_database_errors",
    "Validations that failed because storage did not answer, by path.",
    ["path"],
    registry=registry,
)
_auth_refusals = Counter(
    "sat_auth_refusals",
    "Requests to /auth and /oauth/introspect refused before any validation, by path and reason.",
    ["path", "reason"],
    registry=registry,
)
_failed = {path: _database_errors.labels(path=path) for path in PATHS}

# The hot path's counts are plain integers, exported by ``ValidationCollector``: a
# prometheus-client Histogram takes a lock per bucket (about 5 us an observation, a few
# percent of a cached validation), and everything here runs on one event loop per process.
# Every series exists from the start: a rate over a series that appears late is wrong.
_validations = {(result, path): 0 for result in RESULTS for path in PATHS}
_buckets = {path: [0] * (len(BUCKETS) + 1) for path in PATHS}  # the last one is +Inf
_seconds = dict.fromkeys(PATHS, 0.0)
_BOUNDS = [*(str(bound) for bound in BUCKETS), "+Inf"]


def count_validation(result: Validation, *, path: str, seconds: float) -> None:
    """Count one answered validation on ``path`` (graphql, introspect or auth)."""
    _validations["valid" if result.reason is None else result.reason.value, path] += 1
    _buckets[path][bisect_left(BUCKETS, seconds)] += 1
    _seconds[path] += seconds


class ValidationCollector(Collector):
    """``sat_validations_total`` and the latency histogram, from the counts above."""

    def collect(self) -> Iterator[Metric]:
        counted = CounterMetricFamily(
            "sat_validations",
            "Token validations by result (valid or the DenialReason) and path.",
            labels=["result", "path"],
        )
        for (result, path), count in _validations.items():
            counted.add_metric([result, path], count)
        yield counted
        latency = HistogramMetricFamily(
            "sat_validation_seconds",
            "Time to answer a validation (caller check excluded), by path.",
            labels=["path"],
        )
        for path, counts in _buckets.items():
            cumulative = list(accumulate(counts))
            latency.add_metric(
                [path],
                buckets=list(zip(_BOUNDS, cumulative, strict=True)),
                sum_value=_seconds[path],
            )
        yield latency


def count_database_error(*, path: str) -> None:
    _failed[path].inc()


def count_refusal(*, path: str, reason: str) -> None:
    """A request refused before validation (no caller, a malformed request, no route)."""
    _auth_refusals.labels(path=path, reason=reason).inc()


class DomainCollector(Collector):
    """What ``tokens.validation`` counts for itself, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        stats = validation.cache_stats()
        lookups = CounterMetricFamily(
            "sat_validation_cache_lookups",
            "Validation cache lookups by outcome (hit or miss).",
            labels=["outcome"],
        )
        lookups.add_metric(["hit"], stats.hits)
        lookups.add_metric(["miss"], stats.misses)
        yield lookups
        yield GaugeMetricFamily(
            "sat_validation_cache_entries", "Token states held by the validation cache.",
            value=stats.entries,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "sat_caches_enabled",
            "1 while caches are used: on PostgreSQL, while the change listener is connected.",
            value=1 if stats.enabled else 0,
        )


class OutcomeCollector(Collector):
    """Refreshes by outcome, rate-limit refusals and the change listener, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        refreshes = CounterMetricFamily(
            "sat_refreshes",
            "refreshAccessToken calls by outcome (rotated, retried, invalid_key, revoked, "
            "rolled, reused, ip_not_allowed, rate_limited).",
            labels=["outcome"],
        )
        for outcome in REFRESH_OUTCOMES:
            refreshes.add_metric([outcome], refresh.OUTCOMES[outcome])
        yield refreshes
        refused = CounterMetricFamily(
            "sat_rate_limited",
            "Login and refresh attempts refused by a rate limit, by the limit's scope.",
            labels=["scope"],
        )
        for scope in sorted({*RATE_LIMIT_SCOPES, *rate_limits.REFUSALS}):
            refused.add_metric([scope], rate_limits.REFUSALS[scope])
        yield refused
        yield GaugeMetricFamily(
            "sat_change_listener_connected",
            "1 while this process listens for other instances' changes (PostgreSQL); "
            "0 when it does not (SQLite, or the connection is lost).",
            value=1 if listener.LISTENING["connected"] else 0,
        )


REFRESH_OUTCOMES = (
    "rotated",
    "retried",
    "invalid_key",
    "revoked",
    "rolled",
    "reused",
    "ip_not_allowed",
    "rate_limited",
)
RATE_LIMIT_SCOPES = tuple(
    key.scope
    for key in (
        *rate_limits.login_keys(username="-", ip="-"),
        *rate_limits.refresh_keys(ip="-"),
    )
)

registry.register(ValidationCollector())
registry.register(DomainCollector())
registry.register(OutcomeCollector())


def allowed(peer: str | None, networks: Iterable[IpNetwork]) -> bool:
    if not peer:
        return False
    try:
        address = canonical(ipaddress.ip_address(peer))
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in networks)


class MetricsEndpoint:
    def __init__(self, allow: tuple[IpNetwork, ...]) -> None:
        self.allow = allow

    async def answer(self, request: Request) -> Response:
        if not allowed(request.client.host if request.client else None, self.allow):
            return Response("forbidden\n", status_code=403, media_type="text/plain")
        return Response(
            generate_latest(registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
        )
