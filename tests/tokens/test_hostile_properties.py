"""Hypothesis drives the checks that meet hostile text: each accepts or refuses, never fails."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from graphql import GraphQLError
from schema.arguments import MAX_TEXT_LENGTH, check_text
from schema.errors import shorten
from server.client_ip import TrustedProxies
from server.logs import escape
from tokens.errors import InvalidInput
from tokens.ip_ranges import AddressRange, parse_address
from tokens.names import MAX_SHOWN_LENGTH, clean_name, name_key, parse_id
from tokens.paging import decode_cursor

T = TypeVar("T")

# Any text at all, lone surrogates and controls included, as JSON can carry it.
hostile_text = st.text(alphabet=st.characters(codec=None), max_size=300)
address_like = st.one_of(
    hostile_text,
    st.from_regex(r"\s*[0-9a-fA-F:.%/]{0,60}\s*", fullmatch=True),
)


def attempt(call: Callable[[], T]) -> T | InvalidInput:
    """What ``call`` returns, or the refusal it raised: any other exception fails the test."""
    try:
        return call()
    except InvalidInput as refused:
        return refused


@given(hostile_text)
def test_a_name_is_cleaned_or_refused(text: str) -> None:
    name = attempt(lambda: clean_name(text, field="name"))

    if isinstance(name, InvalidInput):
        assert name.field == "name"
    else:
        assert 1 <= len(name) <= 100
        assert all(unicodedata.category(c) not in {"Cc", "Cf", "Cs"} for c in name)


@given(hostile_text)
def test_a_name_key_is_stable(text: str) -> None:
    key = attempt(lambda: name_key(text))

    if not isinstance(key, InvalidInput):
        assert name_key(key) == key


@given(address_like)
def test_an_address_is_parsed_or_refused(text: str) -> None:
    address = attempt(lambda: parse_address(text, field="ip"))

    if isinstance(address, InvalidInput):
        assert address.field == "ip"
        assert len(address.message) < 50 + len(repr(text[:100]))
    else:
        assert "%" not in str(address)
        assert len(text.strip()) <= 45


@given(address_like, st.one_of(st.none(), address_like), st.one_of(st.none(), hostile_text))
def test_a_range_is_parsed_or_refused(start: str, end: str | None, label: str | None) -> None:
    parsed = attempt(
        lambda: AddressRange.parse(start=start, end=end, label=label, field="ipRanges[0]")
    )

    if isinstance(parsed, InvalidInput):
        assert str(parsed.field).startswith("ipRanges[0].")
    else:
        assert int(parsed.start) <= int(parsed.end)


@given(st.lists(address_like, max_size=5))
def test_a_forwarded_chain_never_yields_an_unusable_address(hops: list[str]) -> None:
    client = TrustedProxies.parse("127.0.0.1").client_address("127.0.0.1", [", ".join(hops)])

    assert client is not None
    parse_address(client, field="ip")


@given(hostile_text)
def test_ids_and_cursors_of_any_form_are_answers(text: str) -> None:
    row_id = parse_id(text)
    cursor = attempt(lambda: decode_cursor(text))

    assert row_id is None or 0 <= row_id < 2**31
    assert not isinstance(cursor, InvalidInput) or cursor.field == "after"


@given(st.text(alphabet=st.characters(codec=None), max_size=2 * MAX_TEXT_LENGTH))
def test_the_text_floor_refuses_or_passes(text: str) -> None:
    refusal: GraphQLError | None = None
    try:
        check_text(text, "name")
    except GraphQLError as refused:
        refusal = refused

    if refusal is None:
        assert len(text) <= MAX_TEXT_LENGTH
    else:
        assert (refusal.extensions or {})["code"] == "BAD_USER_INPUT"


@given(hostile_text)
def test_escaped_log_text_is_one_printable_line(text: str) -> None:
    escaped = escape(text)

    assert escaped.isprintable()
    assert escape(escaped) == escaped


@given(st.text(alphabet=st.characters(exclude_characters="'\""), max_size=400))
def test_messages_never_repeat_more_than_100_characters_of_a_value(value: str) -> None:
    message = shorten(f"names no area: '{value}'")

    assert message.startswith(f"names no area: '{value[:MAX_SHOWN_LENGTH]}")
    assert len(message) <= len("names no area: ''...") + MAX_SHOWN_LENGTH
