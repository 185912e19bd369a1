"""Access that can be taken back: tokens listed, revoked and expiring; users disabled, deleted, re-roled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.core.clock import FakeClock
from hub.hub import Hub
from hub.testing import write_config


async def _token(hub: Hub, username: str, role: str, expires_in: float | None = None) -> tuple[Any, str]:
    user = await hub.auth.user_by_name(username) or await hub.auth.add_user(
        username, "correct horse battery", role
    )
    return user, await hub.auth.create_token(user, f"{username}-token", expires_in=expires_in)


def _session(hub: Hub, token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=hub.http.url, headers={"Authorization": f"Bearer {token}"})


async def test_a_revoked_token_fails_at_once(hub: Hub, hub_client: aiohttp.ClientSession) -> None:
    _, token = await _token(hub, "lek", "operator")
    async with _session(hub, token) as lek:
        assert (await lek.get("/api/states")).status == 200
        listed = await (await hub_client.get("/api/tokens")).json()
        mine = next(t for t in listed if t["username"] == "lek")
        assert "token_hash" not in mine and token not in str(listed)
        # a non-admin cannot list or revoke
        assert (await lek.get("/api/tokens")).status == 403
        assert (await lek.delete(f"/api/tokens/{mine['id']}")).status == 403
        revoked = await hub_client.delete(f"/api/tokens/{mine['id']}")
        assert revoked.status == 200, await revoked.text()
        assert (await lek.get("/api/states")).status == 401
        assert (await hub_client.delete(f"/api/tokens/{mine['id']}")).status == 404
    entries = await hub.audit.query(action="token.revoke")
    assert entries and entries[0].target == mine["id"] and entries[0].actor == "test-admin"


async def test_a_revoked_token_ends_its_open_stream(hub: Hub, hub_client: aiohttp.ClientSession) -> None:
    _, token = await _token(hub, "nok", "viewer")
    async with _session(hub, token) as nok:
        stream = await nok.get("/api/stream", timeout=aiohttp.ClientTimeout(total=None))
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        mine = next(t for t in await hub.auth.tokens() if t.username == "nok")
        assert (await hub_client.delete(f"/api/tokens/{mine.id}")).status == 200

        async def drained() -> None:
            while await stream.content.readline():
                pass

        # the stream ends now, not at the next keepalive or the next event
        await asyncio.wait_for(drained(), 2)
        stream.close()


async def test_a_token_can_expire(make_hub: Any, clock: FakeClock) -> None:
    hub = await make_hub()
    _, token = await _token(hub, "somsak", "viewer", expires_in=3600)
    assert await hub.auth.user_for_token(token) is not None
    [info] = [t for t in await hub.auth.tokens() if t.username == "somsak"]
    assert info.expires_at == pytest.approx(clock.time() + 3600)
    await clock.advance(3601)
    assert await hub.auth.user_for_token(token) is None


async def test_roles_disable_delete_and_the_last_admin(hub: Hub, hub_client: aiohttp.ClientSession) -> None:
    users = await (await hub_client.get("/api/users")).json()
    admin = next(u for u in users if u["username"] == "test-admin")
    lek, lek_token = await _token(hub, "lek", "viewer")

    # role change takes effect on the next request
    async with _session(hub, lek_token) as session:
        assert (await session.post("/api/events/x", json={})).status == 403
        changed = await hub_client.patch(f"/api/users/{lek.id}", json={"role": "operator"})
        assert changed.status == 200 and (await changed.json())["role"] == "operator"
        assert (await session.post("/api/events/x", json={})).status == 200
        # disabled: the token stops working; the list still shows the user, disabled
        assert (await hub_client.patch(f"/api/users/{lek.id}", json={"disabled": True})).status == 200
        assert (await session.get("/api/states")).status == 401
    listed = await (await hub_client.get("/api/users?all=1")).json()
    assert next(u for u in listed if u["username"] == "lek")["disabled"] is True

    # the last admin can be neither demoted, nor disabled, nor deleted
    for method, body in (("patch", {"role": "viewer"}), ("patch", {"disabled": True}), ("delete", None)):
        refused = await getattr(hub_client, method)(f"/api/users/{admin['id']}", json=body)
        assert refused.status == 409, await refused.text()
        assert "last admin" in (await refused.json())["error"]
    assert (await hub_client.get("/api/states")).status == 200

    # with a second admin, the first may step down
    other, _ = await _token(hub, "second-admin", "admin")
    assert (await hub_client.delete(f"/api/users/{lek.id}")).status == 200
    assert await hub.auth.find_user("lek") is None
    assert (await hub_client.patch(f"/api/users/{other.id}", json={"role": "viewer"})).status == 200
    assert (await hub_client.patch(f"/api/users/{lek.id}", json={"role": "viewer"})).status == 404
    assert (await hub_client.patch(f"/api/users/{other.id}", json={"role": "god"})).status == 400

    actions = [e.action for e in await hub.audit.query(actor="test-admin")]
    for action in ("user.role", "user.disable", "user.delete"):
        assert action in actions, actions
    refusals = [e for e in await hub.audit.query(action="user.delete") if e.result != "ok"]
    assert refusals, "a refused attempt on the last admin is audited too"


async def test_access_routes_are_in_openapi(hub_client: aiohttp.ClientSession) -> None:
    spec = await (await hub_client.get("/api/openapi.json")).json()
    assert "delete" in spec["paths"]["/api/tokens/{token_id}"]
    assert {"patch", "delete"} <= set(spec["paths"]["/api/users/{user_id}"])


def test_cli_lists_and_revokes_tokens_and_manages_users(config_dir: Path) -> None:
    path = str(write_config(config_dir))
    run = CliRunner().invoke
    for name, role in (("somchai", "admin"), ("lek", "viewer")):
        assert (
            run(cli, ["user", "add", name, "--role", role, "-c", path], input="a long password\n").exit_code
            == 0
        )
    made = run(cli, ["token", "create", "lek", "--name", "phone", "--expires", "30d", "-c", path])
    assert made.exit_code == 0 and made.output.startswith("shub_"), made.output
    listed = run(cli, ["token", "list", "-c", path])
    assert listed.exit_code == 0 and "phone" in listed.output and "lek" in listed.output
    assert made.output.strip() not in listed.output
    token_id = next(line.split()[0] for line in listed.output.splitlines() if "phone" in line)
    assert run(cli, ["token", "revoke", token_id, "-c", path]).exit_code == 0
    assert "phone" not in run(cli, ["token", "list", "-c", path]).output
    assert run(cli, ["token", "revoke", token_id, "-c", path]).exit_code == 1
    bad = run(cli, ["token", "create", "lek", "--expires", "soon", "-c", path])
    assert bad.exit_code != 0 and "expires" in bad.output

    assert run(cli, ["user", "role", "lek", "operator", "-c", path]).exit_code == 0
    assert run(cli, ["user", "disable", "lek", "-c", path]).exit_code == 0
    users = run(cli, ["user", "list", "-c", path])
    assert "lek" in users.output and "operator" in users.output and "disabled" in users.output
    last = run(cli, ["user", "disable", "somchai", "-c", path])
    assert last.exit_code == 1 and "last admin" in last.output
    assert run(cli, ["user", "delete", "somchai", "-c", path]).exit_code == 1
    assert run(cli, ["user", "enable", "lek", "-c", path]).exit_code == 0
    assert run(cli, ["user", "delete", "lek", "-c", path]).exit_code == 0
    assert "lek" not in run(cli, ["user", "list", "-c", path]).output


async def test_an_admin_issues_an_expiring_token(
    hub: Hub, hub_client: aiohttp.ClientSession, clock: FakeClock
) -> None:
    await hub.auth.add_user("phone-user", "correct horse battery", "viewer")
    made = await hub_client.post(
        "/api/tokens", json={"username": "phone-user", "name": "phone", "expires_in": 600}
    )
    assert made.status == 201, await made.text()
    body = await made.json()
    assert body["token"].startswith("shub_") and body["expires_at"] == pytest.approx(clock.time() + 600)
    async with _session(hub, body["token"]) as phone:
        assert (await phone.get("/api/states")).status == 200
        await clock.advance(601)
        assert (await phone.get("/api/states")).status == 401
    for bad in (
        {"username": "phone-user", "expires_in": 0},
        {"username": "phone-user", "expires_in": "soon"},
    ):
        assert (await hub_client.post("/api/tokens", json=bad)).status == 400
    assert (await hub_client.post("/api/tokens", json={"username": "nobody"})).status == 404
    [entry] = await hub.audit.query(action="token.create")
    assert entry.target == body["id"] and body["token"] not in str(entry.detail)
