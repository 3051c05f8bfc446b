"""Who may call what, declared on each field (the contract's table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.permission import BasePermission

from tokens.callers import is_admin, logged_in

if TYPE_CHECKING:
    from strawberry.types import Info


class LoggedIn(BasePermission):
    message = "Log in as an admin, or present a service client secret, to do this"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012  (Strawberry reads it per class)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return logged_in(info.context.caller)


class AdminOnly(BasePermission):
    message = "Only admins may do this"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return is_admin(info.context.caller)


ADMIN: list[type[BasePermission]] = [LoggedIn, AdminOnly]
SERVICE_OR_ADMIN: list[type[BasePermission]] = [LoggedIn]
