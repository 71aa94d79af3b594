"""`/api/v1/auth/oidc`: sign in with an OpenID Connect provider (on when `oidc_issuer` is set).

1. The browser opens `GET /auth/oidc/login?redirect=/works`: a 302 to the provider.
2. The provider sends it back to `{public_url}/api/v1/auth/oidc/callback?code=…&state=…`.
3. That callback (opened by the browser, or called by the web client with the same query)
   answers our tokens, like `POST /auth/login`, plus the `redirect` to go to next.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from ..deps import OidcDep, SettingsDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope
from .auth import TokensOut, _tokens

router = APIRouter(prefix="/auth/oidc", tags=["auth"])


class OidcConfigOut(BaseModel):
    name: str
    login_url: str


class OidcTokensOut(TokensOut):
    redirect: str


@router.get(
    "",
    response_model=Envelope[OidcConfigOut],
    summary="Whether OpenID Connect sign-in is on, and the provider's name (404 when off)",
)
async def config(settings: SettingsDep) -> dict[str, object]:
    if not settings.oidc_issuer:
        raise AppError(Err.NOT_FOUND, "sign-in with OpenID Connect is not configured")
    return success({"name": settings.oidc_name, "login_url": "/api/v1/auth/oidc/login"})


@router.get(
    "/login",
    status_code=302,
    response_class=RedirectResponse,
    summary="Start signing in: redirects to the OpenID Connect provider",
    responses={302: {"description": "To the provider's authorization endpoint"}},
)
async def login(
    oidc: OidcDep,
    redirect: Annotated[
        str, Query(max_length=2000, description="Path on this site to return to")
    ] = "/",
) -> RedirectResponse:
    url = await oidc.begin(redirect)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@router.get(
    "/callback",
    response_model=Envelope[OidcTokensOut],
    summary="Finish signing in: trades the provider's code for our tokens",
)
async def callback(
    oidc: OidcDep,
    response: Response,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, object]:
    done = await oidc.finish(code, state, error, error_description)
    response.headers["Cache-Control"] = "no-store"
    return success({**_tokens(done.session), "redirect": done.redirect})
