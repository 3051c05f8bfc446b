"""Names and ids as admins type them, and the checks every text argument gets."""

from __future__ import annotations

import unicodedata

from tokens.errors import InvalidInput

MAX_NAME_LENGTH = 100
# No error message repeats more of a value than this.
MAX_SHOWN_LENGTH = 100

# Unicode categories refused in names and labels: controls (NUL, ESC, newlines) and
# format characters (zero-width joiners and spaces, bidirectional overrides), which
# make one name look like another or reorder what an admin reads.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})


def shown(value: str) -> str:
    """``value`` quoted for an error message: at most its first 100 characters."""
    if len(value) <= MAX_SHOWN_LENGTH:
        return repr(value)
    return repr(value[:MAX_SHOWN_LENGTH]) + "..."


def check_text(value: str, *, field: str, controls: bool = True) -> None:
    """Refuse lone surrogates (text no encoding can store) and, unless ``controls``, Cc/Cf."""
    if value.isascii():
        if not controls and not value.isprintable():
            raise InvalidInput(field, "must not contain control characters")
        return
    for character in value:
        if "\ud800" <= character <= "\udfff":
            raise InvalidInput(field, "must not contain lone surrogates")
        if not controls and unicodedata.category(character) in _REFUSED_CATEGORIES:
            raise InvalidInput(field, "must not contain control or format characters")


def clean_name(name: str, *, field: str) -> str:
    """A display name: trimmed, 1 to 100 characters, no control or format characters."""
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_NAME_LENGTH:
        raise InvalidInput(field, f"must be 1 to {MAX_NAME_LENGTH} characters after trimming")
    check_text(cleaned, field=field, controls=False)
    if not cleaned.isprintable():
        raise InvalidInput(field, "must not contain control characters")
    return cleaned


def name_key(name: str, *, field: str = "name") -> str:
    """What makes two names the same: NFKC normalisation, then case folding.

    Full-width letters, ligatures and composed or decomposed accents all compare
    equal, so a look-alike cannot sit beside the name it imitates. The key is
    stored in columns of 100 characters; the rare name that NFKC expands past
    that is refused.
    """
    key = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    if len(key) > MAX_NAME_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_NAME_LENGTH} characters once normalised")
    return key


def search_key(text: str) -> str:
    """A search term in the form names are searched in (see ``name_key``)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


# Row ids are the models' IntField: 32-bit integers on SQLite and PostgreSQL alike. A
# larger number names no row, and PostgreSQL refuses to compare it with the column.
MAX_ROW_ID = 2**31 - 1


def parse_id(text: str) -> int | None:
    """The row id an ``ID`` names, or None when it cannot name a row."""
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None
