"""Names and ids as admins type them."""

from __future__ import annotations

from tokens.errors import InvalidInput

MAX_NAME_LENGTH = 100


def clean_name(name: str, *, field: str) -> str:
    """A display name: trimmed, 1 to 100 characters, no control characters."""
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_NAME_LENGTH:
        raise InvalidInput(field, f"must be 1 to {MAX_NAME_LENGTH} characters after trimming")
    if any(not character.isprintable() for character in cleaned):
        raise InvalidInput(field, "must not contain control characters")
    return cleaned


def parse_id(text: str) -> int | None:
    """The row id an ``ID`` names, or None when it cannot name a row."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)
