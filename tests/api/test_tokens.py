"""Tokens are verified once and then kept (`VERIFIED_TOKENS_KEPT`): what is kept is checked as
strictly as a token seen for the first time."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from joserfc import jwt

from api.security.tokens import (
    ACCESS,
    DOCUMENT,
    REFRESH,
    VERIFIED_TOKENS_KEPT,
    InvalidToken,
    TokenService,
)
from storage.kv.memory import MemoryKeyValue


def service() -> TokenService:
    return TokenService(
        "a secret for tests", MemoryKeyValue(), access_ttl_s=900, refresh_ttl_s=3600, doc_ttl_s=60
    )


class Verifications:
    """Counts the signatures joserfc checks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = jwt.decode

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(jwt, "decode", counting)


def test_a_token_is_verified_once_for_its_many_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = service()
    token = tokens.issue_access(7, generation=2, family="fam-1")
    verifications = Verifications(monkeypatch)
    first = tokens.decode(token, ACCESS)
    assert tokens.decode(token, ACCESS) == first
    assert verifications.count == 1
    assert (first.subject, first.generation, first.family) == (7, 2, "fam-1")


def test_a_kept_token_with_another_signature_is_refused() -> None:
    tokens = service()
    token = tokens.issue_access(7)
    tokens.decode(token, ACCESS)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidToken, match="forged"):
        tokens.decode(forged, ACCESS)
    other_secret = TokenService(
        "another secret", MemoryKeyValue(), access_ttl_s=900, refresh_ttl_s=3600, doc_ttl_s=60
    )
    with pytest.raises(InvalidToken, match="forged"):
        tokens.decode(other_secret.issue_access(7), ACCESS)


def test_a_kept_token_is_still_only_of_its_kind() -> None:
    tokens = service()
    document = tokens.issue_document(7, "chapter-" + "1" * 32, "read")
    assert tokens.decode(document, DOCUMENT).doc == "chapter-" + "1" * 32
    for kind in (ACCESS, REFRESH):
        with pytest.raises(InvalidToken, match=f"not an {kind} token"):
            tokens.decode(document, kind)


def test_a_kept_token_expires_on_time() -> None:
    tokens = service()
    with time_machine.travel(time.time(), tick=False) as clock:
        token = tokens.issue_access(7)
        tokens.decode(token, ACCESS)
        clock.shift(899)
        assert tokens.decode(token, ACCESS).subject == 7
        clock.shift(1)
        with pytest.raises(InvalidToken, match="expired"):
            tokens.decode(token, ACCESS)
        with pytest.raises(InvalidToken, match="expired"):
            tokens.decode(token, ACCESS)  # still expired once no longer kept


def test_an_expired_token_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = service()
    kept = [tokens.issue_access(n) for n in range(VERIFIED_TOKENS_KEPT)]
    for token in kept:
        tokens.decode(token, ACCESS)
    with time_machine.travel(time.time() - 3600, tick=False):
        expired = tokens.issue_access(2)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.decode(expired, ACCESS)  # replayed, it would evict a kept token each time
    verifications = Verifications(monkeypatch)
    tokens.decode(kept[0], ACCESS)
    assert verifications.count == 0  # the oldest is still kept


def test_the_tokens_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = service()
    first, *others = [tokens.issue_access(n) for n in range(VERIFIED_TOKENS_KEPT + 1)]
    for token in [first, *others]:
        tokens.decode(token, ACCESS)
    verifications = Verifications(monkeypatch)
    tokens.decode(others[-1], ACCESS)
    assert verifications.count == 0  # the newest is kept
    tokens.decode(first, ACCESS)
    assert verifications.count == 1  # the oldest made room


def test_a_signed_token_of_no_known_kind_or_with_a_bad_expiry_is_refused() -> None:
    tokens = service()
    key = tokens._key
    for claims, reason in (
        ({"sub": "7", "typ": "admin", "exp": time.time() + 60}, "no known kind"),
        ({"sub": "7", "typ": ACCESS, "exp": "soon"}, "malformed expiry"),
    ):
        token = jwt.encode({"alg": "HS256"}, claims, key)
        with pytest.raises(InvalidToken, match=reason):
            tokens.decode(token, ACCESS)
