"""Addresses and text as hostile clients send them: refused, or ignored where the contract says."""

from __future__ import annotations

import ipaddress

import pytest

from schema.errors import shorten
from tokens.errors import InvalidInput
from tokens.ip_ranges import AddressRange, parse_address
from tokens.names import check_text, clean_name


@pytest.mark.parametrize(
    "text",
    ["fe80::1%eth0", "fe80::1%25eth0", "1" * 46, " 10.0.0.1x ", "fe80::1%" + "x" * 10_000],
)
def test_an_unusable_address_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_address(text, field="ip")

    assert refused.value.field == "ip"
    assert len(refused.value.message) < 150


def test_an_address_padded_with_whitespace_is_trimmed() -> None:
    assert parse_address(" " * 10_000 + "10.0.0.1 ", field="ip") == ipaddress.ip_address("10.0.0.1")


@pytest.mark.parametrize("start", ["fe80::1%eth0", "fe80::%eth0/64"])
def test_a_range_with_a_zone_id_is_refused(start: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        AddressRange.parse(start=start, end=None, label=None, field="ipRanges[0]")

    assert refused.value.field == "ipRanges[0].from"


@pytest.mark.parametrize("label", ["of\x00fice", "a\u202eb", "zero\u200bwidth", "lone\ud800"])
def test_a_label_with_control_format_or_surrogate_characters_is_refused(label: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        AddressRange.parse(start="10.0.0.1", end=None, label=label, field="ipRanges[0]")

    assert refused.value.field == "ipRanges[0].label"


@pytest.mark.parametrize("name", ["Ac\u200bme", "Acme\u202e", "A\x00cme", "Ac\ud800me", "x" * 101])
def test_a_name_with_hidden_characters_or_too_long_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        clean_name(name, field="name")


def test_ordinary_unicode_names_are_kept() -> None:
    assert clean_name("  Zürich Gehälter 東京 ", field="name") == "Zürich Gehälter 東京"


def test_check_text_allows_controls_in_passwords_but_not_surrogates() -> None:
    check_text("tab\there", field="password")
    with pytest.raises(InvalidInput):
        check_text("pass\udc00", field="password")


def test_messages_repeat_at_most_100_characters_of_a_value() -> None:
    message = shorten("names no area: '" + "x" * 5_000 + "'")

    assert "x" * 100 in message
    assert "x" * 101 not in message
