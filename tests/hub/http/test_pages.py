"""The core pages, driven over real HTTP against a real hub (fixtures from hub.testing)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hub.core.clock import FakeClock
from hub.http.server import PRECSRF_COOKIE, SESSION_COOKIE
from hub.http.templating import is_local_path
from hub.hub import Hub
from hub.i18n import LANGS, STRINGS, format_time, translate
from hub.testing import HubFactory

PASSWORD = "correct horse battery"
SOS_CONFIG = "sos:\n  - {id: market_gate, name: ปุ่ม SOS ประตูตลาด, simulated: true}\n"

# -- helpers -------------------------------------------------------------------


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Callable[[Hub], aiohttp.ClientSession]]:
    """Make cookie-keeping clients, like a browser (no bearer token)."""
    sessions: list[aiohttp.ClientSession] = []

    def _make(hub: Hub) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(base_url=hub.http.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return session

    yield _make
    for session in sessions:
        await session.close()


def hidden(page: str, name: str, form_id: str | None = None) -> str:
    if form_id is not None:
        # The header has forms too (language, logout): look inside this one only.
        page = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def body_csrf(page: str) -> str:
    match = re.search(r'<body data-csrf="([^"]*)"', page)
    assert match
    return html.unescape(match.group(1))


async def get_text(session: aiohttp.ClientSession, path: str, status: int = 200) -> str:
    async with session.get(path, allow_redirects=False) as resp:
        text = await resp.text()
        assert resp.status == status, (path, resp.status, text[:500])
        return text


async def post_login(session: aiohttp.ClientSession, username: str, password: str) -> aiohttp.ClientResponse:
    page = await get_text(session, "/login")
    form = {
        "csrf_token": hidden(page, "csrf_token", "login-form"),
        "username": username,
        "password": password,
    }
    async with session.post("/login", data=form, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def logged_in(hub: Hub, session: aiohttp.ClientSession, role: str = "admin") -> str:
    """Create a user of ``role`` (if needed), log the session in, return the overview page."""
    name = f"page-{role}"
    if await hub.auth.user_by_name(name) is None:
        await hub.auth.add_user(name, PASSWORD, role)
    resp = await post_login(session, name, PASSWORD)
    assert resp.status == 303
    return await get_text(session, "/")


async def onboarding_post(
    session: aiohttp.ClientSession,
    code: str,
    username: str = "admin",
    password: str = PASSWORD,
    password2: str | None = None,
) -> tuple[int, str, str]:
    page = await get_text(session, "/onboarding")
    form = {
        "csrf_token": hidden(page, "csrf_token", "onboarding-form"),
        "code": code,
        "username": username,
        "password": password,
        "password2": password if password2 is None else password2,
    }
    async with session.post("/onboarding", data=form, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), await resp.text()


# -- onboarding ----------------------------------------------------------------


async def test_onboarding_wrong_code_then_right_code(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    code = hub.onboarding_code
    assert code is not None
    # With no users, the login page sends people to onboarding.
    async with session.get("/login", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/onboarding"
    page = await get_text(session, "/onboarding")
    assert 'id="onboarding-form"' in page
    assert 'name="code"' in page

    status, _, text = await onboarding_post(session, "00000000" if code != "00000000" else "1")
    assert status == 403
    assert "รหัสใช้ครั้งเดียวไม่ถูกต้อง" in text
    assert not await hub.auth.has_users()

    status, location, _ = await onboarding_post(session, code, username="somchai")
    assert (status, location) == (303, "/setup")  # straight on to the setup wizard
    assert hub.onboarding_code is None
    user = await hub.auth.user_by_name("somchai")
    assert user is not None and user.role == "admin"
    overview = await get_text(session, "/")
    assert "somchai" in overview

    # Gone afterwards, for GET and POST alike.
    async with session.get("/onboarding", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
    async with session.post("/onboarding", data={"code": "x"}, allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
    entries = await hub.audit.query(action="onboarding")
    assert [e.result for e in sorted(entries, key=lambda e: e.id)] == ["denied", "ok"]


async def test_onboarding_is_throttled_per_ip(hub: Hub, browser: Any, clock: FakeClock) -> None:
    session = browser(hub)
    code = hub.onboarding_code
    assert code is not None
    wrong = "1" + code[1:] if code[0] != "1" else "2" + code[1:]
    for _ in range(5):
        status, _, _ = await onboarding_post(session, wrong)
        assert status == 403
    status, _, text = await onboarding_post(session, code)
    assert status == 429, "the right code must not get through while throttled"
    assert not await hub.auth.has_users()
    await clock.advance(301)
    status, location, _ = await onboarding_post(session, code)
    assert (status, location) == (303, "/setup")


async def test_onboarding_checks_csrf_and_passwords(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    code = hub.onboarding_code
    assert code is not None
    await get_text(session, "/onboarding")
    # A token that does not match the cookie (a cross-site form post).
    async with session.post(
        "/onboarding",
        data={
            "csrf_token": "x" * 43,
            "code": code,
            "username": "a",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
        allow_redirects=False,
    ) as resp:
        assert resp.status == 403
    status, _, text = await onboarding_post(session, code, password2="something else")
    assert status == 400
    assert "รหัสผ่านทั้งสองช่องไม่ตรงกัน" in text
    status, _, text = await onboarding_post(session, code, password="short", password2="short")
    assert status == 400
    assert "at least 8" in text
    assert not await hub.auth.has_users()
    assert hub.onboarding_code == code


# -- login and logout ----------------------------------------------------------------


async def test_login_failure_then_throttle(hub: Hub, browser: Any, clock: FakeClock) -> None:
    await hub.auth.add_user("somsri", PASSWORD, "operator")
    session = browser(hub)
    for _ in range(5):
        resp = await post_login(session, "somsri", "wrong password")
        assert resp.status == 401
    page = await get_text(session, "/login")
    assert 'id="login-form"' in page
    resp = await post_login(session, "somsri", PASSWORD)
    assert resp.status == 429, "the right password must not get through while throttled"
    assert int(resp.headers["Retry-After"]) > 0
    assert SESSION_COOKIE not in {c.key for c in session.cookie_jar}

    await clock.advance(301)
    resp = await post_login(session, "somsri", PASSWORD)
    assert resp.status == 303

    entries = await hub.audit.query(action="login")
    assert sorted(e.result for e in entries) == ["denied"] * 5 + ["ok"]
    assert all("wrong password" not in repr(e) and PASSWORD not in repr(e) for e in entries)


async def test_failed_login_rerenders_with_error(hub: Hub, browser: Any) -> None:
    await hub.auth.add_user("somsri", PASSWORD, "viewer")
    session = browser(hub)
    page = await get_text(session, "/login")
    form = {
        "csrf_token": hidden(page, "csrf_token", "login-form"),
        "username": "somsri",
        "password": "nope nope",
    }
    async with session.post("/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 401
        text = await resp.text()
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in text
    assert 'value="somsri"' in text
    assert "nope nope" not in text


async def test_login_refuses_missing_precsrf(hub: Hub, browser: Any) -> None:
    await hub.auth.add_user("somsri", PASSWORD, "viewer")
    session = browser(hub)
    async with session.post(
        "/login",
        data={"csrf_token": "a" * 43, "username": "somsri", "password": PASSWORD},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 403
        assert SESSION_COOKIE not in resp.cookies


@pytest.mark.parametrize(
    ("next_path", "expected"),
    [
        ("/incidents", "/incidents"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
async def test_login_success_and_open_redirect_guard(
    hub: Hub, browser: Any, next_path: str, expected: str
) -> None:
    await hub.auth.add_user("somsri", PASSWORD, "viewer")
    session = browser(hub)
    # Post `next` directly too: the guard must hold even when the form is forged.
    page = await get_text(session, "/login")
    form = {
        "csrf_token": hidden(page, "csrf_token", "login-form"),
        "username": "somsri",
        "password": PASSWORD,
        "next": next_path,
    }
    async with session.post("/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == expected
        cookie = resp.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
        assert cookie["max-age"] == str(12 * 3600)
        assert resp.cookies[PRECSRF_COOKIE].value == "", "the pre-login token is dropped after login"
    await get_text(session, "/")


async def test_login_page_keeps_safe_next_only(hub: Hub, browser: Any) -> None:
    await hub.auth.add_user("somsri", PASSWORD, "viewer")
    session = browser(hub)
    page = await get_text(session, "/login?next=/incidents")
    assert hidden(page, "next", "login-form") == "/incidents"
    page = await get_text(session, "/login?next=//evil.example")
    assert 'name="next"' not in page.split('id="login-form"', 1)[1]
    # And the GET sets the HttpOnly, SameSite=Strict double-submit cookie.
    async with session.get("/login") as resp:
        cookie = resp.cookies[PRECSRF_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert cookie.value == hidden(await resp.text(), "csrf_token", "login-form")


async def test_logout_requires_csrf(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    overview = await logged_in(hub, session, "viewer")
    async with session.post("/logout", allow_redirects=False) as resp:
        assert resp.status == 403
    await get_text(session, "/")  # still logged in
    token = body_csrf(overview)
    assert token
    async with session.post("/logout", data={"csrf_token": token}, allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
    async with session.get("/", allow_redirects=False) as resp:
        assert resp.status == 401
    assert [e.action for e in await hub.audit.query(action="logout")] == ["logout"]


# -- overview ------------------------------------------------------------------


async def test_overview_shows_thai_hub_and_entities(make_hub: HubFactory, browser: Any) -> None:
    hub = await make_hub(SOS_CONFIG)
    session = browser(hub)
    page = await logged_in(hub, session, "operator")
    assert '<html lang="th">' in page
    assert "ตลาดทดสอบ" in page
    assert "test-hub" in page and "test-zone" in page
    assert "ภาพรวม" in page and "เหตุการณ์" in page and "ออกจากระบบ" in page
    assert 'id="entities"' in page
    assert 'data-entity-id="sos.market_gate"' in page
    assert "ปุ่ม SOS ประตูตลาด" in page
    # The chip says the state in Thai; the raw state stays in data-state.
    assert re.search(r'data-state="idle">ปกติ<', page)
    assert 'class="btn btn-sos sos-press" data-entity-id="sos.market_gate"' in page
    assert "data-live" in page
    assert 'id="open-incidents"' in page
    assert "/static/core/app.css?v=" in page and "/static/core/app.js?v=" in page

    # What the button's fetch sends: JSON plus the session's CSRF header.
    csrf = body_csrf(page)
    async with session.post("/api/services/sos/press", json={"entity_id": "sos.market_gate"}) as resp:
        assert resp.status == 403, "a cookie session without the CSRF header is refused"
    async with session.post(
        "/api/services/sos/press", json={"entity_id": "sos.market_gate"}, headers={"X-CSRF-Token": csrf}
    ) as resp:
        assert resp.status == 200, await resp.text()
    await hub.block_till_done()
    page = await get_text(session, "/")
    assert re.search(r'data-state="triggered">ถูกกด!<', page)


async def test_overview_hides_sos_button_from_viewers(make_hub: HubFactory, browser: Any) -> None:
    hub = await make_hub(SOS_CONFIG)
    page = await logged_in(hub, browser(hub), "viewer")
    assert 'data-entity-id="sos.market_gate"' in page
    assert "sos-press" not in page
    assert 'href="/users"' not in page


async def test_overview_reports_failed_plugins(make_hub: HubFactory, browser: Any, config_dir: Path) -> None:
    broken = config_dir / "plugins" / "broken_page_test"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text(
        '{"domain": "broken_page_test", "name": "Broken"}', encoding="utf-8"
    )
    (broken / "__init__.py").write_text("raise RuntimeError('kaboom at import')\n", encoding="utf-8")
    hub = await make_hub()
    session = browser(hub)
    page = await logged_in(hub, session, "viewer")
    assert 'class="plugin-row failed" data-domain="broken_page_test"' in page
    assert "kaboom at import" in page
    plugins = await get_text(session, "/plugins")
    assert 'id="plugins-table"' in plugins
    assert re.search(r'<tr class="plugin-row failed[^"]*" data-domain="broken_page_test"', plugins)
    assert 'data-domain="incident"' in plugins


# -- incidents -----------------------------------------------------------------


async def open_incident(hub: Hub, **data: Any) -> str:
    result = await hub.services.call(
        "incident", "open", {"kind": "sos", "title": "SOS ประตูตลาด", "place": "ตลาดสด", **data}
    )
    return str(result["incident_id"])


async def test_incident_list_and_detail(hub: Hub, browser: Any) -> None:
    incident_id = await open_incident(hub)
    session = browser(hub)
    overview = await logged_in(hub, session, "operator")
    assert re.search(rf'<tr class="incident-row[^"]*" data-incident-id="{incident_id}"', overview)

    listing = await get_text(session, "/incidents")
    assert f'data-incident-id="{incident_id}"' in listing
    assert "SOS ประตูตลาด" in listing and "รอรับเรื่อง" in listing
    assert f'data-incident-id="{incident_id}"' in await get_text(session, "/incidents?status=open")
    assert f'data-incident-id="{incident_id}"' not in await get_text(session, "/incidents?status=closed")
    await get_text(session, "/incidents?status=bogus", status=400)

    detail = await get_text(session, f"/incidents/{incident_id}")
    assert "ลำดับเหตุการณ์" in detail
    # FakeClock starts at 2026-01-01 00:00 UTC = 07:00 in Bangkok, shown in the Buddhist Era.
    assert "1 ม.ค. 2569 07:00:00" in detail
    assert f'data-api="/api/incidents/{incident_id}/ack"' in detail
    assert f'data-api="/api/incidents/{incident_id}/close"' in detail

    async with session.post(
        f"/api/incidents/{incident_id}/ack", json={}, headers={"X-CSRF-Token": body_csrf(detail)}
    ) as resp:
        assert resp.status == 200, await resp.text()
    detail = await get_text(session, f"/incidents/{incident_id}")
    assert "รับทราบแล้ว" in detail
    assert "page-operator" in detail


async def test_incident_detail_for_viewer_has_no_actions(hub: Hub, browser: Any) -> None:
    incident_id = await open_incident(hub)
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    detail = await get_text(session, f"/incidents/{incident_id}")
    assert "SOS ประตูตลาด" in detail
    assert "data-api=" not in detail


async def test_unknown_incident_is_404_page(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    page = await get_text(session, "/incidents/NOPE", status=404)
    assert "ไม่พบเหตุการณ์ NOPE" in page


async def test_unknown_page_is_the_site_404_in_the_chosen_language(hub: Hub, browser: Any) -> None:
    """Issue 15.20: not a bare ``404: Not Found``."""
    anon = browser(hub)
    page = await get_text(anon, "/no/such/page", status=404)
    assert '<html lang="th">' in page and "ไม่พบหน้าที่ต้องการ" in page and 'href="/"' in page
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    page = await get_text(session, "/nothing-here", status=404)
    assert "ไม่พบหน้าที่ต้องการ" in page and "Log out" not in page
    async with session.post("/lang", data={"lang": "en", "next": "/"}, allow_redirects=False):
        pass
    page = await get_text(session, "/nothing-here", status=404)
    assert '<html lang="en">' in page and "Page not found" in page and "Log out" in page
    async with session.get("/api/no/such/route") as resp:
        assert resp.status == 404 and (await resp.text()) == "404: Not Found"  # API clients: plain


async def test_incident_text_is_escaped(hub: Hub, browser: Any) -> None:
    incident_id = await open_incident(hub, title="<script>alert(1)</script>", place="<b>x</b>")
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    for path in ("/", "/incidents", f"/incidents/{incident_id}"):
        page = await get_text(session, path)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- users, language, templates --------------------------------------------------


async def test_users_page_is_admin_only(hub: Hub, browser: Any) -> None:
    viewer = browser(hub)
    await logged_in(hub, viewer, "viewer")
    await get_text(viewer, "/users", status=403)

    admin = browser(hub)
    overview = await logged_in(hub, admin, "admin")
    assert 'href="/users"' in overview
    page = await get_text(admin, "/users")
    assert 'id="user-form"' in page and 'data-api="/api/users"' in page
    assert "page-viewer" in page and "page-admin" in page


async def test_language_switch(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    async with session.post(
        "/lang", data={"lang": "en", "next": "/incidents"}, allow_redirects=False
    ) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/incidents")
    page = await get_text(session, "/incidents")
    assert '<html lang="en">' in page
    assert ">Incidents<" in page and "Log out" in page
    async with session.post(
        "/lang", data={"lang": "th", "next": "//evil.example"}, allow_redirects=False
    ) as resp:
        assert resp.headers["Location"] == "/"
    assert '<html lang="th">' in await get_text(session, "/")
    async with session.post("/lang", data={"lang": "klingon"}, allow_redirects=False) as resp:
        assert "lang" not in resp.cookies
    assert '<html lang="th">' in await get_text(session, "/")


async def test_user_template_override_extends_default(
    make_hub: HubFactory, browser: Any, config_dir: Path
) -> None:
    (config_dir / "templates").mkdir()
    (config_dir / "templates" / "error.html").write_text(
        '{% extends "default:error.html" %}{% block title %}custom-marker{% endblock %}', encoding="utf-8"
    )
    hub = await make_hub()
    session = browser(hub)
    await logged_in(hub, session, "viewer")
    page = await get_text(session, "/incidents/NOPE", status=404)
    assert "custom-marker" in page
    assert "ไม่พบเหตุการณ์ NOPE" in page


async def test_plugin_nav_links_are_filtered_by_role(
    make_hub: HubFactory, browser: Any, config_dir: Path
) -> None:
    plugin = config_dir / "plugins" / "navtest_pages"
    (plugin / "templates").mkdir(parents=True)
    (plugin / "manifest.json").write_text('{"domain": "navtest_pages", "name": "Nav test"}', encoding="utf-8")
    (plugin / "__init__.py").write_text(
        "from pathlib import Path\n"
        "from hub import hookimpl\n\n"
        "@hookimpl\n"
        "def nav_links(hub, user):\n"
        "    return [{'href': '/patrol', 'label_th': 'ตู้แดง', 'label_en': 'Patrol', 'role': 'viewer'},\n"
        "            {'href': '/secret', 'label_th': 'ลับ', 'label_en': 'Secret', 'role': 'admin'},\n"
        "            {'href': 'javascript:alert(1)', 'label_th': 'x', 'label_en': 'x', 'role': 'viewer'}]\n",
        encoding="utf-8",
    )
    hub = await make_hub()
    viewer = browser(hub)
    page = await logged_in(hub, viewer, "viewer")
    assert 'href="/patrol"' in page and "ตู้แดง" in page
    assert 'href="/secret"' not in page
    assert "javascript:" not in page
    admin = browser(hub)
    assert 'href="/secret"' in await logged_in(hub, admin, "admin")


async def test_static_files_are_served(hub: Hub, browser: Any) -> None:
    session = browser(hub)
    for name in ("app.js", "app.css"):
        async with session.get(f"/static/core/{name}") as resp:
            assert resp.status == 200
            assert len(await resp.read()) > 1000


# -- i18n unit tests -------------------------------------------------------------


def test_every_string_has_thai_and_english() -> None:
    for key, texts in STRINGS.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key


def test_translate_falls_back() -> None:
    assert translate("nav.incidents", "th") == "เหตุการณ์"
    assert translate("nav.incidents", "en") == "Incidents"
    assert translate("nav.incidents", "fr") == "Incidents"
    assert translate("no.such.key", "th") == "no.such.key"
    assert translate("overview.plugins_ok", "en", ok=2, total=3) == "2 of 3 running"
    # A missing placeholder value leaves the text, it does not raise.
    assert translate("overview.plugins_ok", "en", ok=2) == "{ok} of {total} running"


def test_format_time_uses_buddhist_era_in_thai() -> None:
    from zoneinfo import ZoneInfo

    bangkok = ZoneInfo("Asia/Bangkok")
    assert format_time(1_767_225_600.0, "th", bangkok) == "1 ม.ค. 2569 07:00:00"
    assert format_time(1_767_225_600.0, "en", bangkok, seconds=False) == "1 Jan 2026 07:00"
    assert format_time(None, "en", bangkok) == "—"


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("/", True),
        ("/incidents?status=open", True),
        ("//evil", False),
        ("/\\evil", False),
        ("http://evil/", False),
        ("", False),
        (None, False),
        ("/a\r\nSet-Cookie: x", False),
        ("evil", False),
    ],
)
def test_is_local_path(target: str | None, ok: bool) -> None:
    assert is_local_path(target) is ok


async def test_login_throttle_is_per_user_behind_one_proxy(hub: Hub, browser: Any, clock: FakeClock) -> None:
    """Every visitor behind the recommended reverse proxy has the same address (issue 15 item 16)."""
    await hub.auth.add_user("somsri", PASSWORD, "operator")
    attacker, colleague = browser(hub), browser(hub)
    for _ in range(5):
        assert (await post_login(attacker, "nobody-here", "guess")).status == 401
    assert (await post_login(attacker, "nobody-here", "guess")).status == 429
    # the same address, another user: not locked out
    assert (await post_login(colleague, "somsri", PASSWORD)).status == 303

    # spraying user names is bounded by the global limit (lowered here: each wrong try costs a real scrypt)
    from hub.http.pages import GLOBAL_LOGIN_FAILURES

    throttle = next(r.handler for r in hub.http.routes if r.path == "/login" and r.method == "POST").__self__
    assert throttle.login_throttle.global_limit == GLOBAL_LOGIN_FAILURES
    throttle.login_throttle.global_limit = 8
    sprayer = browser(hub)
    for i in range(8 - 5):
        assert (await post_login(sprayer, f"spray-{i}", "guess")).status in (401, 429)
    resp = await post_login(sprayer, "spray-new", "guess")
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    await clock.advance(301)
    assert (await post_login(browser(hub), "somsri", PASSWORD)).status == 303
