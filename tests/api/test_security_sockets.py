"""Sockets cannot be hoarded and presence cannot be forged.

- Open sockets (`/sync` and the notification socket together) are limited per user and per
  client address on a node (`INKWEAVE_WS_CONNECTIONS_PER_USER` / `_PER_ADDRESS`); one over the
  limit is closed with 4429. The server's own AI peers (document tokens) are not counted.
- A connection sets and removes awareness entries only for the Yjs client ids it owns: the
  first it announces that nobody else owns. A client that comes back with its client id (a
  reconnect) is present again at once.

Real accounts and roles (on SQLite and MariaDB), stock y-websocket clients (Node) as victims and
observers, and the Python client for the frames a stock client would never send.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import websockets

from api.settings import Settings
from sync_server import protocol
from sync_server.limits import CLOSE_TOO_MANY
from tests.api.test_works import make_chapter, make_work, share
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.api import Account, Api, running_api
from tests.support.node_client import NodeClient
from tests.support.waiting import DEADLINE_S, eventually
from tests.support.yclient import YClient


@asynccontextmanager
async def api_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    async with running_api(settings.model_copy(update=changes)) as api:
        yield api


async def chapter_of(api: Api, owner: Account) -> str:
    """A new chapter of a new work of `owner`: its document name."""
    work = await make_work(api, owner)
    return (await make_chapter(api, owner, work["work_id"]))["content_id"]


async def opened(client: YClient) -> YClient:
    await client.connect(wait_synced=False)
    await eventually(lambda: client.synced.is_set() or client.closed.is_set(), what="an answer")
    return client


async def notification_socket(api: Api, account: Account) -> int | websockets.ClientConnection:
    """The notification socket once it said hello, or the code it was closed with."""
    url = f"ws://127.0.0.1:{api.app.port}/api/v1/notifications/ws?token={account.token}"
    socket = await websockets.connect(url)
    try:
        hello = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_S))
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code
    assert hello["type"] == "hello"
    return socket


# Socket limits ----------------------------------------------------------------------------------


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_a_user_holds_at_most_the_configured_sockets_of_both_kinds(
    settings: Settings,
) -> None:
    async with api_with(settings, ws_connections_per_user=3, ws_connections_per_address=0) as api:
        owner, other = await api.sign_up(), await api.sign_up()
        doc, others_doc = await chapter_of(api, owner), await chapter_of(api, other)
        sync_url = api.app.sync_url
        first = await opened(YClient(sync_url, doc, token=owner.token))
        second = await opened(YClient(sync_url, doc, token=owner.token))
        inbox = await notification_socket(api, owner)
        assert first.synced.is_set() and second.synced.is_set()
        assert not isinstance(inbox, int)

        fourth = await opened(YClient(sync_url, doc, token=owner.token))
        assert fourth.close_code == CLOSE_TOO_MANY
        assert "user" in fourth.close_reason
        assert await notification_socket(api, owner) == CLOSE_TOO_MANY
        theirs = await opened(YClient(sync_url, others_doc, token=other.token))
        assert theirs.synced.is_set(), "one user's sockets do not count against another's"
        # The server's own AI peer opens the document with a document token: never counted.
        peer_token = api.app.adapters.tokens.issue_document(owner.id, doc, "write")
        peer = await opened(YClient(sync_url, doc, token=peer_token))
        assert peer.synced.is_set()

        sockets = api.app.adapters.sockets
        await second.close()
        await eventually(lambda: sockets.count(principal=str(owner.id)) == 2, what="uncounted")
        again = await opened(YClient(sync_url, doc, token=owner.token))
        assert again.synced.is_set(), "a closed socket gives its place back"
        await inbox.close()
        for client in (first, fourth, theirs, peer, again):
            await client.close()


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_an_address_holds_at_most_the_configured_sockets(settings: Settings) -> None:
    async with api_with(settings, ws_connections_per_user=0, ws_connections_per_address=2) as api:
        first, second, third = [await api.sign_up() for _ in range(3)]
        doc = await chapter_of(api, first)
        third_doc = await chapter_of(api, third)
        mine = await opened(YClient(api.app.sync_url, doc, token=first.token))
        inbox = await notification_socket(api, second)
        assert mine.synced.is_set() and not isinstance(inbox, int)

        refused = await opened(YClient(api.app.sync_url, third_doc, token=third.token))
        assert refused.close_code == CLOSE_TOO_MANY and "address" in refused.close_reason
        assert await notification_socket(api, third) == CLOSE_TOO_MANY
        await inbox.close()
        await refused.close()
        await mine.close()


# Presence ---------------------------------------------------------------------------------------


@dataclass
class Scene:
    """A chapter where its owner (a stock client named 林黛玉, the victim) is present, watched
    by a viewer's stock client (the observer)."""

    api: Api
    owner: Account
    work_id: int
    doc: str
    victim: NodeClient
    observer: NodeClient

    async def sees(self, client_id: int | None, name: str) -> bool:
        state = (await self.observer.awareness()).get(client_id or 0)
        return state is not None and state.get("user", {}).get("name") == name

    async def member(self, role: str) -> YClient:
        """A member with `role` on the work, connected with the Python client."""
        member = await self.api.sign_up()
        await share(self.api, self.owner, self.work_id, member, role)
        return await YClient(self.api.app.sync_url, self.doc, token=member.token).connect()

    async def after_marker(self, sender: YClient) -> None:
        """Until the observer has `sender`'s own entry, sent after everything before it: the
        server handles one socket's frames in order, so by then it has handled those."""
        await sender.set_awareness({"user": {"name": "marker"}})
        await eventually(lambda: self.sees(sender.doc.client_id, "marker"), what="the marker")

    def present(self) -> dict[int, protocol.AwarenessEntry]:
        """The server's presence of the room, by client id."""
        live = self.api.app.adapters.rooms.rooms[self.doc]
        return {entry.client_id: entry for entry in live.presence.snapshot()}

    def refused_entries(self) -> float:
        return self.api.app.adapters.metrics.awareness_refused._value.get()


FORGED_CLOCK = 1000  # far beyond the victim's own: the server would have taken the forgery


@asynccontextmanager
async def scene(api: Api) -> AsyncIterator[Scene]:
    owner, watcher = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    doc = (await make_chapter(api, owner, work["work_id"]))["content_id"]
    await share(api, owner, work["work_id"], watcher, "viewer")
    async with NodeClient(name="林黛玉") as victim, NodeClient(name="观察者") as observer:
        await victim.connect(api.app.sync_url, doc, token=owner.token)
        await observer.connect(api.app.sync_url, doc, token=watcher.token)
        here = Scene(api, owner, work["work_id"], doc, victim, observer)
        await eventually(lambda: here.sees(victim.client_id, "林黛玉"), what="she is seen")
        yield here


@pytest.mark.parametrize("role", ["viewer", "editor"])
@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_nobody_sets_the_presence_of_another_client(api: Api, role: str) -> None:
    async with scene(api) as room:
        forger = await room.member(role)
        assert room.victim.client_id is not None
        spoofed = json.dumps({"user": {"name": f"SPOOFED-BY-{role.upper()}"}})
        forged = protocol.AwarenessEntry(room.victim.client_id, FORGED_CLOCK, spoofed)
        await forger.send_raw(protocol.awareness([forged]))
        await room.after_marker(forger)
        assert await room.sees(room.victim.client_id, "林黛玉"), await room.observer.awareness()
        assert room.present()[room.victim.client_id].clock < FORGED_CLOCK
        assert room.refused_entries() == 1
        await forger.close()


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_nobody_removes_the_presence_of_another_client(api: Api) -> None:
    async with scene(api) as room:
        remover = await room.member("editor")
        assert room.victim.client_id is not None
        removal = protocol.AwarenessEntry(room.victim.client_id, FORGED_CLOCK, "null")
        await remover.send_raw(protocol.awareness([removal]))
        await room.after_marker(remover)
        # A stock victim answers the removal of its own entry by announcing itself again, so
        # the observer would see it back soon: the server's clock tells whether it was removed.
        assert room.present()[room.victim.client_id].clock < FORGED_CLOCK, "it was removed"
        assert await room.sees(room.victim.client_id, "林黛玉"), await room.observer.awareness()
        assert room.refused_entries() == 1
        await remover.close()


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_a_client_reconnecting_with_its_client_id_is_present_again_at_once(
    api: Api,
) -> None:
    """y-websocket reconnects with the clock it had; the server recorded the departure with a
    newer one. Present again at once all the same, not at the client's next renewal (the Python
    client never renews by itself)."""
    async with scene(api) as room:
        returning = await YClient(api.app.sync_url, room.doc, token=room.owner.token).connect()
        await returning.set_awareness({"user": {"name": "宝玉"}})
        client_id = returning.doc.client_id
        await eventually(lambda: room.sees(client_id, "宝玉"), what="present")
        await returning.drop()
        await eventually(lambda: client_id not in room.present(), what="its departure")
        await returning.reconnect()
        await returning.set_awareness({"user": {"name": "宝玉又来了"}})
        await eventually(lambda: room.sees(client_id, "宝玉又来了"), what="back")
        assert room.refused_entries() == 0
        await returning.close()


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_its_user_takes_a_client_id_over_from_a_socket_that_still_looks_open(
    api: Api,
) -> None:
    """A reconnect before the server noticed that the old socket died: the user's new socket
    takes the id over, and the old socket's end then removes nothing."""
    async with scene(api) as room:
        url, token = api.app.sync_url, room.owner.token
        old = await YClient(url, room.doc, token=token).connect()
        await old.set_awareness({"user": {"name": "宝玉"}})
        client_id = old.doc.client_id
        await eventually(lambda: room.sees(client_id, "宝玉"), what="the first socket")

        new = await YClient(url, room.doc, token=token, client_id=client_id).connect()
        new._clock = old._clock
        await new.set_awareness({"user": {"name": "宝玉 (新)"}})
        await eventually(lambda: room.sees(client_id, "宝玉 (新)"), what="taken over")
        clock = new._clock
        live = api.app.adapters.rooms.rooms[room.doc]
        await old.close()
        await eventually(lambda: len(live.connections) == 3, what="the old socket left")
        assert room.present()[client_id].clock == clock, "the old socket's end removed it"
        assert new._clock == clock, "the new socket was told that it left"
        assert room.refused_entries() == 0
        await new.close()
