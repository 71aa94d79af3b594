"""Files: avatars, covers, exports. Local directory or S3-compatible."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> tuple[bytes, str]:
        """Data and content type; raises KeyError when absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        ...
