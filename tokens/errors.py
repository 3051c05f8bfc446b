"""The few ways a domain operation refuses; the transport maps each to one error code."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain explains to its caller.

    ``field`` names the one input at fault, where there is one (dotted path, e.g.
    ``grants[0].area``), so that a form can show the message beside it.
    """

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """An argument is invalid; ``field`` names it, and the message starts with it."""

    code = "BAD_USER_INPUT"
    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}", field=field)


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class RateLimited(DomainError):
    code = "RATE_LIMITED"
