"""``GET /metrics``: Prometheus text format, to peers in ``SAT_METRICS_ALLOW`` only.

Counters that the hot path touches are bound to their labels once, here, so a
validation pays one dictionary lookup and two additions. What the domain keeps
itself (the validation cache's hits and misses, whether caches are on) is read
by a collector at scrape time, so ``tokens/`` needs no Prometheus.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from tokens import validation
from tokens.ip_ranges import IpNetwork, canonical
from tokens.validation import DenialReason, Validation

PATHS = ("graphql", "introspect", "auth")
RESULTS = ("valid", *(reason.value for reason in DenialReason))

registry = CollectorRegistry(auto_describe=True)

_validations = Counter(
    "sat_validations",
    "Token validations by result (valid or the DenialReason) and path.",
    ["result", "path"],
    registry=registry,
)
_latency = Histogram(
    "sat_validation_seconds",
    "Time to answer a validation (caller check excluded), by path.",
    ["path"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=registry,
)
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

# Every series exists from the start (a rate over a series that appears late is wrong),
# and the hot path finds its child without building a label tuple.
_counted = {
    (result, path): _validations.labels(result=result, path=path)
    for result in RESULTS
    for path in PATHS
}
_timed = {path: _latency.labels(path=path) for path in PATHS}
_failed = {path: _database_errors.labels(path=path) for path in PATHS}


def count_validation(result: Validation, *, path: str, seconds: float) -> None:
    """Count one answered validation on ``path`` (graphql, introspect or auth)."""
    label = "valid" if result.reason is None else result.reason.value
    _counted[label, path].inc()
    _timed[path].observe(seconds)


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


registry.register(DomainCollector())


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
