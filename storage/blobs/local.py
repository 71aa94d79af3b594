"""Blobs as files under a directory (the embedded default)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    async def start(self) -> None:
        """Directories are made as blobs are written."""

    async def close(self) -> None:
        """Nothing is held open."""

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if self._root not in path.parents:
            raise KeyError(key)
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.with_name(path.name + ".meta").write_text(json.dumps({"type": content_type}))

        await asyncio.to_thread(write)

    async def get(self, key: str) -> tuple[bytes, str]:
        path = self._path(key)

        def read() -> tuple[bytes, str]:
            if not path.is_file():
                raise KeyError(key)
            meta = json.loads(path.with_name(path.name + ".meta").read_text())
            return path.read_bytes(), meta["type"]

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        path = self._path(key)

        def remove() -> None:
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".meta").unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """Local files have no URL of their own: the API signs its download links."""
        return None
