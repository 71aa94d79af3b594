"""Sensitive columns encrypted at rest: AES-256-GCM under a named key, with rotation.

A stored value reads `enc1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The newest key
encrypts; every key listed still decrypts, so keys rotate without downtime and
`inkweave rotate-keys` re-encrypts the rows under the newest one. The column name is bound into
each value as associated data, so a ciphertext copied into another column does not decrypt.
A value without the prefix is a row written before the column was encrypted: it reads as it is
until rotation encrypts it.

`lookup_hash` is a keyed HMAC-SHA256 for columns that must be found by value (searchable without
storing the value). The keys live in one process-wide `Keyring`, set at start by the app or the
CLI (`use_keyring`): a column type has no other way to reach configuration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"
NONCE_BYTES = 12
KEY_BYTES = 32


class FieldKeyError(ValueError):
    """A key is malformed, or a stored value names a key this process does not have."""


@dataclass(frozen=True, slots=True)
class FieldKey:
    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise FieldKeyError(f"field key {self.key_id!r} must be {KEY_BYTES} bytes")
        if not self.key_id or ":" in self.key_id:
            raise FieldKeyError("a field key's id is non-empty and has no ':'")


def parse_key(text: str) -> FieldKey:
    """`id:base64` (standard or URL-safe base64 of 32 random bytes)."""
    key_id, colon, encoded = text.strip().partition(":")
    if not colon:
        raise FieldKeyError("a field key reads `id:base64-of-32-bytes`")
    try:
        secret = base64.urlsafe_b64decode(encoded.replace("+", "-").replace("/", "_") + "==")
    except ValueError:
        raise FieldKeyError(f"field key {key_id!r} is not base64") from None
    return FieldKey(key_id, secret)


def derived_key(instance_secret: str) -> FieldKey:
    """The key of a deployment that configured none: derived from its secret key, so that an
    embedded install encrypts out of the box (and loses nothing while that secret is kept)."""
    secret = hashlib.sha256(b"inkweave field key v1\x00" + instance_secret.encode()).digest()
    # The id names the secret it came from: another secret's rows fail with "no key", clearly.
    return FieldKey("s" + hashlib.sha256(secret).hexdigest()[:8], secret)


def new_key_text(key_id: str) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()}"


class Keyring:
    """The newest key first: it encrypts; all of them decrypt."""

    def __init__(self, keys: list[FieldKey]) -> None:
        if not keys:
            raise FieldKeyError("a keyring needs at least one key")
        ids = [key.key_id for key in keys]
        if len(set(ids)) != len(ids):
            raise FieldKeyError("field key ids must differ")
        self.keys = list(keys)
        self._secrets = {key.key_id: key.secret for key in keys}
        self._ciphers: dict[str, AESGCM] = {}
        self._hash_keys = [
            hmac.new(key.secret, b"inkweave lookup hash", hashlib.sha256).digest() for key in keys
        ]

    @property
    def current_id(self) -> str:
        return self.keys[0].key_id

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            # `cryptography` loads at the first encrypted value, not with every server.
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            secret = self._secrets.get(key_id)
            if secret is None:
                raise FieldKeyError(f"no field key {key_id!r}: add it to INKWEAVE_FIELD_KEYS")
            cipher = self._ciphers[key_id] = AESGCM(secret)
        return cipher

    def encrypt(self, plain: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(self.current_id).encrypt(nonce, plain.encode(), context.encode())
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}:{self.current_id}:{encoded}"

    def decrypt(self, stored: str, context: str) -> str:
        if not is_encrypted(stored):
            return stored  # written before the column was encrypted
        _prefix, key_id, encoded = stored.split(":", 2)
        cipher = self._cipher(key_id)
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()

    def needs_rotation(self, stored: str | None) -> bool:
        """Whether a stored value is plaintext or under an older key."""
        if stored is None:
            return False
        return not stored.startswith(f"{PREFIX}:{self.current_id}:")

    def lookup_hashes(self, value: str) -> list[str]:
        """The value's keyed hash under each key, newest first: a lookup matches any of them,
        so rows not yet rotated are still found."""
        data = value.encode()
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in self._hash_keys]

    def lookup_hash(self, value: str) -> str:
        return self.lookup_hashes(value)[0]


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX + ":")


_keyring: Keyring | None = None


def use_keyring(keyring: Keyring) -> None:
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise FieldKeyError("no field keys configured in this process (use_keyring)")
    return _keyring


def encrypted_length(plain_chars: int) -> int:
    """Characters a stored value takes for a plaintext of `plain_chars` characters (UTF-8 at
    most 4 bytes each), with a key id of up to 16 characters."""
    raw = NONCE_BYTES + 4 * plain_chars + 16
    return len(PREFIX) + 1 + 16 + 1 + (raw * 4 + 2) // 3


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted under the process's keyring; `context` (the column's
    name) is bound into each value.

    `lookup` makes the column searchable by value: its keyed hash is kept in the column of the
    same name plus `_hash` (`storage.crypto.lookup`), of the value lower-cased (`"lower"`, for
    emails, compared without case) or as it is (`"exact"`)."""

    impl = String
    cache_ok = True

    def __init__(self, plain_chars: int, context: str, lookup: str | None = None) -> None:
        if lookup not in (None, "lower", "exact"):
            raise ValueError(f"lookup is 'lower', 'exact' or None, not {lookup!r}")
        super().__init__(encrypted_length(plain_chars))
        self.plain_chars = plain_chars
        self.context = context
        self.lookup = lookup

    def lookup_key(self, plain: str) -> str:
        """What the lookup hash is of: the value as lookups compare it."""
        return plain.lower() if self.lookup == "lower" else plain

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(value, self.context)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        if value is None:
            return None
        return keyring().decrypt(value, self.context)
