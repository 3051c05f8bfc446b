"""Settings for hostile traffic: document limits, SAT_ENV, introspection; log escaping."""

from __future__ import annotations

import logging

import pytest

from schema.limits import DocumentLimits
from server.logs import LineFormatter, escape
from server.settings import Settings, SettingsError
from tokens import rate_limits


def test_document_limits_default_to_the_contract() -> None:
    assert Settings.from_env({}).document_limits == DocumentLimits(
        max_tokens=2_000, max_aliases=30, max_depth=10
    )


def test_document_limits_are_read() -> None:
    limits = Settings.from_env(
        {"SAT_MAX_QUERY_TOKENS": "500", "SAT_MAX_ALIASES": "5", "SAT_MAX_QUERY_DEPTH": "4"}
    ).document_limits

    assert limits == DocumentLimits(max_tokens=500, max_aliases=5, max_depth=4)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("SAT_MAX_QUERY_TOKENS", "0"),
        ("SAT_MAX_QUERY_TOKENS", "many"),
        ("SAT_MAX_ALIASES", "2.5"),
        ("SAT_MAX_QUERY_DEPTH", "-1"),
        ("SAT_ENV", "staging"),
        ("SAT_INTROSPECTION", "perhaps"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: raw})


def test_development_has_introspection_and_graphiql() -> None:
    settings = Settings.from_env({})

    assert (settings.production, settings.introspection, settings.graphiql) == (False, True, True)


def test_production_turns_introspection_and_graphiql_off_by_default() -> None:
    settings = Settings.from_env({"SAT_ENV": " Production "})

    assert (settings.production, settings.introspection, settings.graphiql) == (True, False, False)


def test_production_keeps_what_is_turned_on_explicitly() -> None:
    settings = Settings.from_env(
        {"SAT_ENV": "production", "SAT_INTROSPECTION": "true", "SAT_GRAPHIQL": "on"}
    )

    assert (settings.introspection, settings.graphiql) == (True, True)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("/plain/päth", "/plain/päth"),
        ("/a\nb", "/a\\nb"),
        ("/a\r\nb", "/a\\r\\nb"),
        ("/\x1b[31mred", "/\\x1b[31mred"),
        ("/\u202eevil", "/\\u202eevil"),
        ("/\u2028line", "/\\u2028line"),
        ("/\x00nul", "/\\x00nul"),
    ],
)
def test_escape_writes_what_cannot_be_shown(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert escape(escape(raw)) == escape(raw)


def test_every_log_message_stays_on_one_line() -> None:
    record = logging.LogRecord(
        "sat.test", logging.INFO, __file__, 1, "asked for %s", ("x\nforged\x1b",), None
    )

    line = LineFormatter().format(record)

    assert "\n" not in line
    assert line.endswith("asked for x\\nforged\\x1b")


def test_rate_limits_default_to_the_contract() -> None:
    settings = Settings.from_env({})

    assert settings.rate_limits == rate_limits.Limits(
        login_per_user_and_address=10,
        login_per_address=30,
        login_per_user=100,
        refresh_per_address=30,
        window_seconds=900,
    )
    assert settings.password_hash_workers == 1


def test_rate_limits_are_read() -> None:
    settings = Settings.from_env(
        {
            "SAT_LOGIN_LIMIT": "3",
            "SAT_LOGIN_IP_LIMIT": "7",
            "SAT_LOGIN_USER_LIMIT": "50",
            "SAT_REFRESH_IP_LIMIT": "9",
            "SAT_LOGIN_WINDOW_SECONDS": "60",
            "SAT_PASSWORD_HASH_WORKERS": "2",
        }
    )

    assert settings.rate_limits == rate_limits.Limits(
        login_per_user_and_address=3,
        login_per_address=7,
        login_per_user=50,
        refresh_per_address=9,
        window_seconds=60,
    )
    assert settings.password_hash_workers == 2


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("SAT_LOGIN_LIMIT", "0"),
        ("SAT_LOGIN_IP_LIMIT", "lots"),
        ("SAT_LOGIN_USER_LIMIT", "1.5"),
        ("SAT_REFRESH_IP_LIMIT", "-3"),
        ("SAT_LOGIN_WINDOW_SECONDS", "0"),
        ("SAT_PASSWORD_HASH_WORKERS", "0"),
        ("SAT_PASSWORD_HASH_WORKERS", "65"),
    ],
)
def test_a_bad_rate_limit_is_refused_naming_its_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: raw})
