"""The archive file: a zip of JSON lines and binary entries, with `manifest.json` last.

The manifest names the format, the schema revision of the rows, what was counted, and every
other entry's size and SHA-256; a reader checks them all before it trusts any (`verify`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FORMAT = "inkweave-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_READ_CHUNK = 1 << 20


class ArchiveError(Exception):
    """Not an archive this code reads, or a damaged one."""


@dataclass
class _Entry:
    sha256: str
    bytes: int


class _HashingWriter:
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._raw.write(data)
        self.hash.update(data)
        self.size += len(data)


@dataclass
class ArchiveWriter:
    """Written to `path` + ".partial" and renamed when `close` writes the manifest, so an
    interrupted backup never leaves a file that looks whole."""

    path: Path
    _zip: zipfile.ZipFile = field(init=False)
    _entries: dict[str, _Entry] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._zip = zipfile.ZipFile(self._partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6)

    @contextmanager
    def entry(self, name: str) -> Iterator[_HashingWriter]:
        with self._zip.open(name, "w", force_zip64=True) as raw:
            writer = _HashingWriter(raw)
            yield writer
        self._entries[name] = _Entry(writer.hash.hexdigest(), writer.size)

    def write(self, name: str, data: bytes) -> None:
        with self.entry(name) as out:
            out.write(data)

    def close(self, manifest: dict[str, Any]) -> None:
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **manifest,
            "entries": {name: vars(entry) for name, entry in self._entries.items()},
        }
        self._zip.writestr(MANIFEST, json.dumps(body, ensure_ascii=False, indent=1))
        self._zip.close()
        self._partial.replace(self.path)

    def abandon(self) -> None:
        self._zip.close()
        self._partial.unlink(missing_ok=True)


class ArchiveReader:
    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
            self.manifest: dict[str, Any] = json.loads(self._zip.read(MANIFEST))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ArchiveError(f"{path} is not an inkweave backup: {exc}") from None
        if self.manifest.get("format") != FORMAT:
            raise ArchiveError(f"{path} is not an inkweave backup")
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise ArchiveError(
                f"{path} has backup format {self.manifest.get('format_version')}; "
                f"this inkweave reads format {FORMAT_VERSION}"
            )
        self.entries: dict[str, dict[str, Any]] = self.manifest["entries"]

    def close(self) -> None:
        self._zip.close()

    def verify(self) -> None:
        """Every entry the manifest lists is there, whole; raise ArchiveError otherwise."""
        for name, expected in self.entries.items():
            digest, size = hashlib.sha256(), 0
            try:
                with self._zip.open(name) as raw:
                    while chunk := raw.read(_READ_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
            except (KeyError, zipfile.BadZipFile, OSError) as exc:
                raise ArchiveError(f"entry {name} is unreadable: {exc}") from None
            if digest.hexdigest() != expected["sha256"] or size != expected["bytes"]:
                raise ArchiveError(f"entry {name} does not match its checksum")

    def read(self, name: str) -> bytes:
        return self._zip.read(name)

    def lines(self, name: str) -> Iterator[bytes]:
        with self._zip.open(name) as raw:
            yield from raw
