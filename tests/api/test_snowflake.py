"""The Snowflake guide's saved words read back: the premise and every step, by every member."""

from __future__ import annotations

from tests.api.test_works import make_work, ok, refused, share
from tests.support.api import Api

PREMISE = "少女阿青在沙漠里寻找失落的水城"


async def test_premise_and_steps_are_read_back_by_a_viewer(api: Api) -> None:
    owner, viewer, stranger = await api.sign_up(), await api.sign_up(), await api.sign_up()
    work_id = (await make_work(api, owner))["id"]
    await share(api, owner, work_id, viewer, "viewer")
    path = f"/api/v1/works/{work_id}/snowflake"
    assert ok(await api.call("GET", f"{path}/premise", viewer)) == {"premise": None}

    ok(await api.call("PUT", f"{path}/premise", owner, json={"premise": PREMISE}))
    steps = {1: "阿青为救干涸的故乡，穿越沙漠寻找水城。", 3: "阿青：倔强，想证明自己。"}
    for number, text in steps.items():
        ok(await api.call("PUT", f"{path}/{number}", owner, json={"content": text}))

    # A reload, or a co-author: everything saved comes back, from a fresh request.
    assert ok(await api.call("GET", f"{path}/premise", viewer)) == {"premise": PREMISE}
    listed = ok(await api.call("GET", path, viewer))
    assert {s["step"]: s["content"] for s in listed if s["content"]} == steps
    one = ok(await api.call("GET", f"{path}/3", viewer))
    assert (one["step"], one["name"], one["content"]) == (3, "人物概要", steps[3])
    assert ok(await api.call("GET", f"{path}/2", viewer))["content"] is None

    refused(await api.call("PUT", f"{path}/premise", viewer, json={"premise": "改掉"}), 403)
    refused(await api.call("GET", f"{path}/premise", stranger), 404)
    refused(await api.call("GET", f"{path}/1", stranger), 404)
    refused(await api.call("GET", f"{path}/11", viewer), 422)
