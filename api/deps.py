"""FastAPI dependencies: the service (or adapter) an endpoint calls, the signed-in user, the
caller's address. Each endpoint names exactly what it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from ai_agents.safety import SensitiveWords
from jobs.tasks import TaskStore
from storage.ai_histories.base import AiHistories
from storage.blobs.base import BlobStore
from storage.bus.base import Bus
from storage.sql.database import Database
from storage.sql.models import User
from sync_server.limits import SocketLimits

from .adapters import Adapters
from .client_address import client_address
from .composition import Services
from .errors import AppError, Err
from .quotas import Quotas
from .security.authenticator import Authenticator, NotAuthenticated, Refusal
from .security.tokens import Claims
from .services.accounts import Accounts
from .services.admin import Admin
from .services.ai_tasks import AiTasks
from .services.authorship import Authorship
from .services.chapters import Chapters
from .services.comments import Comments
from .services.download_links import DownloadLinks
from .services.exports import Exports
from .services.imports import Imports
from .services.membership import Membership
from .services.moderation_words import WordList
from .services.notifications import Notifications
from .services.orders import Orders
from .services.publication import PublicationGate
from .services.reports import Reports
from .services.version_changes import VersionChanges
from .services.works import Works
from .settings import Settings

if TYPE_CHECKING:
    from .services.oidc import OidcSignIn  # loaded by the first sign-in (api.composition)

bearer = HTTPBearer(auto_error=False, description="The access token from login or register.")


def _services(connection: HTTPConnection) -> Services:
    return connection.app.state.services


def _adapters(connection: HTTPConnection) -> Adapters:
    return connection.app.state.adapters


# The dependencies are coroutine functions: FastAPI calls a plain function in its thread pool, a
# hand-off to a thread and back for each request that uses it (0.35–0.7 ms of CPU a REST request,
# bench/README.md, "Fewer statements and no thread hand-off a request") and, under load, a wait
# for one of the pool's threads.
def _service(name: str) -> Any:
    async def get(connection: HTTPConnection) -> Any:
        return getattr(_services(connection), name)

    return Depends(get)


def _adapter(name: str) -> Any:
    async def get(connection: HTTPConnection) -> Any:
        return getattr(_adapters(connection), name)

    return Depends(get)


# Services
Auth = Annotated[Authenticator, _service("authenticator")]
AccountsDep = Annotated[Accounts, _service("accounts")]
AdminDep = Annotated[Admin, _service("admin")]
WorksDep = Annotated[Works, _service("works")]
ChaptersDep = Annotated[Chapters, _service("chapters")]
NotificationsDep = Annotated[Notifications, _service("notifications")]
MembershipDep = Annotated[Membership, _service("membership")]
OrdersDep = Annotated[Orders, _service("orders")]
ExportsDep = Annotated[Exports, _service("exports")]
DownloadLinksDep = Annotated[DownloadLinks, _service("download_links")]
ImportsDep = Annotated[Imports, _service("imports")]
AiTasksDep = Annotated[AiTasks, _service("ai_tasks")]
CommentsDep = Annotated[Comments, _service("comments")]
AuthorshipDep = Annotated[Authorship, _service("authorship")]
VersionChangesDep = Annotated[VersionChanges, _service("version_changes")]
ReportsDep = Annotated[Reports, _service("reports")]
WordListDep = Annotated[WordList, _service("word_list")]
PublicationDep = Annotated[PublicationGate, _service("publication")]


def oidc_sign_in(request: Request) -> OidcSignIn:
    # A plain function, run in the thread pool: the first sign-in of a process imports httpx
    # and Authlib (~140 ms), which must not hold up the event loop.
    return _services(request).oidc_sign_in()


OidcDep = Annotated["OidcSignIn", Depends(oidc_sign_in)]

# Adapters, for endpoints that read them directly (a query, a file, a setting)
SettingsDep = Annotated[Settings, _adapter("settings")]
DatabaseDep = Annotated[Database, _adapter("database")]
BlobsDep = Annotated[BlobStore, _adapter("blobs")]
TasksDep = Annotated[TaskStore, _adapter("tasks")]
AiHistoriesDep = Annotated[AiHistories, _adapter("ai_histories")]
SafetyDep = Annotated[SensitiveWords, _adapter("safety")]
QuotasDep = Annotated[Quotas, _adapter("quotas")]
BusDep = Annotated[Bus, _adapter("bus")]
SocketsDep = Annotated[SocketLimits, _adapter("sockets")]


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
    """The caller's address: the peer, or the client a trusted proxy names (`client_address`)."""
    return client_address(request)
