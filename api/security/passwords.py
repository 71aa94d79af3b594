"""Password hashing with argon2id."""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _stand_in_hash() -> str:
    """A hash no password matches, made with the same parameters as real ones: verifying
    against it takes as long, so a sign-in for an unknown account looks like a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(32))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (no such account) the answer is False, after
    the same work as a real verification."""

    def verify() -> bool:
        try:
            matched = _hasher.verify(password_hash or _stand_in_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    return await asyncio.to_thread(verify)
