"""The secret format of the contract: ``PREFIX + BODY(40 base62) + CHECK(6 base62 of CRC32)``."""

from __future__ import annotations

import hashlib
import itertools
import zlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.strategies import (
    BASE62,
    BODY_LENGTH,
    CHECK_LENGTH,
    base62,
    check_digits,
    kinds_and_secrets,
    secret_bodies,
    secret_kinds,
    with_check,
)
from tokens import secrets
from tokens.secrets import SecretKind, digest, generate, hint, is_well_formed

PREFIXES = {
    SecretKind.ACCESS_TOKEN: "sat_",
    SecretKind.REFRESH_KEY: "satr_",
    SecretKind.SERVICE_CLIENT: "satc_",
    SecretKind.ADMIN_SESSION: "sata_",
}
KINDS = list(SecretKind)
ZERO_BODY = "0" * BODY_LENGTH


# --- the format -----------------------------------------------------------------------------


def test_alphabet_is_base62_in_contract_order() -> None:
    assert secrets.ALPHABET == BASE62
    assert BASE62 == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_its_contract_prefix_and_length(kind: SecretKind) -> None:
    assert kind.prefix == PREFIXES[kind]
    assert kind.length == len(PREFIXES[kind]) + 40 + 6


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # zlib.crc32(b"sat_" + b"0" * 40) == 771120834 == 0qBXko in base62: a padded '0' in front.
        (SecretKind.ACCESS_TOKEN, "sat_" + ZERO_BODY + "0qBXko"),
        (SecretKind.REFRESH_KEY, "satr_" + ZERO_BODY + "166uFI"),
        # 2314399524 > 2**31: the check must treat the CRC as unsigned.
        (SecretKind.SERVICE_CLIENT, "satc_" + ZERO_BODY + "2Wcz2a"),
        (SecretKind.ADMIN_SESSION, "sata_" + ZERO_BODY + "0JEZ1l"),
    ],
)
def test_known_answer_vector_is_well_formed(kind: SecretKind, expected: str) -> None:
    computed = with_check(PREFIXES[kind], ZERO_BODY)
    assert computed == expected
    assert is_well_formed(kind, expected)


def test_check_is_left_padded_with_zeros_to_six_digits() -> None:
    body = "GNLL7IFtycnzjuV8bZn6K2Q4Oto9r8L7dboxO4aZ"
    assert zlib.crc32(f"sat_{body}".encode()) == 1633984  # below 62**4: two leading zeros
    assert is_well_formed(SecretKind.ACCESS_TOKEN, f"sat_{body}006r4a")
    assert not is_well_formed(SecretKind.ACCESS_TOKEN, f"sat_{body}6r4a00")


def test_check_of_the_largest_crc_still_fits_six_digits() -> None:
    assert base62(2**32 - 1, CHECK_LENGTH) == "4gfFC3"
    assert check_digits("") == "000000"  # crc32 of nothing is 0


@given(kind=secret_kinds, body=secret_bodies)
@settings(max_examples=300)
def test_secret_with_contract_check_is_well_formed(kind: SecretKind, body: str) -> None:
    assert is_well_formed(kind, with_check(kind.prefix, body))


# --- generate -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_generated_secret_is_prefix_body_and_contract_check(kind: SecretKind) -> None:
    secret = generate(kind)
    prefix, body = PREFIXES[kind], secret[len(PREFIXES[kind]) : -CHECK_LENGTH]
    assert secret.startswith(prefix)
    assert len(body) == BODY_LENGTH
    assert set(body) <= set(BASE62)
    assert secret == with_check(prefix, body)
    assert is_well_formed(kind, secret)


@pytest.mark.parametrize("kind", KINDS)
def test_generated_bodies_differ(kind: SecretKind) -> None:
    bodies = {generate(kind)[len(PREFIXES[kind]) : -CHECK_LENGTH] for _ in range(200)}
    assert len(bodies) == 200


def test_generated_bodies_draw_from_the_whole_alphabet() -> None:
    # 12,000 draws: the chance that a uniform draw misses one of 62 characters is below 1e-80.
    drawn = "".join(generate(SecretKind.ACCESS_TOKEN)[4:-CHECK_LENGTH] for _ in range(300))
    assert set(drawn) == set(BASE62)


# --- what is not well-formed ----------------------------------------------------------------

VALID = with_check("sat_", "aB3" * 13 + "z")


@pytest.mark.parametrize(
    ("case", "candidate"),
    [
        ("empty", ""),
        ("prefix only", "sat_"),
        ("wrong prefix", "sax_" + VALID[4:]),
        ("upper-case prefix", "SAT_" + VALID[4:]),
        ("prefix missing", VALID[4:]),
        ("one character short", VALID[:-1]),
        ("one character long", VALID + "0"),
        ("leading space", " " + VALID),
        ("trailing newline", VALID + "\n"),
        ("hyphen in body", VALID[:10] + "-" + VALID[11:]),
        ("underscore in body", VALID[:10] + "_" + VALID[11:]),
        ("non-ASCII letter in body", VALID[:10] + "é" + VALID[11:]),
        ("non-ASCII digit in body", VALID[:10] + "٣" + VALID[11:]),
        ("full-width letter in check", VALID[:-1] + "Ａ"),
        # Characters outside base62 are refused even when the check digits match them.
        ("hyphen in body, check matching", with_check("sat_", "-" * BODY_LENGTH)),
        ("base64 in body, check matching", with_check("sat_", "+/" * 20)),
        ("space in body, check matching", with_check("sat_", VALID[4:43] + " ")),
        ("wrong check", VALID[:-CHECK_LENGTH] + "000000"),
        ("check of another prefix", "sat_" + VALID[4:-6] + check_digits("satr_" + VALID[4:-6])),
        ("check digits reversed", VALID[:-CHECK_LENGTH] + VALID[-CHECK_LENGTH:][::-1]),
        ("check in lower case", VALID[:-CHECK_LENGTH] + VALID[-CHECK_LENGTH:].lower()),
    ],
)
def test_malformed_access_token_is_rejected(case: str, candidate: str) -> None:
    assert candidate != VALID
    assert is_well_formed(SecretKind.ACCESS_TOKEN, VALID)
    assert not is_well_formed(SecretKind.ACCESS_TOKEN, candidate), case


@pytest.mark.parametrize(
    ("made", "offered_as"),
    [(a, b) for a, b in itertools.product(KINDS, KINDS) if a is not b],
    ids=lambda kind: kind.name,
)
def test_secret_of_one_kind_is_not_well_formed_as_another(
    made: SecretKind, offered_as: SecretKind
) -> None:
    secret = generate(made)
    assert is_well_formed(made, secret)
    assert not is_well_formed(offered_as, secret)


# --- one-character errors are always caught -------------------------------------------------


@st.composite
def single_character_changes(draw: st.DrawFn) -> tuple[SecretKind, str, str]:
    """A kind, a well-formed secret of it, and that secret with one character changed."""
    kind, secret = draw(kinds_and_secrets())
    edit = draw(st.sampled_from(["substitute", "delete", "insert"]))
    if edit == "delete":
        position = draw(st.integers(0, len(secret) - 1))
        return kind, secret, secret[:position] + secret[position + 1 :]
    # Half base62 (the hard case: only the check can catch those), half any other character.
    characters = st.sampled_from(BASE62) | st.characters()
    if edit == "insert":
        position = draw(st.integers(0, len(secret)))
        return kind, secret, secret[:position] + draw(characters) + secret[position:]
    position = draw(st.integers(0, len(secret) - 1))
    replacement = draw(characters.filter(lambda c: c != secret[position]))
    return kind, secret, secret[:position] + replacement + secret[position + 1 :]


@given(single_character_changes())
@settings(max_examples=500)
def test_any_single_character_change_is_not_well_formed(
    change: tuple[SecretKind, str, str],
) -> None:
    kind, secret, changed = change
    assert changed != secret
    assert is_well_formed(kind, secret)
    assert not is_well_formed(kind, changed)


@given(kind=secret_kinds, body=secret_bodies)
@settings(max_examples=50)
def test_every_alphabet_substitution_at_every_position_is_caught(
    kind: SecretKind, body: str
) -> None:
    """Exhaustive over the hard case: a base62 character replaced by another base62 character.

    A CRC32 detects every error burst of at most 32 bits, so changing one byte of
    ``PREFIX + BODY`` always changes the CRC; a changed CHECK no longer equals the
    CRC's one spelling; a changed prefix fails the prefix test.
    """
    secret = with_check(kind.prefix, body)
    for position, original in enumerate(secret):
        for replacement in BASE62:
            if replacement != original:
                changed = secret[:position] + replacement + secret[position + 1 :]
                assert not is_well_formed(kind, changed), (position, replacement)


@given(kind=secret_kinds, body=secret_bodies, data=st.data())
@settings(max_examples=200)
def test_swapping_two_adjacent_body_characters_is_caught(
    kind: SecretKind, body: str, data: st.DataObject
) -> None:
    swappable = [i for i in range(BODY_LENGTH - 1) if body[i] != body[i + 1]]
    assume(swappable)
    position = data.draw(st.sampled_from(swappable))
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
    original = with_check(kind.prefix, body)
    assert not is_well_formed(kind, kind.prefix + swapped + original[-CHECK_LENGTH:])


# --- digest and hint ------------------------------------------------------------------------


@given(kinds_and_secrets())
@settings(max_examples=100)
def test_digest_is_sha256_hex_of_the_whole_secret(kind_and_secret: tuple[SecretKind, str]) -> None:
    _, secret = kind_and_secret
    assert digest(secret) == hashlib.sha256(secret.encode("ascii")).hexdigest()
    assert len(digest(secret)) == 64
    assert secret not in digest(secret)


def test_digests_of_different_secrets_differ() -> None:
    first, second = generate(SecretKind.ACCESS_TOKEN), generate(SecretKind.ACCESS_TOKEN)
    assert digest(first) != digest(second)


@pytest.mark.parametrize("kind", KINDS)
def test_hint_is_the_last_four_characters(kind: SecretKind) -> None:
    secret = generate(kind)
    assert hint(secret) == secret[-4:]
    assert len(hint(secret)) == 4
    assert hint(with_check(kind.prefix, ZERO_BODY)) == check_digits(kind.prefix + ZERO_BODY)[-4:]
