"""The current time. Domain functions take ``now``: tests move the clock instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
