"""Administration: admins only; find users and orders; change a level; disable and enable an
account (sign-in refused, tokens refused, refresh tokens revoked, live sockets closed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.test_membership import at, buy, make_admin, membership, place
from tests.api.test_works import make_chapter, make_work, ok, refused
from tests.support.api import PASSWORD, Account, Api
from tests.support.waiting import eventually
from tests.support.yclient import YClient


async def sign_in(api: Api, account: Account) -> int:
    body = {"email": account.email, "password": PASSWORD}
    return (await api.call("POST", "/api/v1/auth/login", json=body)).status_code


async def test_only_admins_may_use_the_admin_api(api: Api) -> None:
    writer, premium = await api.sign_up(), await api.sign_up()
    await buy(api, premium)
    order = await place(api, writer)
    for account in (writer, premium):
        for method, path in (
            ("GET", "/api/v1/admin/users"),
            ("GET", f"/api/v1/admin/users/{writer.id}"),
            ("POST", f"/api/v1/admin/users/{writer.id}/disable"),
            ("GET", "/api/v1/admin/orders"),
            ("POST", f"/api/v1/admin/orders/{order['order_no']}/refund"),
        ):
            refused(await api.call(method, path, account), 403, 40301)
        body = {"level": "premium", "expire_at": "2099-01-01T00:00:00Z"}
        path = f"/api/v1/admin/users/{account.id}/membership"
        refused(await api.call("PUT", path, account, json=body), 403, 40301)
    refused(await api.call("GET", "/api/v1/admin/users"), 401)
    assert (await membership(api, writer))["level"] == "free"


async def test_find_users_with_search_and_pages(api: Api) -> None:
    admin = await make_admin(api)
    poets = [await api.sign_up(f"诗人{index}号") for index in range(3)]
    await api.sign_up("小说家")
    found = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": "诗人"}))
    assert found["total"] == 3
    assert {item["username"] for item in found["items"]} == {p.username for p in poets}
    first = ok(
        await api.call("GET", "/api/v1/admin/users", admin, params={"q": "诗人", "page_size": 2})
    )
    second = ok(
        await api.call(
            "GET", "/api/v1/admin/users", admin, params={"q": "诗人", "page_size": 2, "page": 2}
        )
    )
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {i["id"] for i in first["items"] + second["items"]} == {p.id for p in poets}
    by_mail = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": poets[1].email}))
    assert [item["id"] for item in by_mail["items"]] == [poets[1].id]
    wildcard = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": "%"}))
    assert wildcard["total"] == 0  # LIKE wildcards are matched literally
    admins = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"level": "admin"}))
    assert [item["id"] for item in admins["items"]] == [admin.id]
    one = ok(await api.call("GET", f"/api/v1/admin/users/{poets[0].id}", admin))
    assert one["username"] == poets[0].username and one["status"] == 1
    refused(await api.call("GET", "/api/v1/admin/users/999999", admin), 404)


async def test_find_orders_by_number_name_and_status(api: Api) -> None:
    admin, alice, bob = await make_admin(api), await api.sign_up("爱丽丝"), await api.sign_up()
    paid = await buy(api, alice, "basic", "monthly")
    pending = await place(api, bob, "premium", "yearly")
    listed = ok(await api.call("GET", "/api/v1/admin/orders", admin))
    assert listed["total"] == 2
    by_number = ok(
        await api.call("GET", "/api/v1/admin/orders", admin, params={"q": pending["order_no"]})
    )
    assert [o["order_no"] for o in by_number["items"]] == [pending["order_no"]]
    assert by_number["items"][0]["username"] == bob.username
    by_name = ok(await api.call("GET", "/api/v1/admin/orders", admin, params={"q": "爱丽"}))
    assert [o["order_no"] for o in by_name["items"]] == [paid["order_no"]]
    by_status = ok(await api.call("GET", "/api/v1/admin/orders", admin, params={"status": "paid"}))
    assert [o["order_no"] for o in by_status["items"]] == [paid["order_no"]]
    by_user = ok(await api.call("GET", "/api/v1/admin/orders", admin, params={"user_id": bob.id}))
    assert [o["order_no"] for o in by_user["items"]] == [pending["order_no"]]
    paged = ok(await api.call("GET", "/api/v1/admin/orders", admin, params={"page_size": 1}))
    assert paged["total"] == 2 and len(paged["items"]) == 1


async def test_change_a_level_by_hand(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    path = f"/api/v1/admin/users/{writer.id}/membership"
    refused(await api.call("PUT", path, admin, json={"level": "premium"}), 400, 40001)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    body = {"level": "basic", "expire_at": past}
    refused(await api.call("PUT", path, admin, json=body), 400, 40001)
    until = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    changed = ok(
        await api.call(
            "PUT", path, admin, json={"level": "premium", "expire_at": until.isoformat()}
        )
    )
    assert changed["member_level"] == "premium" and at(changed["member_expire_at"]) == until
    mine = await membership(api, writer)
    assert mine["level"] == "premium" and at(mine["expire_at"]) == until
    back = ok(await api.call("PUT", path, admin, json={"level": "free"}))
    assert back["member_level"] == "free" and back["member_expire_at"] is None
    assert (await membership(api, writer))["level"] == "free"
    own = f"/api/v1/admin/users/{admin.id}/membership"
    refused(await api.call("PUT", own, admin, json={"level": "free"}), 409)


async def test_disabling_a_user_refuses_everything_and_closes_live_sockets(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    work = await make_work(api, writer)
    chapter = await make_chapter(api, writer, work["id"])
    socket = YClient(api.app.sync_url, chapter["content_id"], token=writer.token)
    await socket.connect()
    try:
        disabled = ok(await api.call("POST", f"/api/v1/admin/users/{writer.id}/disable", admin))
        assert disabled["status"] == 0
        # The socket closes at its next re-check (membership_recheck_s), with 4401.
        await eventually(socket.closed.is_set, what="the re-check closed the socket")
        assert socket.close_code == 4401
    finally:
        await socket.close()
    assert await sign_in(api, writer) == 403
    refused(await api.call("GET", "/api/v1/users/me", writer), 403, 40302)
    refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": writer.refresh_token}
    )
    assert refresh.status_code in (401, 403), refresh.text
    again = YClient(api.app.sync_url, chapter["content_id"], token=writer.token)
    await again.connect(wait_synced=False)
    try:
        await eventually(again.closed.is_set, what="the socket refused")
        assert again.close_code == 4401
    finally:
        await again.close()
    listed = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"status": 0}))
    assert [item["id"] for item in listed["items"]] == [writer.id]

    enabled = ok(await api.call("POST", f"/api/v1/admin/users/{writer.id}/enable", admin))
    assert enabled["status"] == 1
    assert await sign_in(api, writer) == 200
    # The refresh token revoked while disabled stays revoked.
    refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": writer.refresh_token}
    )
    assert refresh.status_code == 401
    refused(await api.call("POST", f"/api/v1/admin/users/{admin.id}/disable", admin), 409)
