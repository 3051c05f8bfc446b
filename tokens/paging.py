"""Cursor pages, newest first: the cursor is the opaque form of the last row's id."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tokens.errors import InvalidInput
from tokens.names import MAX_ROW_ID

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50  # `first` of every overview list


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    nodes: tuple[T, ...]
    total_count: int
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    before_id: int | None

    @classmethod
    def parse(cls, *, first: int, after: str | None) -> PageRequest:
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise InvalidInput("first", f"must be between 1 and {MAX_PAGE_SIZE}")
        return cls(first=first, before_id=None if after is None else decode_cursor(after))


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{row_id}".encode()).decode().rstrip("=")


# A cursor of ours encodes "id:" and a row id of at most 10 digits.
_MAX_CURSOR_LENGTH = 32


def decode_cursor(cursor: str) -> int:
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "id" or not number.isascii() or not number.isdigit() or len(number) > 10:
            raise ValueError(cursor)
        if int(number) > MAX_ROW_ID:
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after", "is not a cursor this list returned") from None


def page_of(rows: Sequence[T], ids: Sequence[int], *, request: PageRequest, total: int) -> Page[T]:
    """Cut a page from rows fetched with ``limit first + 1``."""
    has_next = len(rows) > request.first
    kept = tuple(rows[: request.first])
    end = encode_cursor(ids[len(kept) - 1]) if kept else None
    return Page(nodes=kept, total_count=total, has_next_page=has_next, end_cursor=end)
