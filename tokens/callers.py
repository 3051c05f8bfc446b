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
