"""Who is calling: an admin with a session, or a service client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AdminCaller:
    admin_id: int
    username: str
    session_id: int


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    client_id: int
    name: str


Caller = AdminCaller | ServiceCaller


def logged_in(caller: object) -> bool:
    """An admin or a service client: who may validate tokens and read the area tree."""
    return isinstance(caller, AdminCaller | ServiceCaller)


def is_admin(caller: object) -> bool:
    """Who may do everything else (the contract's table)."""
    return isinstance(caller, AdminCaller)
