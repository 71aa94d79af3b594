"""The keyring of the encrypted columns (`storage.crypto.fields`), from settings."""

from __future__ import annotations

from storage.crypto.fields import Keyring, derived_key, parse_key, use_keyring

from .settings import Settings


def keyring_from(settings: Settings) -> Keyring:
    """`INKWEAVE_FIELD_KEYS` (newest first), else one key derived from the instance secret."""
    if settings.field_keys:
        return Keyring([parse_key(text) for text in settings.field_keys])
    return Keyring([derived_key(settings.resolved_secret_key())])


def install_keyring(settings: Settings) -> Keyring:
    """Make this process encrypt and decrypt the sensitive columns with the configured keys."""
    keyring = keyring_from(settings)
    use_keyring(keyring)
    return keyring
