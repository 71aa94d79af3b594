"""FastAPI dependencies: the app's parts, the signed-in user, the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from storage.sql.models import User

from .app_parts import Components
from .errors import AppError, Err
from .security.tokens import ACCESS, Claims, InvalidToken

bearer = HTTPBearer(auto_error=False, description="The access token from login or register.")


def get_parts(request: Request) -> Components:
    return request.app.state.components


Parts = Annotated[Components, Depends(get_parts)]


async def current_claims(
    parts: Parts,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    if credentials is None:
        raise AppError(Err.UNAUTHENTICATED, "Authorization: Bearer <token> is required")
    try:
        claims = parts.tokens.decode(credentials.credentials, ACCESS)
    except InvalidToken as exc:
        raise AppError(Err.UNAUTHENTICATED, str(exc)) from None
    if await parts.tokens.is_revoked(claims):
        raise AppError(Err.TOKEN_REVOKED)
    return claims


async def current_user(parts: Parts, claims: Annotated[Claims, Depends(current_claims)]) -> User:
    async with parts.database.session() as session:
        user = await session.get(User, claims.subject)
    if user is None:
        raise AppError(Err.UNAUTHENTICATED, "the account no longer exists")
    if user.status != 1:
        raise AppError(Err.ACCOUNT_DISABLED)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentClaims = Annotated[Claims, Depends(current_claims)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
