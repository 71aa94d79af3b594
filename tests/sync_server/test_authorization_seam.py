"""Invariant 7 at the sync layer: the injected authorizer decides; readers never write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from api.settings import Settings
from sync_server.auth import Access, Grant
from tests.support.inprocess import RunningApp, running_app
from tests.support.yclient import YClient, wait_until

DOC = "作品7/第1章"


class TokenTable:
    """Tokens map to (document, access); any other pairing is denied."""

    grants: ClassVar[dict[str, tuple[str, Access]]] = {
        "writer": (DOC, Access.WRITE),
        "reader": (DOC, Access.READ),
    }

    async def authorize(self, token: str | None, doc: str) -> Grant:
        if token is None or token not in self.grants:
            return Grant.unauthenticated("missing or unknown token")
        allowed_doc, access = self.grants[token]
        if doc != allowed_doc:
            return Grant.forbidden("this token does not open that document")
        return Grant(access, principal=token)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    settings = Settings(data_dir=tmp_path / "data", room_unload_grace_s=0)
    async with running_app(settings, authorizer=TokenTable()) as running:
        yield running


async def test_viewer_updates_are_refused_and_not_stored(app: RunningApp) -> None:
    writer = await YClient(app.sync_url, DOC, token="writer").connect()
    reader = await YClient(app.sync_url, DOC, token="reader").connect()
    writer.append("作者写的。")
    await wait_until(lambda: str(reader.text) == "作者写的。")

    reader.append("读者偷改。")
    await wait_until(lambda: reader.permission_denied is not None)
    assert "read-only" in (reader.permission_denied or "")
    writer.append("继续写。")
    await wait_until(lambda: str(writer.text) == "作者写的。继续写。")
    await wait_until(lambda: "继续写。" in str(reader.text))
    assert "读者偷改" not in str(writer.text)

    stored = await app.adapters.store.load(DOC)
    late = await YClient(app.sync_url, DOC, token="writer").connect()
    assert str(late.text) == "作者写的。继续写。"
    assert all("读者偷改".encode() not in update for update in stored.updates)
    for client in (writer, reader, late):
        await client.close()


@pytest.mark.parametrize(
    ("token", "doc", "code"),
    [
        (None, DOC, 4401),
        ("forged", DOC, 4401),
        ("writer", "作品8/第1章", 4403),
        ("reader", "someone-else", 4403),
    ],
)
async def test_denied_sockets_close_with_a_code_and_reason(
    app: RunningApp, token: str | None, doc: str, code: int
) -> None:
    client = YClient(app.sync_url, doc, token=token)
    await client.connect(wait_synced=False)
    await wait_until(lambda: client.closed.is_set())
    assert client.close_code == code
    assert client.close_reason
    assert not client.synced.is_set()
    assert doc not in app.adapters.rooms.rooms
