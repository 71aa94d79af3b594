"""Token → signed-in account, once for REST, `/sync` and the notification socket.

The authenticator answers with a `Principal` or raises `NotAuthenticated` naming the refusal;
it knows no transport. Each edge words a refusal its own way: an HTTP 401/403 envelope
(`api/deps.py`), a WebSocket close 4401/4403 (`api/sync_access.py`,
`api/routers/notifications.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Select, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.database import Database
from storage.sql.models import AccountStatus, User
from storage.sql.sqlite_driver import short_read

from .revocation import family_revoked_clause
from .tokens import ACCESS, DOCUMENT, Claims, InvalidToken, TokenService

READ_ONLY = "read"  # a document token's `access` claim that grants reading only


class Refusal(Enum):
    NO_TOKEN = "no token"  # nosec B105 # a refusal's reason, not a secret
    BAD_TOKEN = "malformed, forged, expired or of the wrong kind"  # nosec B105 # a reason too
    OTHER_DOCUMENT = "a document token for another document"
    REVOKED = "revoked"
    NO_ACCOUNT = "the account no longer exists"
    DISABLED = "the account is disabled"


class NotAuthenticated(Exception):
    """Why a token opens nothing; `detail` says what was wrong with a bad token."""

    def __init__(self, refusal: Refusal, detail: str = "") -> None:
        super().__init__(detail or refusal.value)
        self.refusal = refusal
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Principal:
    """An active account, and the token it came with (an access or a document token)."""

    user: User
    claims: Claims

    @property
    def read_only(self) -> bool:
        return read_only(self.claims)


def read_only(claims: Claims) -> bool:
    """A document token that grants reading only."""
    return claims.kind == DOCUMENT and claims.access == READ_ONLY


class Authenticator:
    def __init__(self, tokens: TokenService, database: Database) -> None:
        self._tokens = tokens
        self._database = database

    async def user(self, token: str | None) -> Principal:
        """The active account an access token signs in."""
        claims = await self.access_claims(token)
        return Principal(await self.active_user(claims), claims)

    async def document_user(self, token: str | None, doc: str) -> Principal:
        """The active account an access token, or a document token for `doc`, signs in."""
        claims = await self.document_claims(token, doc)
        return Principal(await self.active_user(claims), claims)

    async def document_claims(self, token: str | None, doc: str) -> Claims:
        """What a valid access token, or document token for `doc`, says, before any account
        is looked up. Whether its session was ended is read with the account."""
        return await self._unrevoked(self._access_or_document(_present(token), doc))

    async def access_claims(self, token: str | None) -> Claims:
        """What a valid access token says, before any account is looked up. Whether its session
        was ended is read with the account (`active_user`)."""
        return await self._unrevoked(self._decode(_present(token), ACCESS))

    async def active_user(self, claims: Claims) -> User:
        async with self._database.session() as session:
            return await active_user_in(session, claims)

    def _decode(self, token: str, kind: str) -> Claims:
        try:
            return self._tokens.decode(token, kind)
        except InvalidToken as exc:
            raise NotAuthenticated(Refusal.BAD_TOKEN, str(exc)) from None

    def _access_or_document(self, token: str, doc: str) -> Claims:
        try:
            return self._tokens.decode(token, ACCESS)
        except InvalidToken:
            claims = self._decode(token, DOCUMENT)
        if claims.doc != doc:
            raise NotAuthenticated(Refusal.OTHER_DOCUMENT)
        return claims

    async def _unrevoked(self, claims: Claims) -> Claims:
        # An access token of a session (`fam`) is refused once the session ends, read in SQL with
        # the account (`check_standing`; logout ends the session). The key-value store's revoked
        # ids are for access tokens of no session; document tokens are never listed there. For
        # the rest, a round trip to Redis (or to the hub of `serve --workers`) a request saved.
        if (
            claims.kind == ACCESS
            and not claims.ends_with_its_session
            and await self._tokens.is_revoked(claims)
        ):
            raise NotAuthenticated(Refusal.REVOKED)
        return claims


class WithStanding:
    """A statement that selects from `users`, narrowed to the account a token names, with what
    `check_standing` reads of the session the token belongs to (`family_revoked`), built once in
    the two shapes tokens need: of a session (checked against it) and of none (`false`). A
    statement and its cache key cost 80–150 µs to build (bench/README.md)."""

    def __init__(self, statement: Select[Any]) -> None:
        statement = statement.where(User.id == bindparam("user_id"))
        self._of_a_session = statement.add_columns(
            family_revoked_clause(bindparam("family")).label("family_revoked")
        )
        self._of_no_session = statement.add_columns(literal(False).label("family_revoked"))

    def statement_for(
        self, claims: Claims, **parameters: Any
    ) -> tuple[Select[Any], dict[str, Any]]:
        """The shape for `claims`, with its parameters (`user_id`, and `family` for a
        session's token) added to `parameters`."""
        parameters["user_id"] = claims.subject
        if not claims.ends_with_its_session:
            return self._of_no_session, parameters
        parameters["family"] = claims.family
        return self._of_a_session, parameters


_ACCOUNT = WithStanding(short_read(select(User)))


async def active_user_in(session: AsyncSession, claims: Claims) -> User:
    """The active account `claims` name, looked up in `session` (a caller's unit of work): the
    account and whether its session was ended, in one statement."""
    row = (await session.execute(*_ACCOUNT.statement_for(claims))).first()
    user, revoked = (None, False) if row is None else row
    check_standing(claims, user and (user.status, user.token_generation), revoked)
    assert user is not None  # check_standing refused a missing account
    return user


def check_standing(
    claims: Claims, account: tuple[int, int] | None, family_revoked: Any = False
) -> None:
    """Refuse `claims` unless the account is there and active (`account`: its status and token
    generation, None if it is gone) and the token's session was not ended: not from before the
    account's last "end every session", not of a session that was logged out
    (`family_revoked`). Document tokens are minted by the server for its own AI peers, per
    task, and carry no session."""
    if account is None:
        raise NotAuthenticated(Refusal.NO_ACCOUNT)
    status, generation = account
    if status != AccountStatus.ACTIVE:
        raise NotAuthenticated(Refusal.DISABLED)
    if claims.kind == ACCESS and (claims.generation != generation or bool(family_revoked)):
        raise NotAuthenticated(Refusal.REVOKED)


def _present(token: str | None) -> str:
    if not token:
        raise NotAuthenticated(Refusal.NO_TOKEN)
    return token
