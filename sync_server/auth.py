"""The authorization seam: the sync server asks, it never decides who may do what."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class Access(Enum):
    WRITE = "write"
    READ = "read"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Grant:
    access: Access
    principal: str | None = None
    close_code: int = CLOSE_FORBIDDEN
    reason: str = ""
    # False: the socket counts against no socket limit (`limits.SocketLimits`), for the server's
    # own peers (AI tasks), which other limits bound and which all come from a worker's address.
    limited: bool = True

    @classmethod
    def unauthenticated(cls, reason: str) -> Grant:
        return cls(Access.DENY, close_code=CLOSE_UNAUTHENTICATED, reason=reason)

    @classmethod
    def forbidden(cls, reason: str) -> Grant:
        return cls(Access.DENY, close_code=CLOSE_FORBIDDEN, reason=reason)


class Authorizer(Protocol):
    async def authorize(self, token: str | None, doc: str) -> Grant: ...


class AllowAllAuthorizer:
    """Every socket may write every document. Only for `INKWEAVE_AUTH=off` development."""

    async def authorize(self, token: str | None, doc: str) -> Grant:
        return Grant(Access.WRITE, principal="anonymous")


class DenyAllAuthorizer:
    """Used while no real authorizer is configured: nothing opens without one."""

    async def authorize(self, token: str | None, doc: str) -> Grant:
        return Grant.unauthenticated("authentication is not configured on this server")
