"""The setup wizard, the Users actions and the Repairs page, through the hub's own web server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from hub.hub import Hub
from hub.testing import BASE_CONFIG
from tests.hub.http.test_pages import (
    PASSWORD,
    body_csrf,
    get_text,
    logged_in,
    onboarding_post,
)


async def _admin(hub: Hub, browser: Any) -> tuple[aiohttp.ClientSession, str]:
    session = browser(hub)
    await logged_in(hub, session, "admin")
    page = await get_text(session, "/setup")
    return session, body_csrf(page)


async def _post(
    session: aiohttp.ClientSession, csrf: str, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with session.post(path, json=body, headers={"X-CSRF-Token": csrf}) as resp:
        return resp.status, await resp.json()


async def test_first_admin_goes_straight_to_the_wizard(make_hub: Any, browser: Any) -> None:
    hub = await make_hub()
    assert hub.onboarding_code is not None
    status, location, _ = await onboarding_post(browser(hub), hub.onboarding_code)
    assert (status, location) == (303, "/setup")


async def test_wizard_saves_name_zone_pin_language_and_timezone(
    make_hub: Any, browser: Any, config_dir: Path
) -> None:
    hub = await make_hub()
    session, csrf = await _admin(hub, browser)
    page = await get_text(session, "/setup")
    assert "ตั้งค่าศูนย์ของคุณ" in page and 'href="/setup/devices"' in page and 'href="/setup/line"' in page
    etag = page.split('data-etag="', 1)[1].split('"', 1)[0]
    body = {
        "name": "ร้านทองกำแพง",
        "zone": "kamphaeng-gold",
        "lat": "6.87",
        "lon": "99.78",
        "language": "en",
        "timezone": "Asia/Bangkok",
        "etag": etag,
    }
    status, answer = await _post(session, csrf, "/api/setup/hub", body)
    assert status == 200, answer
    assert answer["restart_needed"] is False
    assert hub.name == "ร้านทองกำแพง" and hub.core.zone == "kamphaeng-gold"
    assert hub.core.location is not None and hub.core.location.lat == 6.87
    ui_text = (config_dir / "ui" / "hub.yaml").read_text(encoding="utf-8")
    assert "ร้านทองกำแพง" in ui_text
    # The config file a person wrote is untouched but for the include line.
    assert (config_dir / "config.yaml").read_text(encoding="utf-8").startswith(BASE_CONFIG)
    # The admin's language follows the choice.
    assert "Set up your hub" in await get_text(session, "/setup")
    # A second admin's stale form is refused in their language, nothing overwritten.
    status, answer = await _post(session, csrf, "/api/setup/hub", {**body, "name": "ทับ"})
    assert status == 409 and "changed these settings" in answer["error"]
    assert hub.name == "ร้านทองกำแพง"


async def test_wizard_bad_input_gets_a_thai_message_and_saves_nothing(
    make_hub: Any, browser: Any, config_dir: Path
) -> None:
    hub = await make_hub()
    session, csrf = await _admin(hub, browser)
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "ร้าน", "zone": "Bad Zone"}, "zone"),
        ({"name": "ร้าน", "lat": "95", "lon": "100"}, "location"),
        ({"name": "ร้าน", "timezone": "Mars/Olympus"}, "timezone"),
    ):
        status, answer = await _post(session, csrf, "/api/setup/hub", body)
        assert status == 400 and field in answer["fields"], answer
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in answer["error"])  # Thai first
    assert not (config_dir / "ui").exists()


async def test_a_config_broken_by_hand_shows_check_errors_and_refuses_to_save(
    make_hub: Any, browser: Any, config_dir: Path
) -> None:
    hub = await make_hub()
    session, csrf = await _admin(hub, browser)
    path = config_dir / "config.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "sos:\n  - {id: Bad Id, simulated: true}\n", encoding="utf-8"
    )
    page = await get_text(session, "/setup")
    assert 'id="config-problems"' in page and "config.yaml:10" in page
    assert 'id="wizard-save" disabled' in page
    status, answer = await _post(session, csrf, "/api/setup/hub", {"name": "ร้าน"})
    assert status == 422 and any(e.startswith("config.yaml:10: sos[0].id") for e in answer["errors"])
    assert not (config_dir / "ui").exists()
    repairs = await get_text(session, "/repairs")
    assert 'data-key="config_invalid"' in repairs


async def test_users_reset_password_disable_delete_and_last_admin(make_hub: Any, browser: Any) -> None:
    hub = await make_hub()
    session, csrf = await _admin(hub, browser)
    page = await get_text(session, "/users")
    assert "ตั้งรหัสผ่านใหม่" in page and "user-delete" in page
    clerk = await hub.auth.add_user("clerk", PASSWORD, "operator")
    status, _ = await _post(session, csrf, f"/api/users/{clerk.id}/password", {"password": "short"})
    assert status == 400
    status, _ = await _post(
        session, csrf, f"/api/users/{clerk.id}/password", {"password": "new horse battery"}
    )
    assert status == 200
    assert await hub.auth.check_password("clerk", "new horse battery") is not None
    assert await hub.auth.check_password("clerk", PASSWORD) is None
    (entry,) = await hub.audit.query(action="user.password_reset")
    assert entry.target == clerk.id and "new horse" not in str(entry.detail)
    admin = await hub.auth.user_by_name("page-admin")
    assert admin is not None
    headers = {"X-CSRF-Token": csrf}
    async with session.patch(f"/api/users/{admin.id}", json={"role": "viewer"}, headers=headers) as resp:
        assert resp.status == 409  # the last admin keeps their role
    async with session.delete(f"/api/users/{admin.id}", headers=headers) as resp:
        assert resp.status == 409
    async with session.patch(f"/api/users/{clerk.id}", json={"disabled": True}, headers=headers) as resp:
        assert resp.status == 200
    page = await get_text(session, "/users")
    assert "ระงับแล้ว" in page
    async with session.delete(f"/api/users/{clerk.id}", headers=headers) as resp:
        assert resp.status == 200
    assert await hub.auth.find_user("clerk") is None


async def test_hook_repairs(make_hub: Any, browser: Any, config_dir: Path) -> None:
    """Repairs lists the core's checks and each plugin's own, with a link to fix each."""
    plugin = config_dir / "plugins" / "siren_check"
    plugin.mkdir(parents=True)
    (plugin / "manifest.json").write_text(
        '{"domain": "siren_check", "name": "Siren check"}', encoding="utf-8"
    )
    (plugin / "__init__.py").write_text(
        "from hub import hookimpl\n\n"
        "@hookimpl\n"
        "def repairs(hub):\n"
        "    return [{'key': 'siren_dead', 'severity': 'error', 'title_th': 'ไซเรนเงียบ',\n"
        "             'title_en': 'Siren silent', 'detail_th': '', 'detail_en': '', 'href': '/plugins'},\n"
        "            {'key': 'evil', 'severity': 'error', 'title_th': 'x', 'title_en': 'x', 'href': 'javascript:x'}]\n",
        encoding="utf-8",
    )
    hub = await make_hub(
        "sos:\n  - {id: gate, name: ปุ่มประตู, simulated: true}\nlight:\n  - {id: lamp, simulated: true}\n"
    )
    hub.states.set("light.lamp", "unavailable", {"friendly_name": "ไฟหน้า"})
    session, _csrf = await _admin(hub, browser)
    page = await get_text(session, "/repairs")
    for key, href in (
        ("siren_dead", "/plugins"),
        ("sos_unhandled:sos.gate", "/automations"),
        ("unavailable:light.lamp", "/setup/devices"),
        ("not_federated", "/plugins"),
    ):
        block = page.split(f'data-key="{key}"', 1)[1].split("</li>", 1)[0]
        assert f'href="{href}"' in block, key
    assert "ปุ่มประตู ยังไม่มีระบบอัตโนมัติ" in page and "ไซเรนเงียบ" in page
    assert "javascript:" not in page  # a malformed item is the plugin's error, not a link
    info = hub.plugins.get("siren_check")
    assert info is not None and any("malformed repair item" in e for e in info.hook_errors)
    # Fixing it from the UI clears it: an automation for the button.
    automation = {
        "id": "gate_alert",
        "trigger": {
            "platform": "event",
            "event_type": "sos_pressed",
            "event_data": {"entity_id": "sos.gate"},
        },
        "action": [{"event": "alerted"}],
    }
    assert hub.ui_config is not None
    await hub.ui_config.add_item("automation", automation)
    assert 'data-key="sos_unhandled:sos.gate"' not in await get_text(session, "/repairs")


def test_every_setup_string_has_thai_and_english() -> None:
    from hub.components.onboarding.strings import STRINGS
    from hub.i18n import LANGS

    for key, texts in STRINGS.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in texts["th"]) or key.startswith("lang."), key
