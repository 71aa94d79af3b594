"""The one authenticator behind REST, `/sync` and the notification socket, called without HTTP.

It answers with the active account a token signs in, or names why the token opens nothing; the
edges' wording of each refusal is specified by test_auth, test_sync_authorization and
test_notifications.
"""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from sqlalchemy import update

from api.security.authenticator import Authenticator, NotAuthenticated, Principal, Refusal
from api.security.revocation import revoke_family
from api.security.tokens import ACCESS
from storage.sql.models import AccountStatus, User
from tests.support.api import Api

DOC = "chapter-" + "1" * 32


def authenticator(api: Api) -> Authenticator:
    return api.app.services.authenticator


async def refusal_of(attempt: Awaitable[Principal]) -> Refusal:
    with pytest.raises(NotAuthenticated) as refused:
        await attempt
    return refused.value.refusal


async def test_an_access_token_signs_in_its_active_account(api: Api) -> None:
    writer = await api.sign_up()
    principal = await authenticator(api).user(writer.token)
    assert principal.user.id == writer.id and not principal.read_only
    on_a_document = await authenticator(api).document_user(writer.token, DOC)
    assert on_a_document.user.id == writer.id and not on_a_document.read_only


async def test_a_document_token_opens_its_own_document_only(api: Api) -> None:
    writer = await api.sign_up()
    tokens = api.app.adapters.tokens
    reading = tokens.issue_document(writer.id, DOC, "read")
    assert (await authenticator(api).document_user(reading, DOC)).read_only
    writing = tokens.issue_document(writer.id, DOC, "write")
    assert not (await authenticator(api).document_user(writing, DOC)).read_only
    other = authenticator(api).document_user(writing, "chapter-" + "2" * 32)
    assert await refusal_of(other) == Refusal.OTHER_DOCUMENT
    assert await refusal_of(authenticator(api).user(writing)) == Refusal.BAD_TOKEN


async def test_each_refusal_names_what_was_wrong(api: Api) -> None:
    writer = await api.sign_up()
    adapters = api.app.adapters
    auth = authenticator(api)
    assert await refusal_of(auth.user(None)) == Refusal.NO_TOKEN
    assert await refusal_of(auth.user("")) == Refusal.NO_TOKEN
    assert await refusal_of(auth.user("not.a.token")) == Refusal.BAD_TOKEN
    assert await refusal_of(auth.user(writer.refresh_token)) == Refusal.BAD_TOKEN
    assert await refusal_of(auth.user(adapters.tokens.issue_access(10**9))) == Refusal.NO_ACCOUNT

    async with adapters.database.session() as session:
        await session.execute(
            update(User).where(User.id == writer.id).values(status=AccountStatus.DISABLED)
        )
    assert await refusal_of(auth.user(writer.token)) == Refusal.DISABLED
    assert await refusal_of(auth.document_user(writer.token, DOC)) == Refusal.DISABLED

    # The key-value store's revoked ids refuse a token of no session before any account is read
    # (a session's tokens end with the session, in SQL: `test_security_auth.py`).
    sessionless = adapters.tokens.issue_access(writer.id)
    await adapters.tokens.revoke(adapters.tokens.decode(sessionless, ACCESS))
    assert await refusal_of(auth.user(sessionless)) == Refusal.REVOKED


async def test_a_token_of_an_ended_session_is_refused_everywhere(api: Api) -> None:
    """A session's end (logout, a reused refresh token) is read in SQL with the account: no entry
    in the key-value store is needed for it."""
    writer = await api.sign_up()
    adapters = api.app.adapters
    family = adapters.tokens.decode(writer.token, ACCESS).family
    assert family is not None
    async with adapters.database.session() as session:
        await revoke_family(session, family)
    assert await refusal_of(authenticator(api).user(writer.token)) == Refusal.REVOKED
    assert await refusal_of(authenticator(api).document_user(writer.token, DOC)) == Refusal.REVOKED
