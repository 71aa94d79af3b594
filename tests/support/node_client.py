"""A real JavaScript Yjs client (yjs + y-websocket in Node), driven from asyncio tests.

`tests/js/client.mjs` runs as a subprocess and takes one JSON command per line on stdin, replying
with one JSON line on stdout carrying the command's `id`. Its npm packages must be installed with
`npm ci --prefix tests/js`; without them the tests fail (CI installs them), they do not skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections import deque
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"
DRIVER = JS_DIR / "client.mjs"
REQUIRED_PACKAGES = ("yjs", "y-websocket", "ws")

_STDOUT_LIMIT = 64 * 1024 * 1024  # one reply line may carry a whole document's text


class NodeClientError(RuntimeError):
    """The driver answered a command with an error, or did not answer at all."""


def require_node_packages() -> str:
    """Path of the `node` executable, once Node and the npm packages of tests/js are present.

    Raises (so that the test fails rather than skips) with what to run when they are missing.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is needed for the JavaScript interop tests: `node` not on PATH")
    missing = [name for name in REQUIRED_PACKAGES if not (JS_DIR / "node_modules" / name).is_dir()]
    if missing:
        raise RuntimeError(
            f"npm packages {', '.join(missing)} are missing from {JS_DIR / 'node_modules'}: "
            "run `npm ci --prefix tests/js` from the repository root"
        )
    return node


class NodeClient:
    """One Node process holding (at most) one `WebsocketProvider` on one `Y.Doc`."""

    def __init__(self, *, name: str = "node", color: str = "#888888") -> None:
        self.name = name
        self.color = color
        self.client_id: int | None = None
        self.url: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=200)
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> NodeClient:
        node = require_node_packages()
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_STDOUT_LIMIT,
        )
        self._readers = [
            asyncio.create_task(self._read_replies(), name=f"node-stdout:{self.name}"),
            asyncio.create_task(self._read_stderr(), name=f"node-stderr:{self.name}"),
        ]
        return self

    @property
    def stderr(self) -> str:
        return "\n".join(self._stderr)

    async def command(self, cmd: str, *, timeout: float = 10, **args: Any) -> dict[str, Any]:
        """Send one command and wait for its reply; raises `NodeClientError` on an error reply."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise NodeClientError(f"{self.name}: driver not started")
        if proc.returncode is not None:
            raise NodeClientError(
                f"{self.name}: driver exited with {proc.returncode}; stderr:\n{self.stderr}"
            )
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            line = json.dumps({"id": command_id, "cmd": cmd, **args}, ensure_ascii=False)
            proc.stdin.write(line.encode("utf-8") + b"\n")
            await proc.stdin.drain()
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise NodeClientError(
                f"{self.name}: no reply to {cmd!r} within {timeout} s; stderr:\n{self.stderr}"
            ) from None
        finally:
            self._pending.pop(command_id, None)
        if "error" in reply:
            raise NodeClientError(f"{self.name}: {cmd!r} failed: {reply['error']}")
        return reply

    async def _read_replies(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        while line := await stdout.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                self._stderr.append(f"(not a JSON reply on stdout) {line!r}")
                continue
            future = self._pending.get(reply.get("id"))
            if future is not None and not future.done():
                future.set_result(reply)
        gone = NodeClientError(f"{self.name}: driver closed its stdout; stderr:\n{self.stderr}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(gone)

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self._stderr.append(line.decode("utf-8", errors="replace").rstrip())

    # The commands of client.mjs

    async def connect(
        self,
        url: str,
        room: str,
        *,
        token: str | None = None,
        encode_room: bool = False,
        timeout: float = 10,
    ) -> NodeClient:
        """`new WebsocketProvider(url, room, doc, ...)`, returning once it has synced.

        By default `room` goes into the URL as y-websocket puts it: unencoded (`ws` then
        percent-encodes what a URL cannot hold raw, such as non-ASCII characters and spaces, but
        leaves `%XX` sequences alone). `encode_room` passes `encodeURIComponent(room)` instead.
        """
        args: dict[str, Any] = {
            "url": url,
            "room": room,
            "name": self.name,
            "color": self.color,
            "encodeRoom": encode_room,
            "timeoutMs": int(timeout * 1000),
        }
        if token is not None:
            args["token"] = token
        reply = await self.command("connect", timeout=timeout + 5, **args)
        self.client_id = reply["clientID"]
        self.url = reply["url"]
        return self

    async def insert(self, index: int, text: str) -> int:
        """Insert at `index` in JavaScript string units (UTF-16); returns the new length."""
        return (await self.command("insert", index=index, text=text))["length"]

    async def insert_after(self, anchor: str, text: str) -> int:
        """Insert right after the first occurrence of `anchor`, located and used atomically."""
        return (await self.command("insert", after=anchor, text=text))["length"]

    async def insert_before(self, anchor: str, text: str) -> int:
        """Insert right before the first occurrence of `anchor`, located and used atomically."""
        return (await self.command("insert", before=anchor, text=text))["length"]

    async def append(self, text: str) -> int:
        return (await self.command("append", text=text))["length"]

    async def text(self) -> str:
        return (await self.command("text"))["text"]

    async def delta(self) -> list[dict[str, Any]]:
        """`Y.Text.toDelta()` in Node's Yjs: `[{"insert": str, "attributes"?: {...}}, ...]`."""
        return (await self.command("delta"))["delta"]

    async def awareness(self) -> dict[int, dict[str, Any]]:
        """The awareness states of the other clients, by client id."""
        reply = await self.command("awareness")
        return {int(client_id): state for client_id, state in reply["states"]}

    async def set_awareness(self, field: str, value: Any) -> None:
        await self.command("setAwareness", field=field, value=value)

    async def type_text(
        self,
        text: str,
        *,
        after: str | None = None,
        before: str | None = None,
        interval: float = 0.01,
    ) -> int:
        """Type `text` a character at a time, each right after/before the first occurrence of
        an anchor string (located afresh each time); returns once all are typed."""
        args: dict[str, Any] = {"text": text, "intervalMs": int(interval * 1000)}
        if after is not None:
            args["after"] = after
        if before is not None:
            args["before"] = before
        timeout = 10 + len(text) * (interval + 0.05)
        return (await self.command("type", timeout=timeout, **args))["typed"]

    async def cursors(self) -> tuple[str, list[dict[str, Any]]]:
        """This client's text and the other clients' awareness cursors resolved in it, as
        y-codemirror.next resolves them (`anchor`/`head`: JavaScript string indices or None)."""
        reply = await self.command("cursors")
        return reply["text"], reply["cursors"]

    async def watch(self, strings: list[str]) -> None:
        """Note, after every change from now on, which of `strings` the text holds."""
        await self.command("watch", strings=strings)

    async def watched(self) -> tuple[set[str], int]:
        """The watched strings the text ever held since `watch`, and the changes it went through."""
        reply = await self.command("watched")
        return set(reply["seen"]), reply["changes"]

    async def ever_shown_as_ai(self) -> set[str]:
        """Every character `toDelta()` ever marked with an `ai` attribute since `watch`."""
        return set((await self.command("watched"))["aiMarked"])

    async def status(self) -> dict[str, Any]:
        return await self.command("status")

    async def close(self) -> None:
        """Destroy the provider (the driver process keeps running)."""
        await self.command("close")

    async def exit(self, timeout: float = 5) -> None:
        """End the driver process, politely first."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(NodeClientError, ConnectionError):
                await self.command("exit", timeout=timeout)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for reader in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._readers = []

    async def kill(self) -> None:
        """SIGKILL the driver: its socket ends without a goodbye (no awareness removal sent)."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def __aenter__(self) -> NodeClient:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.exit()
