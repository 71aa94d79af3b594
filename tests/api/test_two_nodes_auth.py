"""Revocation, role changes and disabled accounts across two `inkweave serve` nodes with
authentication on (one MariaDB, one Redis): what is decided through node A holds on node B, for
REST at once and for sockets already open on B at their next re-check (`membership_recheck_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets
from pycrdt import Doc, Text

from api.envelope import http_status
from api.errors import Err
from storage.docs.merge import load_content
from storage.docs.sql import SQLDocStore
from sync_server import protocol
from tests.api.test_works import make_chapter, make_work, ok, refused, share
from tests.support.api import Account
from tests.support.cluster import Cluster, NodeApi, make_admin, running_cluster
from tests.support.waiting import DEADLINE_S, eventually
from tests.support.yclient import YClient

pytestmark = pytest.mark.mariadb


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    async with running_cluster(Path(tmp_path_factory.mktemp("two-nodes"))) as running:
        yield running


@pytest.fixture
async def sockets() -> AsyncIterator[list[Any]]:
    """Sockets a test opened (YClients and notification sockets), closed afterwards."""
    opened: list[Any] = []
    yield opened
    for socket in opened:
        with contextlib.suppress(Exception):
            await socket.close()


async def open_doc(
    node: NodeApi, doc: str, account: Account, opened: list[Any], *, synced: bool = True
) -> YClient:
    client = YClient(node.node.sync_url, doc, token=account.token)
    opened.append(client)
    return await client.connect(wait_synced=synced)


async def open_notifications(
    node: NodeApi, account: Account, opened: list[Any]
) -> websockets.ClientConnection:
    socket = await websockets.connect(node.notifications_url(account))
    opened.append(socket)
    return socket


async def chapter_of(on_a: NodeApi, owner: Account) -> tuple[int, dict[str, Any]]:
    work = await make_work(on_a, owner)
    return work["id"], await make_chapter(on_a, owner, work["id"])


async def closed_with(client: YClient, code: int, what: str) -> None:
    await eventually(client.closed.is_set, what=what)
    assert client.close_code == code, (client.close_code, client.close_reason)


async def notifications_closed_with(socket: websockets.ClientConnection, code: int) -> None:
    try:
        await asyncio.wait_for(socket.wait_closed(), DEADLINE_S)
    except TimeoutError:
        raise AssertionError(f"the notification socket stayed open {DEADLINE_S:g}s") from None
    assert socket.close_code == code, (socket.close_code, socket.close_reason)


def edit_frame(client: YClient, value: str) -> bytes:
    """An update appending `value` to what `client` has, as a sync frame."""
    scratch = Doc()
    scratch.apply_update(client.doc.get_update())
    before = scratch.get_state()
    content = scratch.get("content", type=Text)
    content += value
    return protocol.sync_update(scratch.get_update(before))


async def write_and_settle(client: YClient, value: str) -> bool:
    """Send an edit, then a sync step 1. The server handles a socket's frames in order and
    refuses an edit before reading the next frame, so once the answer to the step 1 arrives, a
    refusal of the edit would have arrived before it. True if the edit was refused."""
    client.synced.clear()
    await client.send_raw(edit_frame(client, value))
    await client.send_raw(protocol.sync_step1(client.doc.get_state()))
    await eventually(client.synced.is_set, what="the server answers the sync step 1")
    return client.permission_denied is not None


async def stored_text(cluster: Cluster, doc: str) -> str:
    """The document's text as the shared store holds it (what a restart would load)."""
    store = SQLDocStore(cluster.env["INKWEAVE_DATABASE_URL"])
    await store.start()
    try:
        return (await load_content(store, doc))[0]
    finally:
        await store.close()


# Revocation ------------------------------------------------------------------------------------


async def test_signing_out_on_node_a_revokes_the_session_on_node_b(
    on_a: NodeApi, on_b: NodeApi, sockets: list[Any]
) -> None:
    writer = await on_a.sign_up()
    _work_id, chapter = await chapter_of(on_a, writer)
    doc = chapter["content_id"]
    editing = await open_doc(on_b, doc, writer, sockets)
    notified = await open_notifications(on_b, writer, sockets)
    ok(await on_b.call("GET", "/api/v1/users/me", writer))  # the session works on B

    body = {"refresh_token": writer.refresh_token}
    ok(await on_a.call("POST", "/api/v1/auth/logout", writer, json=body))

    revoked = Err.TOKEN_REVOKED
    refused(
        await on_b.call("GET", "/api/v1/users/me", writer), http_status(revoked), revoked.value.code
    )
    refused(await on_b.call("POST", "/api/v1/auth/refresh", json=body), 401)
    await closed_with(editing, 4401, "the writer's open document socket on B closes")
    await notifications_closed_with(notified, 4401)
    again = await open_doc(on_b, doc, writer, sockets, synced=False)
    await closed_with(again, 4401, "a new document socket on B is refused")


async def test_a_refresh_token_used_on_node_a_cannot_be_replayed_on_node_b(
    on_a: NodeApi, on_b: NodeApi
) -> None:
    writer = await on_a.sign_up()
    used = {"refresh_token": writer.refresh_token}
    rotated = ok(await on_a.call("POST", "/api/v1/auth/refresh", json=used))

    reused = Err.REFRESH_REUSED
    refused(
        await on_b.call("POST", "/api/v1/auth/refresh", json=used),
        http_status(reused),
        reused.value.code,
    )
    # A replay revokes the whole family: the token rotated on A is dead as well.
    newest = {"refresh_token": rotated["refresh_token"]}
    refused(await on_b.call("POST", "/api/v1/auth/refresh", json=newest), 401)


# Roles -----------------------------------------------------------------------------------------


async def test_a_member_lowered_to_viewer_on_node_a_can_no_longer_write_on_node_b(
    cluster: Cluster, on_a: NodeApi, on_b: NodeApi, sockets: list[Any]
) -> None:
    owner, member = await on_a.sign_up(), await on_a.sign_up()
    work_id, chapter = await chapter_of(on_a, owner)
    await share(on_a, owner, work_id, member, "editor")
    doc = chapter["content_id"]
    watching = await open_doc(on_a, doc, owner, sockets)
    editing = await open_doc(on_b, doc, member, sockets)
    assert not await write_and_settle(editing, "编辑写的。")
    await eventually(lambda: "编辑写的。" in str(watching.text), what="the edit reaches node A")

    path = f"/api/v1/works/{work_id}/members/{member.id}"
    ok(await on_a.call("PATCH", path, owner, json={"role": "viewer"}))

    # The change is pushed to node B (over the bus): the socket is told it is read-only without
    # having written anything, and every edit after that is refused.
    await eventually(lambda: editing.permission_denied is not None, what="node B hears of it")
    await write_and_settle(editing, "【降级之后】")
    await write_and_settle(editing, "【再试一次】")
    refused_texts = ["【降级之后】", "【再试一次】"]

    # Still a reader: the socket stays open and live.
    watching.append("作者的新句子。")
    await eventually(lambda: "作者的新句子。" in str(editing.text), what="the viewer still reads")
    assert not editing.closed.is_set()
    stored = await stored_text(cluster, doc)
    assert "编辑写的。" in stored and "作者的新句子。" in stored
    assert not [text for text in refused_texts if text in stored], stored
    assert not [text for text in refused_texts if text in str(watching.text)]


async def test_a_member_removed_on_node_a_is_disconnected_on_node_b(
    on_a: NodeApi, on_b: NodeApi, sockets: list[Any]
) -> None:
    owner, member = await on_a.sign_up(), await on_a.sign_up()
    work_id, chapter = await chapter_of(on_a, owner)
    await share(on_a, owner, work_id, member, "editor")
    doc = chapter["content_id"]
    editing = await open_doc(on_b, doc, member, sockets)

    path = f"/api/v1/works/{work_id}/members/{member.id}"
    ok(await on_a.call("DELETE", path, owner))

    await closed_with(editing, 4403, "the removed member's socket on B closes")
    again = await open_doc(on_b, doc, member, sockets, synced=False)
    await closed_with(again, 4403, "the removed member cannot reopen the document on B")


# Disabled accounts -----------------------------------------------------------------------------


async def test_an_account_disabled_on_node_a_is_shut_out_of_node_b(
    cluster: Cluster, on_a: NodeApi, on_b: NodeApi, sockets: list[Any]
) -> None:
    admin, writer = await on_a.sign_up(), await on_a.sign_up()
    await make_admin(cluster, admin.username)
    _work_id, chapter = await chapter_of(on_a, writer)
    editing = await open_doc(on_b, chapter["content_id"], writer, sockets)
    notified = await open_notifications(on_b, writer, sockets)

    ok(await on_a.call("POST", f"/api/v1/admin/users/{writer.id}/disable", admin))

    await closed_with(editing, 4401, "the disabled account's document socket on B closes")
    await notifications_closed_with(notified, 4403)
    disabled = Err.ACCOUNT_DISABLED
    refused(
        await on_b.call("GET", "/api/v1/users/me", writer),
        http_status(disabled),
        disabled.value.code,
    )
    body = {"refresh_token": writer.refresh_token}
    refused(await on_b.call("POST", "/api/v1/auth/refresh", json=body), 401)
