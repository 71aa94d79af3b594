"""Files: avatars, covers, exports. Local directory or S3-compatible."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    async def start(self) -> None:
        """Prepare the store before its first use (S3: create the bucket when configured to)."""
        ...

    async def close(self) -> None: ...

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> tuple[bytes, str]:
        """Data and content type; raises KeyError when absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        ...

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix`, sorted (for backups)."""
        ...

    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A URL that serves the blob without credentials until it expires, or None where the
        store cannot make one (local files: the API signs its own download links instead)."""
        ...
