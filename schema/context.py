"""What every resolver knows about its request: who calls, from where, and the settings it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypedDict

from tokens import validation
from tokens.admins import DEFAULT_SESSION_LIFETIME
from tokens.callers import AdminCaller, Caller
from tokens.clock import utcnow
from tokens.grants import Access
from tokens.validation import DEFAULT_LAST_USED_INTERVAL, Validation


class Validate(Protocol):
    """How validateToken asks the domain: the transport's one validation path (it counts)."""

    async def __call__(
        self,
        *,
        token: str,
        ip: str,
        area: str,
        folder: str | None,
        access: Access,
        last_used_interval: timedelta,
    ) -> Validation: ...


class SessionCookie(Protocol):
    """Where the transport keeps a browser's session (the console's cookie), out of the domain."""

    def start(self, token: str, lifetime: timedelta) -> None: ...

    def end(self) -> None: ...


class AdminAct(TypedDict):
    """What the domain records of an admin's change: who made it, from where, and when."""

    actor: str
    ip: str | None
    now: datetime


@dataclass(slots=True)
class Context:
    caller: Caller | None
    client_ip: str | None
    request_id: str
    session_lifetime: timedelta = DEFAULT_SESSION_LIFETIME
    last_used_interval: timedelta = DEFAULT_LAST_USED_INTERVAL
    # None where no browser is on the other end (schema.execute in tests, the CLI).
    session_cookie: SessionCookie | None = None
    # The domain itself where no transport is in between (schema.execute in tests).
    validate: Validate = validation.validate
    # The clock the domain is asked with: tests move it instead of sleeping.
    now: Callable[[], datetime] = utcnow

    @property
    def admin(self) -> AdminCaller:
        """The admin caller; permission classes have checked there is one."""
        if not isinstance(self.caller, AdminCaller):
            raise PermissionError("resolver reached without an admin caller")
        return self.caller

    def admin_act(self) -> AdminAct:
        """The admin's change as the domain's commands take it: ``command(..., **act)``."""
        return AdminAct(actor=self.admin.username, ip=self.client_ip, now=self.now())
