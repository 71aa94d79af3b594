"""Inviting an email that has no account yet: the invitation is kept (202), explained in the
caller's language, listed to the owner, cancellable, and claimed by registering with that email."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_works import make_work, ok, refused, share
from tests.support.api import PASSWORD, Account, Api
from tests.support.waiting import eventually


async def invite(
    api: Api, owner: Account, work_id: int, who: str, role: str, language: str = "zh"
) -> httpx.Response:
    body = {"username_or_email": who, "role": role}
    headers = {"Accept-Language": language}
    return await api.call(
        "POST", f"/api/v1/works/{work_id}/members", owner, json=body, headers=headers
    )


async def register_as(api: Api, username: str, email: str) -> Account:
    """Sign up with this exact email (`Api.sign_up` picks its own)."""
    ok(await api.call("POST", "/api/v1/auth/code", json={"email": email}))
    body = {
        "username": username,
        "email": email,
        "password": PASSWORD,
        "code": api.last_code(email),
    }
    data = ok(await api.call("POST", "/api/v1/auth/register", json=body), 201)
    return Account(data["user_id"], username, email, data["token"], data["refresh_token"])


async def notifications(api: Api, account: Account) -> list[dict[str, Any]]:
    return ok(await api.call("GET", "/api/v1/notifications", account))["items"]


async def test_an_email_without_an_account_joins_when_it_registers(api: Api) -> None:
    owner, editor, stranger = await api.sign_up(), await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner, title="沙海行")
    work_id = work["id"]
    await share(api, owner, work_id, editor, "editor")

    kept = await invite(api, owner, work_id, "  Ah.Qing@Example.com ", "viewer")
    assert kept.status_code == 202, kept.text
    assert (
        kept.json()["message"]
        == "该邮箱还没有注册账号：邀请已保存，对方用这个邮箱注册后会自动加入本作品。"
    )
    pending = kept.json()["data"]
    assert pending["pending"] is True and pending["email"] == "ah.qing@example.com"
    assert (pending["role"], pending["invited_by"], pending["work_id"]) == (
        "viewer",
        owner.id,
        work_id,
    )

    # Invited again, in English, as an editor: the same invitation, its role changed.
    again = await invite(api, owner, work_id, "ah.qing@example.com", "editor", language="en")
    assert again.status_code == 202, again.text
    assert again.json()["message"].startswith("No account uses this email yet")
    assert (again.json()["data"]["id"], again.json()["data"]["role"]) == (pending["id"], "editor")

    invitations = f"/api/v1/works/{work_id}/invitations"
    listed = ok(await api.call("GET", invitations, owner))
    assert [(i["id"], i["email"], i["role"]) for i in listed] == [
        (pending["id"], "ah.qing@example.com", "editor")
    ]
    refused(await api.call("GET", invitations, editor), 403)
    refused(await api.call("GET", invitations, stranger), 404)
    mails = await eventually(
        lambda: [m for m in api.mails() if m["to"] == "ah.qing@example.com"], what="the invitation"
    )
    assert len(mails) == 1 and "沙海行" in mails[0]["body"] and owner.username in mails[0]["body"]

    newcomer = await register_as(api, "阿青", "ah.qing@example.com")
    detail = ok(await api.call("GET", f"/api/v1/works/{work_id}", newcomer))
    assert detail["role"] == "editor"
    assert (newcomer.id, "editor") in [(m["user_id"], m["role"]) for m in detail["members"]]
    assert ok(await api.call("GET", invitations, owner)) == []
    welcome = [n for n in await notifications(api, newcomer) if n["kind"] == "invitation"]
    assert [(n["title"], n["data"]["work_id"]) for n in welcome] == [
        ("你已加入《沙海行》", work_id)
    ]
    joined = [n for n in await notifications(api, owner) if n["data"].get("change") == "joined"]
    assert [n["data"]["user_id"] for n in joined] == [newcomer.id]


async def test_a_cancelled_invitation_grants_nothing(api: Api) -> None:
    owner, editor = await api.sign_up(), await api.sign_up()
    work_id = (await make_work(api, owner))["id"]
    await share(api, owner, work_id, editor, "editor")
    kept = await invite(api, owner, work_id, "late@example.com", "editor")
    assert kept.status_code == 202, kept.text
    one = f"/api/v1/works/{work_id}/invitations/{kept.json()['data']['id']}"

    refused(await api.call("DELETE", one, editor), 403)
    ok(await api.call("DELETE", one, owner))
    refused(await api.call("DELETE", one, owner), 404)
    assert ok(await api.call("GET", f"/api/v1/works/{work_id}/invitations", owner)) == []

    late = await register_as(api, "迟到者", "late@example.com")
    refused(await api.call("GET", f"/api/v1/works/{work_id}", late), 404)
    assert ok(await api.call("GET", "/api/v1/works", late))["items"] == []


async def test_an_unknown_username_says_to_use_an_email(api: Api) -> None:
    owner = await api.sign_up()
    work_id = (await make_work(api, owner))["id"]
    zh = refused(await invite(api, owner, work_id, "无此人", "editor"), 404, 40402)
    assert "邮箱" in zh["message"]
    en = refused(await invite(api, owner, work_id, "无此人", "editor", language="en"), 404, 40402)
    assert "enter their email" in en["message"]
    refused(await invite(api, owner, work_id, "not@an-address", "editor"), 422)
    assert ok(await api.call("GET", f"/api/v1/works/{work_id}/invitations", owner)) == []


async def test_only_the_owner_learns_whether_an_email_has_an_account(api: Api) -> None:
    """An editor, a viewer and a stranger get the same refusal for an address that has an account
    and for one that has none: the account is looked up only for the owner."""
    owner = await api.sign_up()
    known = await api.sign_up()
    work_id = (await make_work(api, owner))["id"]
    editor, viewer, stranger = await api.sign_up(), await api.sign_up(), await api.sign_up()
    await share(api, owner, work_id, editor, "editor")
    await share(api, owner, work_id, viewer, "viewer")
    for caller in (editor, viewer, stranger):
        answers = []
        for address in (known.email, "nobody-here@example.com"):
            response = await invite(api, caller, work_id, address, "editor")
            body = response.json()
            answers.append((response.status_code, body["code"], body["message"]))
        assert answers[0] == answers[1] and answers[0][0] in (403, 404), answers
    members = ok(await api.call("GET", f"/api/v1/works/{work_id}/members", owner))
    assert known.id not in [member["user_id"] for member in members]
