"""Settings from ``SAT_*`` variables: defaults, parsing, and refusals that name the variable."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import pytest

from server.settings import Settings, SettingsError


def test_defaults_need_no_variable() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == "sqlite://sat.sqlite3"  # a file in the working directory
    assert settings.session_lifetime == timedelta(hours=8)
    assert settings.graphiql is True
    assert settings.trusted_proxies.networks == ()
    assert settings.last_used_interval == timedelta(seconds=60)
    assert settings.auto_migrate is True
    assert settings.log_level == "INFO"
    assert settings.access_log is True
    assert settings.cache_entries == 50_000
    assert settings.cache_seconds == 5


def test_variables_without_the_prefix_are_ignored() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgres://other/db", "SESSION_HOURS": "1", "GRAPHIQL": "false"}
    )

    assert settings == Settings.from_env({})


@pytest.mark.parametrize(
    ("environ", "field", "expected"),
    [
        pytest.param(
            {"SAT_DATABASE_URL": "postgres://sat:pw@db.internal:5432/sat"},
            "database_url",
            "postgres://sat:pw@db.internal:5432/sat",
            id="database-postgres",
        ),
        pytest.param(
            {"SAT_DATABASE_URL": "  sqlite:///var/lib/sat/sat.sqlite3\n"},
            "database_url",
            "sqlite:///var/lib/sat/sat.sqlite3",
            id="database-trimmed",
        ),
        pytest.param(
            {"SAT_DATABASE_URL": "  "}, "database_url", "sqlite://sat.sqlite3", id="database-blank"
        ),
        pytest.param(
            {"SAT_SESSION_HOURS": "2"}, "session_lifetime", timedelta(hours=2), id="hours"
        ),
        pytest.param(
            {"SAT_SESSION_HOURS": "0.5"},
            "session_lifetime",
            timedelta(minutes=30),
            id="hours-fraction",
        ),
        pytest.param(
            {"SAT_SESSION_HOURS": "720"},
            "session_lifetime",
            timedelta(days=30),
            id="hours-maximum",
        ),
        pytest.param(
            {"SAT_SESSION_HOURS": ""}, "session_lifetime", timedelta(hours=8), id="hours-blank"
        ),
        pytest.param(
            {"SAT_LAST_USED_INTERVAL_SECONDS": "0"},
            "last_used_interval",
            timedelta(0),
            id="interval-zero",
        ),
        pytest.param(
            {"SAT_LAST_USED_INTERVAL_SECONDS": "300"},
            "last_used_interval",
            timedelta(minutes=5),
            id="interval",
        ),
        pytest.param({"SAT_CACHE_ENTRIES": "1000"}, "cache_entries", 1000, id="cache-entries"),
        pytest.param({"SAT_CACHE_ENTRIES": "0"}, "cache_entries", 0, id="cache-entries-off"),
        pytest.param({"SAT_CACHE_SECONDS": "2.5"}, "cache_seconds", 2.5, id="cache-seconds"),
        pytest.param({"SAT_CACHE_SECONDS": "0"}, "cache_seconds", 0, id="cache-seconds-off"),
        pytest.param({"SAT_LOG_LEVEL": "debug"}, "log_level", "DEBUG", id="log-level"),
        pytest.param({"SAT_LOG_LEVEL": " warning "}, "log_level", "WARNING", id="log-level-trim"),
        pytest.param({}, "anonymous_concurrency", 4, id="anonymous-concurrency-default"),
        pytest.param(
            {"SAT_ANONYMOUS_CONCURRENCY": "2"},
            "anonymous_concurrency",
            2,
            id="anonymous-concurrency",
        ),
        pytest.param({}, "anonymous_queue", 256, id="anonymous-queue-default"),
        pytest.param({"SAT_ANONYMOUS_QUEUE": "10"}, "anonymous_queue", 10, id="anonymous-queue"),
    ],
)
def test_each_variable_is_read(environ: dict[str, str], field: str, expected: Any) -> None:
    assert getattr(Settings.from_env(environ), field) == expected


FLAGS = {
    "SAT_GRAPHIQL": "graphiql",
    "SAT_AUTO_MIGRATE": "auto_migrate",
    "SAT_ACCESS_LOG": "access_log",
}


@pytest.mark.parametrize("variable", sorted(FLAGS))
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        (" off ", False),
        ("", True),
    ],
)
def test_flags_read_the_usual_spellings(variable: str, raw: str, expected: bool) -> None:
    settings = Settings.from_env({variable: raw})

    assert getattr(settings, FLAGS[variable]) is expected


def test_trusted_proxies_read_addresses_and_networks() -> None:
    proxies = Settings.from_env(
        {"SAT_TRUSTED_PROXIES": " 10.0.0.1 , 192.168.0.0/16,, 2001:db8::/32 "}
    ).trusted_proxies

    for trusted in ("10.0.0.1", "192.168.4.20", "2001:db8::7", "::ffff:10.0.0.1"):
        assert proxies.trusts(ipaddress.ip_address(trusted)), trusted
    for untrusted in ("10.0.0.2", "192.169.0.1", "2001:db9::1", "127.0.0.1"):
        assert not proxies.trusts(ipaddress.ip_address(untrusted)), untrusted


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("SAT_SESSION_HOURS", "abc"),
        ("SAT_SESSION_HOURS", "8h"),
        ("SAT_SESSION_HOURS", "0"),
        ("SAT_SESSION_HOURS", "-1"),
        ("SAT_SESSION_HOURS", "721"),
        ("SAT_SESSION_HOURS", "nan"),
        ("SAT_SESSION_HOURS", "inf"),
        ("SAT_LAST_USED_INTERVAL_SECONDS", "soon"),
        ("SAT_LAST_USED_INTERVAL_SECONDS", "-5"),
        ("SAT_LAST_USED_INTERVAL_SECONDS", "3601"),
        ("SAT_GRAPHIQL", "maybe"),
        ("SAT_GRAPHIQL", "2"),
        ("SAT_AUTO_MIGRATE", "sometimes"),
        ("SAT_ACCESS_LOG", "quiet"),
        ("SAT_CACHE_ENTRIES", "many"),
        ("SAT_CACHE_ENTRIES", "-1"),
        ("SAT_CACHE_ENTRIES", "10000001"),
        ("SAT_CACHE_SECONDS", "forever"),
        ("SAT_CACHE_SECONDS", "61"),
        ("SAT_TRUSTED_PROXIES", "proxy.internal"),
        ("SAT_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.300"),
        ("SAT_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("SAT_LOG_LEVEL", "verbose"),
        ("SAT_ANONYMOUS_CONCURRENCY", "0"),
        ("SAT_ANONYMOUS_CONCURRENCY", "few"),
        ("SAT_ANONYMOUS_QUEUE", "-1"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: raw})
