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

    async def keys(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            if not self._root.is_dir():
                return []
            found = (
                path.relative_to(self._root).as_posix()
                for path in self._root.rglob("*")
                if path.is_file() and not _is_meta(path)
            )
            return sorted(key for key in found if key.startswith(prefix))

        return await asyncio.to_thread(walk)

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


def _is_meta(path: Path) -> bool:
    """The content type file beside a blob (`put` writes `KEY.meta` next to `KEY`)."""
    return path.suffix == ".meta" and path.with_name(path.stem).is_file()
