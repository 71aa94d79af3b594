from __future__ import annotations

from tests.support.server import ServerProcess
from tests.support.yclient import YClient, wait_until


async def test_two_python_clients_converge_on_chinese_text(server: ServerProcess) -> None:
    room = "第一章 %E4 测试/1"
    a = await YClient(server.sync_url, room).connect()
    b = await YClient(server.sync_url, room).connect()
    a.append("春眠不觉晓，")
    await wait_until(lambda: str(b.text) == "春眠不觉晓，")
    b.append("处处闻啼鸟。")
    await wait_until(lambda: str(a.text) == str(b.text) == "春眠不觉晓，处处闻啼鸟。")
    late = await YClient(server.sync_url, room).connect()
    assert str(late.text) == "春眠不觉晓，处处闻啼鸟。"
    for client in (a, b, late):
        await client.close()
