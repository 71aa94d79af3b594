"""Encryption of sensitive columns at rest (`fields`)."""
