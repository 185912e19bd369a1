"""Station workers on one PostgreSQL share their users, sessions, API tokens and audit log.

Two workers in one process (as test_shared_hub_state.py), each with its own data
folder and SQLite file, behind no proxy: a browser moves between them freely.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from click.testing import CliRunner

from hub.cli import cli
from hub.hub import Hub
from hub.storage_pg import SharedStorage
from hub.testing_postgres import PostgresServer
from integrations.federation.testing import FederationLab, station_config, until

PASSWORD = "correct horse battery"


async def worker(make_hub: Any, lab: FederationLab, url: str, folder: Path) -> Hub:
    return await make_hub(
        lab.station_block(share_group="ccoc", database=url), base=station_config(), folder=folder
    )


def client(hub: Hub, **kwargs: Any) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=hub.http.url, cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs)


def login_form(page: str, username: str) -> dict[str, str]:
    """The login form's fields (its pre-login CSRF token is in the page and a cookie)."""
    form = page.split('id="login-form"', 1)[1].split("</form>", 1)[0]
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]*)"', form)
    assert match, "no csrf_token in the login form"
    return {"csrf_token": html.unescape(match.group(1)), "username": username, "password": PASSWORD}


async def post_login(session: aiohttp.ClientSession, username: str) -> aiohttp.ClientResponse:
    page = await (await session.get("/login")).text()
    async with session.post("/login", data=login_form(page, username), allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_one_account_one_session_one_audit_log_for_every_worker(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    a = await worker(make_hub, lab, postgres_url, tmp_path / "a")
    b = await worker(make_hub, lab, postgres_url, tmp_path / "b")
    assert isinstance(a.shared_storage, SharedStorage) and isinstance(b.shared_storage, SharedStorage)
    # Added once, with the CLI and the workers' config: both know the officer.
    for name, role in (("somchai", "operator"), ("chief", "admin")):
        added = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["user", "add", name, "--role", role, "-c", str(a.config_path)],
            input=f"{PASSWORD}\n",
        )
        assert added.exit_code == 0, added.output
    assert await a.storage.fetchall("SELECT 1 FROM users") == [], "an account in a worker's own SQLite file"

    async with client(a) as on_a, client(b) as on_b:
        assert (await post_login(on_a, "somchai")).status == 303
        assert (await post_login(on_b, "somchai")).status == 303
        cookie = next(c.value for c in on_a.cookie_jar if c.key == "shub_session")
        # The session made on A is good on B (a proxy without sticky sessions).
        async with client(b, cookies={"shub_session": cookie}) as moved:
            assert (await moved.get("/api/states")).status == 200
            stream = await moved.get("/api/stream", timeout=aiohttp.ClientTimeout(total=None))
            assert stream.status == 200
            assert (await stream.content.readline()).startswith(b": connected")
            # A token made on A, used on B; the admin disables the officer on A.
            chief = await a.auth.user_by_name("chief")
            assert chief is not None
            token = await a.auth.create_token(chief, "desk")
            async with client(b, headers={"Authorization": f"Bearer {token}"}) as admin_on_b:
                users = await (await admin_on_b.get("/api/users")).json()
                somchai = next(u for u in users if u["username"] == "somchai")
                async with client(a, headers={"Authorization": f"Bearer {token}"}) as admin_on_a:
                    disabled = await admin_on_a.patch(f"/api/users/{somchai['id']}", json={"disabled": True})
                    assert disabled.status == 200, await disabled.text()

                async def drained() -> None:
                    while await stream.content.readline():
                        pass

                # B's open stream ends now (PostgreSQL's NOTIFY), not at its next keep-alive.
                started = time.monotonic()
                await asyncio.wait_for(drained(), 5)
                assert time.monotonic() - started < 5
                stream.close()
                assert b.access_relay.heard >= 1
                assert (await moved.get("/api/states")).status == 401

                # One audit log: what each worker and the CLI wrote, on B's CCOC audit page.
                logged = await (await admin_on_b.get("/api/ccoc/audit", params={"limit": "50"})).json()
    actions = [(e["action"], e["actor"]) for e in logged]
    assert actions.count(("login", "somchai")) == 2  # one on each worker
    assert ("user.disable", "chief") in actions
    assert sum(1 for action, actor in actions if action == "user.add" and actor.startswith("cli")) == 2
    assert {e.id for e in await a.audit.query(limit=100)} == {e.id for e in await b.audit.query(limit=100)}
    # A signed link one worker made (LINE's incident card, a patrol QR) is good on the other.
    query = parse_qs(urlsplit(a.signer.sign("/incident/x", 600)).query)
    assert b.signer.verify("/incident/x", query["exp"][0], query["sig"][0])


async def test_the_shared_database_down_refuses_logins_in_thai_and_the_worker_runs_on(
    make_hub: Any, mosquitto_factory: Any, postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    hub = await worker(make_hub, lab, postgres_url, tmp_path / "w")
    await hub.auth.add_user("somchai", PASSWORD, "admin")
    token = await hub.auth.create_token(await hub.auth.user_by_name("somchai"), "desk")  # type: ignore[arg-type]
    dbname = postgres_url.split("@/", 1)[1].split("?", 1)[0]
    async with client(hub) as browser, client(hub, headers={"Authorization": f"Bearer {token}"}) as api:
        login_page = await browser.get("/login")  # the form (and its pre-login CSRF cookie) first
        assert login_page.status == 200
        form = login_form(await login_page.text(), "somchai")
        postgres_server.admin(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        postgres_server.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
        )
        try:
            refused = await browser.post("/login", data=form, allow_redirects=False)
            text = await refused.text()
            assert refused.status == 503, text[:300]
            assert "ฐานข้อมูลกลางไม่ตอบ" in text and "Traceback" not in text and "psycopg" not in text
            again = await browser.get("/login")
            assert again.status == 503 and "ฐานข้อมูลกลางไม่ตอบ" in await again.text()
            answer = await api.get("/api/states")
            assert answer.status == 503 and "shared database" in (await answer.json())["error"]
            assert (await api.get("/no-such-page")).status == 404  # the site's 404, not a 500
            # An action already done is audited without waiting: queued until the server is back.
            started = time.monotonic()
            await hub.audit.log_done("somchai", "service.call", "sos.press")
            await hub.audit.log_done("somchai", "service.call", "sos.press_again")
            assert time.monotonic() - started < 5
            assert hub.shared_storage.pending == 2
            assert hub.state == "running"
        finally:
            postgres_server.admin(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        # Back: the queued entries land, and logging in works again.
        await until(lambda: hub.shared_storage.pending == 0, within=20)
        targets = [e.target for e in await hub.audit.query(action="service.call")]
        assert targets == ["sos.press_again", "sos.press"]
        assert (await post_login(browser, "somchai")).status == 303


async def test_a_password_guesser_gets_one_allowance_across_the_workers(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    from hub.http.pages import MAX_FAILURES

    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    a = await worker(make_hub, lab, postgres_url, tmp_path / "a")
    b = await worker(make_hub, lab, postgres_url, tmp_path / "b")
    await a.auth.add_user("somchai", PASSWORD, "operator")

    async def attempt(session: aiohttp.ClientSession, password: str) -> int:
        page = await (await session.get("/login")).text()
        form = {**login_form(page, "somchai"), "password": password}
        async with session.post("/login", data=form, allow_redirects=False) as resp:
            await resp.read()
            return resp.status

    async with client(a) as on_a, client(b) as on_b:
        # The proxy deals the guesses to both workers: each sees fewer than its allowance.
        for n in range(MAX_FAILURES):
            assert await attempt(on_a if n % 2 else on_b, f"guess-{n}") == 401
        # Counted together: the next try is refused on either worker, even with the password.
        assert await attempt(on_a, PASSWORD) == 429
        assert await attempt(on_b, PASSWORD) == 429
    rows = await a.shared_storage.fetchall("SELECT key_hash FROM login_failures")
    assert len(rows) == MAX_FAILURES and all("somchai" not in r["key_hash"] for r in rows)
