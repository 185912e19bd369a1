"""The whole new-admin story in real Chromium on a phone: no YAML touched by hand.

Real peers on 127.0.0.1: Mosquitto (a broker of its own), a simulated
Zigbee2MQTT bridge on it (``bridge/devices``, permit join, presses, the lamp's
``/set``), ipycam as the ONVIF camera, and the fake LINE API validating every
request against LINE's spec.  Everything after ``safetyhub init`` happens in
the browser:

0. ``safetyhub init`` writes the starter config (the one command);
1. onboarding: the first admin, then the wizard (name, zone, map pin);
2. the MQTT broker, permit join, and the button appears;
3. the button proven by a real press and saved as an SOS button (and the lamp, by a flash);
4. the camera, probed, previewed, with the owner's consent;
5. LINE connected, the joined group named ``big6``, a test message;
6. the SOS automation from the ``sos_alert`` blueprint (the /automations form);
7. a press: the incident opens, the LINE card is sent, the lamp flashes.

Then ``safetyhub check`` passes on the written files and a restart keeps it all.
Every page is checked for horizontal scroll at 390 px.  With
``SAFETYHUB_SCREENSHOTS=<folder>`` the phone screenshots for docs/setup.md are saved.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hub.hub import Hub
from hub.testing import wait_for
from integrations.line.testing import FAKE_SECRET
from integrations.mqtt.testing_z2m import FakeZigbee2Mqtt, light_device, sos_button_device
from tests.integrations.line.conftest import line_spec_dir as line_spec_dir  # the fixture
from tests.integrations.onvif.conftest import IpyCam, _start_ipycam, _stop

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PASSWORD = "market-admin-2026"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def camera() -> Iterator[IpyCam]:
    cam = _start_ipycam("--fix-ptz-ns", "--preauth-time")
    yield cam
    _stop(cam)


@pytest_asyncio.fixture
async def zigbee(mosquitto_factory: Any) -> AsyncIterator[tuple[Any, FakeZigbee2Mqtt]]:
    """A broker of the story's own, with Zigbee2MQTT on it under the default base topic."""
    broker = mosquitto_factory()
    bridge = FakeZigbee2Mqtt(broker.host, broker.port, "zigbee2mqtt")
    await bridge.start()
    yield broker, bridge
    await bridge.stop()


#: The elements that stick out past the viewport (for the failure message).
WIDEST = """
() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => ![...e.parentElement.children].some(() => false) && getComputedStyle(e.parentElement).overflowX === 'visible')
  .slice(0, 6).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
"""


class Story:
    """Counts the steps, times them, checks 390 px, takes the screenshots."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.steps: list[tuple[str, float]] = []
        self.started = time.monotonic()
        self.shots = (
            Path(os.environ["SAFETYHUB_SCREENSHOTS"]) if os.environ.get("SAFETYHUB_SCREENSHOTS") else None
        )
        self.widths: dict[str, int] = {}

    async def fits(self, name: str) -> None:
        """The page has no horizontal scroll at 390 px; optionally screenshot it."""
        await self.page.wait_for_load_state("load")
        width = await self.page.evaluate("() => document.documentElement.scrollWidth")
        self.widths[name] = width
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(
                path=str(self.shots / f"{len(self.widths):02d}-{name}.png"), full_page=True
            )
        if width > PHONE["width"]:
            wide = await self.page.evaluate(WIDEST)
            raise AssertionError(f"{name}: {width} px wide at 390 px; widest: {wide}")

    def done(self, step: str) -> None:
        self.steps.append((step, time.monotonic() - self.started))


async def _press_while(clicked: asyncio.Future[Any], bridge: FakeZigbee2Mqtt, name: str) -> None:
    """Press the real button (again, as a person would) until the page's test-press request returns.

    The page is not queried meanwhile: Playwright holds page queries until the pending
    navigation (the request that waits for the press) has committed.
    """
    for _ in range(60):
        await asyncio.sleep(0.5)
        if clicked.done():
            await clicked
            return
        await bridge.press(name)
    raise AssertionError("the test press never returned")


async def test_new_admin_sets_up_a_market_hub_on_a_phone(
    browser: Any,
    zigbee: tuple[Any, FakeZigbee2Mqtt],
    camera: IpyCam,
    fake_line_factory: Any,
    line_spec_dir: Path,
    config_dir: Path,
) -> None:
    broker, bridge = zigbee
    line = await fake_line_factory(line_spec_dir)
    # The only command: `safetyhub init` writes the starter config (no YAML typed by anyone).
    await _cli(
        "init",
        str(config_dir),
        "--id",
        "talat-sot-01",
        "--name",
        "SafetyHub",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    )
    config_path = config_dir / "config.yaml"
    start_bytes = config_path.read_bytes()
    hub = Hub(config_path)
    await hub.start()
    try:
        big6 = await _story(browser, hub, broker, bridge, camera, line)
    finally:
        await hub.stop()
    # -- the written config passes `safetyhub check`, and a restart keeps everything --------------
    await _cli("check", "-c", str(config_path))
    assert config_path.read_bytes().startswith(start_bytes)  # the hand-written part is untouched
    again = Hub(config_path)
    await again.start()
    try:
        for entity_id in ("sos.market_gate", "light.gate_lamp", "camera.market_gate"):
            assert again.states.get(entity_id) is not None, entity_id
        assert again.loaded is not None and again.ui_config is not None
        assert dict(again.loaded.blocks["line"].groups) == {"big6": big6}
        assert again.name == "ตลาดสดเทศบาล" and again.core.zone == "angthong-mueang"
        assert [a.get("id") for a in (await again.ui_config.list_items("automation"))[0]] == [
            "sos_market_gate"
        ]
        from integrations.camera.consent import consents_for

        [consent] = await consents_for(again, "market_gate")
        assert consent.agreed_by == "นางสาวมาลี ทองดี"
    finally:
        await again.stop()


async def _cli(*args: str) -> str:
    """Run ``safetyhub ARGS`` as a user would; fail the test on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, f"safetyhub {args[0]}: {out.decode()}"
    return out.decode()


async def _story(
    browser: Any, hub: Hub, broker: Any, bridge: FakeZigbee2Mqtt, camera: IpyCam, line: Any
) -> str:
    """Play steps 1–7 in the browser; return the Big 6 group's LINE id."""
    context = await browser.new_context(viewport=PHONE, locale="th-TH", is_mobile=True, has_touch=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    story = Story(page)
    url = hub.http.url

    # 1. onboarding -----------------------------------------------------------------------------
    await page.goto(url + "/onboarding")
    form = page.locator("#onboarding-form")
    assert hub.onboarding_code is not None
    await form.locator("[name=code]").fill(hub.onboarding_code)
    await form.locator("[name=username]").fill("somchai")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("[name=password2]").fill(PASSWORD)
    await story.fits("onboarding")
    await form.locator("[type=submit]").click()
    await page.wait_for_url("**/setup")
    await page.fill("#wizard-form input[name=name]", "ตลาดสดเทศบาล")
    await page.fill("#wizard-form input[name=zone]", "angthong-mueang")
    await story.fits("wizard")
    await page.click("#wizard-next")
    await page.fill("#wizard-form input[name=lat]", "14.5896")
    await page.fill("#wizard-form input[name=lon]", "100.4550")
    await page.dispatch_event("#wizard-form input[name=lon]", "change")
    await page.click("#wizard-next")
    await page.click("#wizard-save")
    await page.locator("#wizard-have:not([hidden])").wait_for()
    assert hub.name == "ตลาดสดเทศบาล"
    story.done("onboarding: first admin and the wizard")

    # 2. the broker, permit join, and the button appears ------------------------------------------
    await page.click('#wizard-have a[href="/setup/devices"]')
    await page.wait_for_url("**/setup/devices")
    await story.fits("devices-broker")
    await page.locator("#broker [name=broker]").fill(broker.url)
    await page.locator("#broker-connect").click()
    await page.locator("#permit-join").wait_for()
    # The admin takes the button and the lamp out of their boxes and presses "pair" on each.
    await bridge.pair(sos_button_device("market_gate_sos", "0xa4c1380000000001"))
    await bridge.pair(light_device("gate_lamp", "0x0017880100000001"))
    await page.locator("#permit-join").click()
    await page.locator("#permit-open").wait_for()
    found = page.locator('.found-device[data-device="z2m:market_gate_sos"]')
    await found.wait_for(timeout=15_000)  # the page refreshes itself while pairing is open
    await story.fits("devices-found")
    story.done("permit join: the button appears")

    # 3. make it an SOS button (a real test press first), and the lamp a light ----------------------
    await found.locator("a").click()
    await page.locator("#press-table").wait_for()
    assert "emergency" in await page.locator("#press-table").inner_text()
    await story.fits("device-press-table")
    clicked = asyncio.ensure_future(page.locator("#test-press").click())
    await _press_while(clicked, bridge, "market_gate_sos")
    await page.locator("#press-ok").wait_for()
    await page.locator("#save-sos [name=id]").fill("market_gate")
    await page.locator("#save-sos [name=name]").fill("ปุ่ม SOS ประตูตลาด")
    await page.locator("#save-sos [name=place]").fill("ประตูหน้าตลาด")
    await story.fits("device-proven")
    await page.locator("#save-sos-button").click()
    await page.locator("#flow-saved").wait_for()
    await wait_for(lambda: hub.states.get("sos.market_gate"), 10, "the button is live")
    await page.locator('.found-device[data-device="z2m:gate_lamp"] a').click()
    await page.locator("#test-flash").click()
    await page.locator("#save-light").wait_for()
    assert bridge.commands_for("gate_lamp"), "the lamp was told to blink"
    await page.locator("#save-light [name=id]").fill("gate_lamp")
    await page.locator("#save-light [name=name]").fill("ไฟส่องประตูตลาด")
    await page.locator("#save-light-button").click()
    await page.locator("#flow-saved").wait_for()
    await wait_for(lambda: hub.states.get("light.gate_lamp"), 10, "the lamp is live")
    story.done("SOS button and lamp saved")

    # 4. the camera, with the owner's consent -----------------------------------------------------
    await page.goto(url + "/setup/cameras")
    await page.locator("#cam-connect [name=host]").fill("127.0.0.1")
    await page.locator("#cam-connect [name=port]").fill(str(camera.onvif_port))
    await page.locator("#cam-connect [name=username]").fill("admin")
    await page.locator("#cam-connect [name=password]").fill("wrong-password")
    await page.locator("#cam-probe").click()
    assert "กล้องไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน" in await page.locator("#flow-error").inner_text()
    await page.locator("#cam-connect [name=password]").fill("secret")
    await page.locator("#cam-probe").click()
    await page.locator("#cam-found").wait_for()
    await page.wait_for_function("() => document.getElementById('cam-preview').naturalWidth > 0")
    await page.locator("#cam-details [name=id]").fill("market_gate")
    await page.locator("#cam-details [name=name]").fill("กล้องประตูตลาด")
    await page.locator("#cam-details [name=owner_name]").fill("ร้านทองมาลี")
    await page.locator("#cam-details [name=owner_phone]").fill("081-234-5678")
    await page.locator('#cam-details [name=share][value="on_alarm"]').check()
    await page.locator("#cam-details [name=agreed_by]").fill("นางสาวมาลี ทองดี")
    await story.fits("camera-details")
    await page.locator("#cam-review").click()
    consent_text = await page.locator("#consent-text").inner_text()
    assert "นางสาวมาลี ทองดี" in consent_text and "แชร์เมื่อมีเหตุ" in consent_text
    await page.locator("#cam-agree").check()
    await story.fits("camera-consent")
    await page.locator("#cam-save").click()
    await page.wait_for_url("**/cameras/camera.market_gate")
    assert "นางสาวมาลี ทองดี" in await page.locator("#camera-consent").inner_text()
    await story.fits("camera-page")
    story.done("camera with the owner's consent")

    # 5. LINE: verify, webhook URL, the group named big6, a test --------------------------------------
    await page.goto(url + "/setup/line")
    await page.locator("#line-connect [name=token]").fill("a-token-LINE-refuses")
    await page.locator("#line-connect [name=secret]").fill(FAKE_SECRET)
    await page.locator("#line-connect summary").click()
    await page.locator("#line-connect [name=api_base]").fill(line.base_url)
    await page.locator("#line-verify").click()
    assert "LINE ไม่ยอมรับ" in await page.locator("#flow-error").inner_text()
    await page.locator("#line-connect [name=token]").fill(line.token)
    await page.locator("#line-connect [name=secret]").fill(FAKE_SECRET)
    await page.locator("#line-connect summary").click()
    await page.locator("#line-connect [name=api_base]").fill(line.base_url)
    await page.locator("#line-verify").click()
    await page.locator("#webhook-url").wait_for()
    assert (await page.locator("#webhook-url").inner_text()).endswith("/api/line/webhook")
    # The admin invites the bot to the Big 6 group: LINE posts the join to the webhook.
    big6 = line.add_group("ภาคีเครือข่าย Big 6 ตลาดสด", {"U" + "a" * 32: "สมชาย ใจดี"})
    assert await line.post_webhook(url + "/api/line/webhook", [line.event_join(big6)]) == 200
    await hub.block_till_done()
    await page.goto(url + "/setup/line")
    group = page.locator(f'.line-group[data-group-id="{big6}"]')
    await group.locator("[name=alias]").select_option("big6")
    await story.fits("line-group")
    await group.locator(".name-group").click()
    await page.locator(f'.line-group[data-group-id="{big6}"][data-alias="big6"]').wait_for()
    await page.locator(f'.line-group[data-group-id="{big6}"] .test-card').click()
    await page.locator("#flow-notice").wait_for()
    assert any(p.to == big6 for p in line.pushes)
    story.done("LINE connected, group named")

    # 6. the SOS automation from the sos_alert blueprint ---------------------------------------------
    await page.goto(url + "/automations/new/blueprint?path=sos_alert.yaml")
    form = page.locator("#blueprint-form")
    await form.locator("[name=id]").fill("sos_market_gate")
    await form.locator("[name=alias]").fill("SOS ประตูตลาด")
    await form.locator('[name="input.sos_button"]').select_option("sos.market_gate")
    await form.locator('[name="input.cameras"][value="camera.market_gate"]').check()
    await form.locator('[name="input.lights"][value="light.gate_lamp"]').check()
    await form.locator('[name="input.line_targets"]').fill("big6")
    await form.locator('[name="input.flash_seconds"]').fill("5")
    await story.fits("automation-blueprint")
    await form.locator("#save").click()
    await page.wait_for_url("**/automations/sos_market_gate**")
    story.done("SOS automation from sos_alert")

    # 7. press: the incident opens, the LINE card goes out, the lamp flashes --------------------------
    before = len(bridge.commands_for("gate_lamp"))
    pushes_before = len(line.pushes)
    await bridge.press("market_gate_sos")
    await wait_for(
        lambda: any(
            p.to == big6 and p.messages[0].get("type") == "flex" for p in line.pushes[pushes_before:]
        ),
        20,
        "the incident card reached the Big 6 group",
    )
    await wait_for(lambda: len(bridge.commands_for("gate_lamp")) > before, 10, "the lamp flashes")
    assert {"effect": "blink"} in bridge.commands_for("gate_lamp")[before:]
    rows = await hub.storage.fetchall("SELECT kind, title FROM incidents")
    assert [r["kind"] for r in rows] == ["sos"]
    await page.goto(url + "/incidents")
    await page.locator(".incident-row").first.wait_for()
    await story.fits("incident")
    story.done("press: incident, LINE card, lamp")

    assert line.violations == []
    assert errors == []
    await context.close()
    total = story.steps[-1][1]
    print(f"\nsetup story: {len(story.steps)} steps in {total:.1f} s")
    for name, at in story.steps:
        print(f"  {at:6.1f} s  {name}")
    return big6
