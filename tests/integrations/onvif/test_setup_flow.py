"""The camera set-up flow against ipycam (a real ONVIF camera on loopback, unicast only)."""

from __future__ import annotations

import io
import re

from PIL import Image

from integrations.onvif import setup_flow
from tests.integrations.onvif.conftest import IpyCam


async def test_wrong_password_says_what_to_check(make_hub, client_for, ipycam: IpyCam) -> None:
    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    data = {"host": "127.0.0.1", "port": str(ipycam.onvif_port), "username": "admin", "password": "wrong"}
    async with client.post("/setup/cameras/probe", data=data, allow_redirects=False) as resp:
        text = await resp.text()
    assert resp.status == 422
    assert "กล้องไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน" in text
    assert 'value="admin"' in text and "wrong" not in text  # the password is never echoed back
    assert not hub.data.get(setup_flow._DRAFTS)  # nothing kept


async def test_nothing_answering_is_unreachable(make_hub, client_for) -> None:
    from tests.integrations.onvif.conftest import free_port

    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    data = {"host": "127.0.0.1", "port": str(free_port()), "username": "admin", "password": "x"}
    async with client.post("/setup/cameras/probe", data=data) as resp:
        assert resp.status == 422
        assert "ติดต่อกล้องไม่ได้" in await resp.text()


async def test_probe_preview_profiles_presets_and_consent_text(make_hub, client_for, ipycam: IpyCam) -> None:
    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    data = {"host": "127.0.0.1", "port": str(ipycam.onvif_port), "username": "admin", "password": "secret"}
    async with client.post("/setup/cameras/probe", data=data, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        location = resp.headers["Location"]
    draft_id = re.search(r"draft=([\w-]+)", location).group(1)
    page = await (await client.get(location)).text()
    assert "TestVendor LoopCam-1" in page
    assert 'value="Profile_Main"' in page  # the profiles to choose from
    assert 'id="cam-presets"' in page and "Fish stalls" in page  # the camera's PTZ presets
    draft = hub.data[setup_flow._DRAFTS][draft_id]
    assert draft.probe.stream_uri == ipycam.rtsp_url and draft.probe.ptz
    async with client.get(f"/setup/cameras/preview/{draft_id}.jpg") as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        assert Image.open(io.BytesIO(await resp.read())).format == "JPEG"
    # Sharing needs an owner and the name of whoever agrees.
    details = {"draft": draft_id, "id": "gate", "share": "on_alarm", "agreed_by": ""}
    async with client.post("/setup/cameras/review", data=details) as resp:
        assert resp.status == 422
        assert "ต้องกรอกชื่อเจ้าของ" in await resp.text()
    text = setup_flow.consent_text(
        "th",
        hub_name="ตลาด",
        camera="ประตู",
        owner="เทศบาล",
        phone="035",
        agreed_by="สมชาย",
        policy="on_alarm",
    )
    assert "สมชาย" in text and "แชร์เมื่อมีเหตุ" in text and "30 นาที" in text


async def test_preview_of_an_unknown_draft_is_404(make_hub, client_for) -> None:
    hub = await make_hub()
    client = await client_for("admin", target=hub)
    async with client.get("/setup/cameras/preview/nope.jpg") as resp:
        assert resp.status == 404
    page = await (await client.get("/setup/cameras", params={"draft": "gone"})).text()
    assert "หมดอายุ" in page


async def test_save_records_the_owners_consent(make_hub, client_for, ipycam: IpyCam, config_dir) -> None:
    from hub.bootstrap import load
    from integrations.camera.consent import consents_for

    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    data = {"host": "127.0.0.1", "port": str(ipycam.onvif_port), "username": "admin", "password": "secret"}
    async with client.post("/setup/cameras/probe", data=data, allow_redirects=False) as resp:
        draft_id = re.search(r"draft=([\w-]+)", resp.headers["Location"]).group(1)
    details = {
        "draft": draft_id,
        "id": "market_gate",
        "name": "กล้องประตูตลาด",
        "profile": "Profile_Main",
        "share": "on_alarm",
        "owner_name": "เทศบาลเมืองอ่างทอง",
        "owner_phone": "035-000000",
        "agreed_by": "นายสมชาย ใจดี",
    }
    async with client.post("/setup/cameras/review", data=details) as resp:
        page = await resp.text()
    assert resp.status == 200 and 'id="consent-text"' in page
    shown = hub.data[setup_flow._DRAFTS][draft_id].text
    assert "นายสมชาย ใจดี" in shown and "เทศบาลเมืองอ่างทอง" in shown and "แชร์เมื่อมีเหตุ" in shown
    # Not ticked: refused, nothing written.
    async with client.post("/setup/cameras/save", data={"draft": draft_id}) as resp:
        assert resp.status == 422
    assert not (config_dir / "ui" / "onvif.yaml").exists()
    async with client.post(
        "/setup/cameras/save", data={"draft": draft_id, "agree": "yes"}, allow_redirects=False
    ) as resp:
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == "/cameras/camera.market_gate"
    written = (config_dir / "ui" / "onvif.yaml").read_text(encoding="utf-8")
    assert "secret" not in written.replace("!secret", "")  # the password went to secrets.yaml
    loaded = load(config_dir / "config.yaml")
    assert not loaded.errors
    cam = loaded.blocks["onvif"][0]
    assert (cam.id, cam.password, cam.share, cam.owner.name) == (
        "market_gate",
        "secret",
        "on_alarm",
        "เทศบาลเมืองอ่างทอง",
    )
    [consent] = await consents_for(hub, "market_gate")
    assert consent.text == shown and consent.agreed_by == "นายสมชาย ใจดี" and consent.policy == "on_alarm"
    assert consent.recorded_by == "test-admin"
    # Live without a restart, and the camera page shows who agreed to what.
    camera_page = await (await client.get("/cameras/camera.market_gate")).text()
    assert 'id="camera-consent"' in camera_page and "นายสมชาย ใจดี" in camera_page
    assert shown.replace('"', "&#34;") in camera_page or shown in camera_page
    audit = await hub.storage.fetchall("SELECT action, target FROM audit_log WHERE action = 'camera.consent'")
    assert [(r["action"], r["target"]) for r in audit] == [("camera.consent", "camera.market_gate")]


async def test_no_camera_without_its_consent(
    make_hub, client_for, ipycam: IpyCam, config_dir, monkeypatch
) -> None:
    """If the consent cannot be stored, the camera is not written; if the write is refused, no consent stays."""
    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    data = {"host": "127.0.0.1", "port": str(ipycam.onvif_port), "username": "admin", "password": "secret"}
    async with client.post("/setup/cameras/probe", data=data, allow_redirects=False) as resp:
        draft_id = re.search(r"draft=([\w-]+)", resp.headers["Location"]).group(1)
    details = {"draft": draft_id, "id": "gate", "share": "never", "agreed_by": "สมชาย"}
    async with client.post("/setup/cameras/review", data=details) as resp:
        assert resp.status == 200

    async def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(setup_flow, "record_consent", broken)
    async with client.post("/setup/cameras/save", data={"draft": draft_id, "agree": "yes"}) as resp:
        assert resp.status == 422
        assert "บันทึกความยินยอมไม่สำเร็จ" in await resp.text()
    items, _etag = await hub.ui_config.list_items("onvif")
    assert items == [] and hub.states.get("camera.gate") is None
    monkeypatch.undo()
    # Now the config write is refused (a hand edit made config.yaml invalid meanwhile).
    config = config_dir / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "sos: {broken: true}\n", encoding="utf-8")
    async with client.post("/setup/cameras/save", data={"draft": draft_id, "agree": "yes"}) as resp:
        text = await resp.text()
    assert resp.status == 422 and "ไม่ผ่านการตรวจสอบ" in text and "config.yaml:" in text
    from integrations.camera.consent import consents_for

    assert await consents_for(hub, "gate") == []
    assert not await hub.storage.fetchall("SELECT id FROM audit_log WHERE action = 'camera.consent'")
