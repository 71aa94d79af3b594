"""The REST side of the AI benchmark: a signed-up writer, a novel, a chapter of prose."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from ai_watcher import EVENT_TIMEOUT_S
from processes import InkweaveNode

PASSWORD = "bench-horse-9"
# Chinese text for the chapter: the offline n-gram model learns from it.
PROSE = (
    "雨停的时候，林晚推开了旧书店的门。门上的铜铃响了一声，像是替谁叹了口气。"
    "店里没有人，只有一盏台灯还亮着，灯下压着一封没有寄出的信。她认得那笔迹，"
    "是外祖母的。信上说，等到桂花开了，就回镇上来看看。林晚把信折好，放进口袋，"
    "抬头看见窗外的河面上起了一层薄雾，远处的石桥在雾里时隐时现。"
)


@dataclass
class Session:
    """A signed-up writer's REST calls on one chapter."""

    http: httpx.AsyncClient
    token: str
    work_id: int
    chapter_id: int
    content_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The `data` of a successful answer; anything else raises."""
        response = await self.http.request(method, path, headers=self.auth, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()["data"]

    async def continue_(self, length: int) -> str:
        """Ask for a continuation at the end of the chapter; its task id."""
        body = {
            "work_id": self.work_id,
            "chapter_id": self.chapter_id,
            "length": length,
            "position": None,
        }
        return (await self.call("POST", "/api/v1/ai/continue", json=body))["task_id"]

    async def finished_task(self, task_id: str, timeout: float = EVENT_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task = await self.call("GET", f"/api/v1/ai/tasks/{task_id}")
            if task["status"] not in ("queued", "processing"):
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task['status']} after {timeout} s")
            await asyncio.sleep(0.1)


def _code_in_outbox(outbox_path: Path, email: str) -> str | None:
    """The 6-digit code of the latest mail to `email` in the node's outbox, if any."""
    if not outbox_path.exists():
        return None
    lines = outbox_path.read_text(encoding="utf-8").splitlines()
    bodies = [m["body"] for m in map(json.loads, lines) if m["to"] == email]
    found = re.search(r"\b(\d{6})\b", bodies[-1]) if bodies else None
    return found.group(1) if found else None


async def _verification_code(outbox_path: Path, email: str) -> str:
    """Wait (at most 10 s) for the code mailed to `email`."""
    deadline = time.monotonic() + 10
    while (code := _code_in_outbox(outbox_path, email)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no verification code in {outbox_path}")
        await asyncio.sleep(0.1)
    return code


async def sign_up_and_write(server: InkweaveNode, http: httpx.AsyncClient) -> Session:
    """A user (code from the outbox), a novel, a chapter with ~2,000 characters of prose."""
    email = f"bench-{server.port}@example.com"
    sent = await http.post("/api/v1/auth/code", json={"email": email})
    sent.raise_for_status()
    code = await _verification_code(server.data_dir / "outbox.jsonl", email)
    registered = await http.post(
        "/api/v1/auth/register",
        json={"username": "测速作者", "email": email, "password": PASSWORD, "code": code},
    )
    if registered.status_code != 201:
        raise RuntimeError(f"register: {registered.status_code} {registered.text[:500]}")
    token = registered.json()["data"]["token"]
    session = Session(http, token, 0, 0, "")
    work = await session.call("POST", "/api/v1/works", json={"title": "测速", "type": "novel"})
    session.work_id = work["work_id"]
    chapter = await session.call(
        "POST", f"/api/v1/works/{session.work_id}/chapters", json={"title": "第一章"}
    )
    session.chapter_id, session.content_id = chapter["id"], chapter["content_id"]
    await session.call(
        "PUT",
        f"/api/v1/works/{session.work_id}/content",
        json={"chapter_id": session.chapter_id, "content": "\n\n".join([PROSE] * 15)},
    )
    return session
