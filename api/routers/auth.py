"""`/api/v1/auth`: codes, register, login, refresh, logout, password reset."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.params import Body
from pydantic import BaseModel, EmailStr, Field

from ..deps import AccountsDep, CurrentClaims, CurrentUser, client_ip, current_user
from ..envelope import success
from ..schemas import Envelope, Username
from ..services.accounts import Session

router = APIRouter(prefix="/auth", tags=["auth"])


class CodeIn(BaseModel):
    email: EmailStr = Field(max_length=100)
    purpose: Literal["register", "reset_password"] = Field(
        "register",
        description="`register`, or `reset_password` (sent whether or not the email has an "
        "account, so the answer tells nobody which)",
    )


class RegisterIn(BaseModel):
    username: Username
    email: EmailStr = Field(max_length=100)
    password: str = Field(min_length=8, max_length=128)
    code: str = Field(pattern=r"^\d{6}$", description="The code sent by POST /auth/code")


class PasswordResetIn(BaseModel):
    email: EmailStr = Field(max_length=100)
    code: str = Field(
        pattern=r"^\d{6}$", description="The code sent by POST /auth/code (reset_password)"
    )
    new_password: str = Field(min_length=8, max_length=128)


class LoginIn(BaseModel):
    email: str = Field(
        min_length=1, max_length=100, description="Email address or username to sign in with"
    )
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(None, max_length=4096)


class TokensOut(BaseModel):
    user_id: int
    username: str
    member_level: str
    token: str
    refresh_token: str
    expires_in: int


class SentOut(BaseModel):
    sent: bool


def _tokens(session: Session) -> dict[str, object]:
    return TokensOut(
        user_id=session.user.id,
        username=session.user.username,
        member_level=session.user.member_level,
        token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
    ).model_dump()


@router.post("/code", response_model=Envelope[SentOut], summary="Email a verification code")
async def send_code(body: CodeIn, accounts: AccountsDep) -> dict[str, object]:
    await accounts.send_code(body.email, body.purpose)
    return success({"sent": True})


@router.post("/register", response_model=Envelope[TokensOut], status_code=201)
async def register(body: RegisterIn, accounts: AccountsDep) -> dict[str, object]:
    session = await accounts.register(body.username, body.email, body.password, body.code)
    return success(_tokens(session))


@router.post("/login", response_model=Envelope[TokensOut])
async def login(body: LoginIn, accounts: AccountsDep, request: Request) -> dict[str, object]:
    session = await accounts.login(body.email, body.password, client_ip(request))
    return success(_tokens(session))


@router.post("/refresh", response_model=Envelope[TokensOut], summary="Rotate a refresh token")
async def refresh(body: RefreshIn, accounts: AccountsDep) -> dict[str, object]:
    return success(_tokens(await accounts.refresh(body.refresh_token)))


@router.post(
    "/logout",
    response_model=Envelope[None],
    summary="End this session (the access token's, and the refresh token's if given)",
    # The account is read with the session's standing: a session already ended is refused.
    dependencies=[Depends(current_user)],
)
async def logout(
    accounts: AccountsDep, claims: CurrentClaims, body: Annotated[LogoutIn | None, Body()] = None
) -> dict[str, object]:
    await accounts.logout(claims, body.refresh_token if body else None)
    return success(None)


@router.post(
    "/logout-all",
    response_model=Envelope[None],
    summary="End every session of this account: every token issued so far is refused",
)
async def logout_all(accounts: AccountsDep, user: CurrentUser) -> dict[str, object]:
    await accounts.logout_everywhere(user.id)
    return success(None)


@router.post(
    "/password-reset",
    response_model=Envelope[None],
    summary="Set a new password with an emailed code; every session ends",
)
async def password_reset(body: PasswordResetIn, accounts: AccountsDep) -> dict[str, object]:
    await accounts.reset_password(body.email, body.code, body.new_password)
    return success(None)
