"""Quota warnings, start-up failures, and the LINE pages and API."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.line.const import RUNTIME as LINE_RUNTIME
from tests.integrations.line.conftest import BIG6


async def test_quota_warns_at_80_and_tells_at_100(line_hub, fake_line, clock, caplog) -> None:
    fake_line.quota_limit = 10
    fake_line.quota_used = 7
    hub = await line_hub()
    levels = []
    exhausted = []
    hub.bus.listen("line_quota", levels.append)
    hub.bus.listen("line_quota_exhausted", exhausted.append)
    await hub.block_till_done()
    rt = hub.data[LINE_RUNTIME]
    await rt.quota.refresh()
    assert rt.quota.level == "ok" and hub.states.get("line.bot").state == "ok"
    caplog.set_level(logging.WARNING)
    await hub.services.call("line", "send", {"to": "big6", "message": "x"})  # Big 6 has 2 members: 9/10
    await clock.advance(61)  # the reading after a send
    await hub.block_till_done()
    assert rt.quota.level == "warning" and levels[-1].data["level"] == "warning"
    assert hub.states.get("line.bot").state == "quota_warning"
    assert "90.0%" in caplog.text
    # The next push does not fit: LINE refuses with "monthly limit", which is not retried.
    result = await hub.services.call("line", "send", {"to": "big6", "message": "y"})
    assert result["results"][0]["status"] == "failed" and result["results"][0]["attempts"] == 1
    await hub.block_till_done()
    assert rt.quota.level == "exhausted" and exhausted and exhausted[0].data["hub_id"] == "test-hub"
    assert hub.states.get("line.bot").state == "quota_exhausted"
    audit = await hub.audit.query(action="line.quota_exhausted")
    assert audit and audit[0].result == "error"


async def test_wrong_token_fails_only_line(make_hub, fake_line) -> None:
    config = fake_line.config_yaml().replace(fake_line.token, "a-revoked-token-123")
    hub = await make_hub(config + "sos:\n  - {id: gate, simulated: true}\n")
    info = next(p for p in hub.plugin_infos() if p.domain == "line")
    assert info.status == "failed" and "refused the channel access token" in info.error
    assert "HTTP 401" in info.error and "channel_access_token" in info.error
    assert not hub.services.has("line", "send")
    assert hub.services.has("sos", "press")  # the rest of the hub runs
    assert hub.states.get("line.bot") is None  # the blueprint's "LINE is set up" check


async def test_unreachable_line_at_start_is_not_fatal(make_hub, fake_line) -> None:
    await fake_line.close()
    hub = await make_hub(fake_line.config_yaml())
    info = next(p for p in hub.plugin_infos() if p.domain == "line")
    assert info.status == "set_up"
    assert hub.states.get("line.bot").state == "unreachable"


async def test_unconfigured_line_costs_nothing(hub) -> None:
    info = next(p for p in hub.plugin_infos() if p.domain == "line")
    assert info.status in ("discovered", "not_configured")  # not imported, or imported and idle
    assert not hub.services.has("line", "send") and hub.states.get("line.bot") is None


def test_import_does_not_load_the_sdk() -> None:
    """The hub imports configured integrations at start; line-bot-sdk waits for ``setup``."""
    import subprocess
    import sys

    probe = "import integrations.line, sys; print(any(m.startswith('linebot') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


async def test_line_page_and_test_message(line_hub, fake_line, client_for) -> None:
    hub = await line_hub()
    await hub.block_till_done()  # the configured groups' summaries are read at start
    await hub.data[LINE_RUNTIME].quota.refresh()
    admin = await client_for("admin", target=hub)
    resp = await admin.post("/api/line/test", json={"to": "big6"})
    assert resp.status == 200 and (await resp.json())["results"][0]["status"] == "sent"
    assert "ข้อความทดสอบ" in fake_line.pushes[0].messages[0]["text"]
    page = await admin.get("/line")
    html = await page.text()
    assert page.status == 200
    assert "SafetyHub Test Bot" in html and "line-quota-meter" in html and "/api/line/webhook" in html
    assert 'data-level="ok"' in html and "big6" in html
    # The configured groups' names and member counts are read from LINE at start.
    assert "ภาคีเครือข่าย Big 6" in html and '<td data-label="สมาชิก">2</td>' in html
    assert "line-message-sent" in html  # the test message in the log
    status = await (await admin.get("/api/line/status")).json()
    assert status["quota"]["limit"] == 1000 and {g["alias"] for g in status["groups"]} == {
        "big6",
        "pineapple_eyes",
    }
    log = await (await admin.get("/api/line/messages?limit=5")).json()
    assert log[0]["purpose"] == "message" and log[0]["status"] == "sent"
    assert (await admin.post("/api/line/test", json={"to": ""})).status == 400
    operator = await client_for("operator", target=hub)
    assert (await operator.post("/api/line/test", json={"to": "big6"})).status == 403
    page = await operator.get("/line")
    assert page.status == 200 and "line-test" not in await page.text()  # admin-only form hidden


async def test_details_link_opens_a_read_only_page(line_hub, fake_line, client_for) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตูตลาด", title="SOS ประตูตลาด")
    await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    details = fake_line.pushes[0].messages[0]["contents"]["footer"]["contents"][1]["action"]["uri"]
    url = urlsplit(details)
    local = f"{hub.http.url}{url.path}?{url.query}"
    async with aiohttp.ClientSession() as session:
        async with session.get(local) as resp:
            html = await resp.text()
            assert resp.status == 200 and "ประตูตลาด" in html and inc.id in html
        async with session.get(local.replace("sig=", "sig=x")) as resp:
            assert resp.status == 403
        async with session.get(local.replace("for=line%3Abig6", "for=line%3Aother")) as resp:
            assert resp.status == 403  # the recipient is covered by the signature
    views = await hub.audit.query(action="line.incident_view")
    assert views and views[0].actor == "line:big6" and views[0].target == inc.id
    assert fake_line.pushes[0].to == BIG6
