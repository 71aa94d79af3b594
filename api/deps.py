"""FastAPI dependencies: the app's parts, the signed-in user, the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from storage.sql.models import User

from .app_parts import Components
from .errors import AppError, Err
from .security.authenticator import Authenticator, NotAuthenticated, Refusal
from .security.tokens import Claims

bearer = HTTPBearer(auto_error=False, description="The access token from login or register.")


def get_parts(request: Request) -> Components:
    return request.app.state.components


Parts = Annotated[Components, Depends(get_parts)]


def get_authenticator(parts: Parts) -> Authenticator:
    return Authenticator(parts.tokens, parts.database)


Auth = Annotated[Authenticator, Depends(get_authenticator)]


def refused(refusal: NotAuthenticated) -> AppError:
    """A refused token as the REST answer: 401, or 403 for a disabled account."""
    match refusal.refusal:
        case Refusal.NO_TOKEN:
            return AppError(Err.UNAUTHENTICATED, "Authorization: Bearer <token> is required")
        case Refusal.REVOKED:
            return AppError(Err.TOKEN_REVOKED)
        case Refusal.DISABLED:
            return AppError(Err.ACCOUNT_DISABLED)
        case _:
            return AppError(Err.UNAUTHENTICATED, str(refusal))


async def current_claims(
    auth: Auth, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Claims:
    try:
        return await auth.access_claims(credentials.credentials if credentials else None)
    except NotAuthenticated as refusal:
        raise refused(refusal) from None


CurrentClaims = Annotated[Claims, Depends(current_claims)]


async def current_user(auth: Auth, claims: CurrentClaims) -> User:
    try:
        return await auth.active_user(claims)
    except NotAuthenticated as refusal:
        raise refused(refusal) from None


CurrentUser = Annotated[User, Depends(current_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
