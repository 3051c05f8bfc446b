"""The secret format of the contract: ``PREFIX + BODY(40 base62) + CHECK(6 base62 of CRC32)``."""

from __future__ import annotations

import hashlib
import secrets
import zlib
from enum import Enum

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 40
CHECK_LENGTH = 6
HINT_LENGTH = 4
_ALPHABET_SET = frozenset(ALPHABET)


class SecretKind(Enum):
    ACCESS_TOKEN = "sat_"
    REFRESH_KEY = "satr_"
    SERVICE_CLIENT = "satc_"
    ADMIN_SESSION = "sata_"

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def length(self) -> int:
        return len(self.value) + BODY_LENGTH + CHECK_LENGTH


def generate(kind: SecretKind) -> str:
    """A new secret of ``kind``, its body drawn uniformly from base62 by ``secrets``."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return kind.prefix + body + _check(kind.prefix + body)


# Read on every request: plain dicts, not the Enum's properties.
_PREFIXES = {kind: kind.prefix for kind in SecretKind}
LENGTHS = {kind: kind.length for kind in SecretKind}


def is_well_formed(kind: SecretKind, candidate: str) -> bool:
    """True when ``candidate`` has the prefix, length, alphabet and check digits of ``kind``.

    The prefixes are chosen so that no kind's prefix plus a base62 body can be taken
    for another kind (``sat_`` is followed by base62, never by ``r_``/``c_``/``a_``).
    """
    prefix = _PREFIXES[kind]
    if len(candidate) != LENGTHS[kind] or not candidate.startswith(prefix):
        return False
    tail = candidate[len(prefix) :]
    if not _ALPHABET_SET.issuperset(tail):
        return False
    return secrets.compare_digest(candidate[-CHECK_LENGTH:], _check(candidate[:-CHECK_LENGTH]))


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hint(secret: str) -> str:
    """The part of a secret the overview may show: its last four characters."""
    return secret[-HINT_LENGTH:]


def _check(text: str) -> str:
    value = zlib.crc32(text.encode("ascii"))
    digits = []
    for _ in range(CHECK_LENGTH):
        value, remainder = divmod(value, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))
