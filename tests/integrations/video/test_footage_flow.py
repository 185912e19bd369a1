"""A footage request end to end: real Mosquitto, a real hub and station, the fake LINE API, ffmpeg recordings.

The officer asks at the station; the owner approves on LINE (a postback
through the hub's signed webhook); the hub cuts and uploads; the station
exports a signed pack that ``safetyhub evidence verify`` accepts, and
rejects after one byte is changed, naming the file.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
import pytest_asyncio

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from integrations.federation.testing import (
    CAMERA_PASSWORD,
    FederationLab,
    start_pair,
    until,
)
from integrations.line.testing import FakeLineApi
from integrations.station.footage import FOOTAGE
from integrations.video.evidence_pack import verify_pack
from integrations.video.footage import FOOTAGE_DESK
from integrations.video.footage_testing import make_segments, register_segments

REPO = Path(__file__).resolve().parents[3]
SPEC_DIR = REPO / ".." / "shared" / "line-openapi"
TESTCAMS = REPO / "tests" / "integrations" / "federation" / "testcams"
OWNER = "U" + "e" * 32
STRANGER = "U" + "f" * 32
CAMS = """
testcams:
  - {id: gate_always, share: always, password: !secret cam_pw}
  - {id: stall_alarm, share: on_alarm, password: !secret cam_pw}
  - {id: shop_registry, share: registry, password: !secret cam_pw}
  - {id: home_never, share: never, password: !secret cam_pw}
video:
  footage: {approvers: [owner], retry_seconds: 0.1, chunk_bytes: 65536}
"""
SECONDS = 2.0


@pytest.fixture
def line_spec_dir() -> Path:
    """LINE's OpenAPI spec, kept beside the repository."""
    if not (SPEC_DIR / "messaging-api.yml").is_file():
        pytest.skip(f"LINE's OpenAPI spec is not at {SPEC_DIR.resolve()}")
    return SPEC_DIR


@pytest_asyncio.fixture
async def fake_line(fake_line_factory: Any, line_spec_dir: Path) -> FakeLineApi:
    """The fake LINE API, validating against LINE's spec, with the owner as a LINE user."""
    fake: FakeLineApi = await fake_line_factory(line_spec_dir)
    fake.add_user("เจ้าของร้าน", OWNER)
    fake.add_user("คนอื่น", STRANGER)
    return fake


@pytest.fixture
def cams(config_dir: Path) -> str:
    """Install the federation tests' camera drop-in."""
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    return CAMS


@pytest.fixture(scope="module")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Ten 2-second H.264 segments, encoded once for the module."""
    folder = tmp_path_factory.mktemp("segments")
    return asyncio.run(make_segments(folder, count=10, seconds=SECONDS))


async def _pair(
    make_hub: Any, lab: FederationLab, tmp_path: Path, cams: str, fake: FakeLineApi
) -> tuple[Hub, Hub]:
    hub_extra = cams + fake.config_yaml({"owner": OWNER})
    hub, station = await start_pair(make_hub, lab, tmp_path / "st", hub_extra=hub_extra)
    desk = station.data[FOOTAGE]
    await until(lambda: desk.hub_key("test-hub"))
    return hub, station


async def _record(hub: Hub, camera: str, files: list[Path], start: float) -> None:
    from integrations.video.const import RUNTIME as VIDEO_RUNTIME

    await register_segments(hub.data[VIDEO_RUNTIME].recordings, camera, files, start=start, seconds=SECONDS)


async def session(station: Hub, role: str, name: str) -> aiohttp.ClientSession:
    user = await station.auth.add_user(name, "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def _ask(
    op: aiohttp.ClientSession, cameras: list[str], start: float, end: float, case: str = "123/2569"
) -> str:
    resp = await op.post(
        "/api/ccoc/footage_requests",
        json={
            "hub_id": "test-hub",
            "cameras": cameras,
            "start": start,
            "end": end,
            "reason": "ชิงทรัพย์",
            "case_number": case,
        },
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def _state(op: aiohttp.ClientSession, request_id: str, *states: str) -> dict[str, Any]:
    async def reached() -> Any:
        found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
        return found if found["state"] in states else None

    return dict(await until(reached, within=30))


async def _hub_state(hub: Hub, request_id: str, state: str) -> dict[str, Any]:
    async def reached() -> Any:
        found = await hub.data[FOOTAGE_DESK].get(request_id)
        return found if found is not None and found["state"] == state else None

    return dict(await until(reached, within=30))


def _card_buttons(fake: FakeLineApi, request_id: str) -> dict[str, str]:
    """Return the approval card's postback data by label (approve / deny) for ``request_id``."""
    for push in fake.pushes:
        for message in push.messages:
            if message.get("type") != "flex":
                continue
            buttons = message["contents"]["footer"]["contents"]
            data = {b["action"]["label"]: b["action"]["data"] for b in buttons}
            if any(request_id in v for v in data.values()):
                return {"approve": data["อนุญาต / Approve"], "deny": data["ไม่อนุญาต / Deny"]}
    raise AssertionError("no approval card for the request")


async def _press(fake: FakeLineApi, hub: Hub, data: str, user: str = OWNER) -> None:
    status = await fake.post_webhook(
        hub.http.url + "/api/line/webhook", [fake.event_postback(data, user_id=user)]
    )
    assert status == 200
    await hub.block_till_done()


async def test_owner_approves_on_line_and_the_pack_verifies(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    cams: str,
    fake_line: FakeLineApi,
    segment_files: list[Path],
    clock: Any,
) -> None:
    """Registry camera → LINE card → owner approves → clips delivered → pack verifies; one byte changed fails."""
    hub, station = await _pair(make_hub, federation_lab, tmp_path, cams, fake_line)
    t0 = clock.time() - 600
    await _record(hub, "camera.shop_registry", segment_files, t0)
    async with await session(station, "operator", "somchai") as op:
        request_id = await _ask(op, ["camera.shop_registry"], t0 + 3, t0 + 13)
        await fake_line.wait_for(lambda f: any(m.get("type") == "flex" for p in f.pushes for m in p.messages))
        found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
        assert found["state"] == "pending"
        buttons = _card_buttons(fake_line, request_id)
        assert fake_line.pushes[0].to == OWNER
        await _press(fake_line, hub, buttons["approve"])
        found = await _state(op, request_id, "delivered")
        assert [h["state"] for h in found["history"]][:2] == ["pending", "approved"]
        # The station knows first; the hub writes its receipt once the station has said so.
        await _hub_state(hub, request_id, "delivered")
        [item] = found["items"]
        assert item["camera"] == "camera.shop_registry" and item["complete"]
        # Keyframe-aligned: the clip starts at the segment holding the window's start.
        assert item["start"] == t0 + 2 and item["end"] == t0 + 14
        # The owner's receipt: audit (who, window, case, hashes) and LINE.
        [receipt] = await hub.audit.query(action="video.footage.receipt")
        assert receipt.detail["case_number"] == "123/2569"
        assert receipt.detail["items"][0]["sha256"] == item["sha256"]
        assert receipt.detail["officer"]["user"] == "somchai"
        await fake_line.wait_for(
            lambda f: any(item["sha256"] in m.get("text", "") for p in f.pushes for m in p.messages)
        )
        views = await hub.audit.query(action="camera.view", target="camera.shop_registry")
        assert any(v.detail.get("what") == "footage" for v in views)
        # The pack.
        resp = await op.get(f"/api/ccoc/footage_requests/{request_id}/pack.zip")
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
        pack = tmp_path / "pack.zip"
        pack.write_bytes(await resp.read())
        keys = await (await op.get("/api/station/keys")).json()
    assert fake_line.violations == []
    with zipfile.ZipFile(pack) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    clip = f"clips/camera.shop_registry/{item['id']}.mp4"
    assert clip in names and "hub/manifest.json" in names
    assert {f["path"]: f["sha256"] for f in manifest["files"]}[clip] == item["sha256"]
    assert [a["state"] for a in manifest["approvals"]] == ["approved"]
    assert any(e["action"] == "station.footage.export" for e in manifest["audit"])
    hub_part = json.loads(zipfile.ZipFile(pack).read("hub/manifest.json"))
    assert hub_part["approvals"][0]["via"] == "line" and hub_part["approvals"][0]["by"] == "line:เจ้าของร้าน"
    assert (await station.audit.query(action="station.footage.export"))[0].actor == "somchai"
    # ffprobe reads the clip: H.264, not re-encoded, about 12 s long.
    extracted = tmp_path / "clip.mp4"
    extracted.write_bytes(zipfile.ZipFile(pack).read(clip))
    probe_args = [
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name:format=duration",
        "-of",
        "json",
    ]
    done = await asyncio.to_thread(
        subprocess.run, [*probe_args, str(extracted)], capture_output=True, text=True, check=True, timeout=30
    )
    probe = json.loads(done.stdout)
    assert probe["streams"][0]["codec_name"] == "h264"
    assert 11.0 <= float(probe["format"]["duration"]) <= 13.0
    # verify, as a court would: the real command line, offline, with the published key.
    keyfile = tmp_path / "station.pem"
    keyfile.write_text(keys["station"]["pem"], encoding="utf-8")
    cmd = [sys.executable, "-m", "hub.cli", "evidence", "verify", str(pack), "--key", str(keyfile)]
    ok = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    raw = bytearray(pack.read_bytes())
    info = zipfile.ZipFile(pack).getinfo(clip)
    raw[info.header_offset + 30 + len(info.filename) + 1000] ^= 0x01  # a byte inside the clip's data
    pack.write_bytes(bytes(raw))
    bad = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert bad.returncode == 1
    assert clip in bad.stderr
    assert verify_pack(pack).names() == [clip]


async def test_approvals_forged_replayed_expired_and_denied(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    cams: str,
    fake_line: FakeLineApi,
    clock: Any,
) -> None:
    """A forged or foreign press changes nothing; a replay after the decision changes nothing; an old card expires."""
    # Cards valid for 72 s here, so the test can outlive one without moving the clock for days.
    cams = cams.replace("chunk_bytes: 65536}", "chunk_bytes: 65536, approval_hours: 0.02}")
    hub, station = await _pair(make_hub, federation_lab, tmp_path, cams, fake_line)
    t0 = clock.time() - 600
    desk = hub.data[FOOTAGE_DESK]
    async with await session(station, "operator", "somchai") as op:
        first = await _ask(op, ["camera.shop_registry"], t0, t0 + 60, "A/1")
        await until(lambda: desk.get(first))
        await fake_line.wait_for(lambda f: len(f.pushes) >= 1)
        buttons = _card_buttons(fake_line, first)
        # Forged: the signature changed.
        q = {k: v[0] for k, v in parse_qs(buttons["approve"]).items()}
        await _press(
            fake_line, hub, urlencode({**q, "sig": q["sig"][:-2] + ("AA" if q["sig"][-2:] != "AA" else "BB")})
        )
        # Foreign: the real button, pressed by someone the card was not sent to.
        await _press(fake_line, hub, buttons["approve"], user=STRANGER)
        # Tampered: a deny button turned into an approval.
        await _press(fake_line, hub, buttons["deny"].replace("%2Fn", "%2Fy"))
        assert (await desk.get(first))["state"] == "pending"
        # While the owner thinks, retention may not delete the window's recordings.
        from integrations.video.const import RUNTIME as VIDEO_RUNTIME

        held = await hub.data[VIDEO_RUNTIME].recordings.lock_info(f"footage:{first}")
        assert held is not None and (held.start, held.end, held.released_at) == (t0, t0 + 60, None)
        refused = await hub.audit.query(action="video.footage.approval")
        assert [e.detail["error"] for e in refused] == ["forged", "forged", "forged"]
        # The owner denies; the station is told; a replayed approve changes nothing.
        await _press(fake_line, hub, buttons["deny"])
        found = await _state(op, first, "denied")
        assert found["state_reason"] == "the owner declined"
        released = await hub.data[VIDEO_RUNTIME].recordings.lock_info(f"footage:{first}")
        assert released is not None and released.released_by == "footage"
        await _press(fake_line, hub, buttons["approve"])
        assert (await desk.get(first))["state"] == "denied"
        replay = (await hub.audit.query(action="video.footage.approval"))[0]
        assert replay.result == "refused" and "already denied" in replay.detail["error"]
        # Expired: a card older than approval_hours.
        second = await _ask(op, ["camera.shop_registry"], t0, t0 + 60, "A/2")
        await fake_line.wait_for(lambda f: any(second in json.dumps(p.messages) for p in f.pushes))
        late = _card_buttons(fake_line, second)
        await clock.advance(120)
        await _press(fake_line, hub, late["approve"])
        assert (await desk.get(second))["state"] == "pending"
        assert (await hub.audit.query(action="video.footage.approval"))[0].detail["error"] == "expired"
        texts = [m.get("text", "") for p in fake_line.pushes for m in p.messages]
        assert any("หมดอายุ" in t for t in texts) and any("ไม่ถูกต้อง" in t for t in texts)
    assert fake_line.violations == []


async def test_policies_decide_and_an_empty_window_is_no_footage(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    cams: str,
    fake_line: FakeLineApi,
    segment_files: list[Path],
    clock: Any,
) -> None:
    """always: served; on_alarm: served only over an incident; never: "no camera"; no recordings: no footage."""
    hub, station = await _pair(make_hub, federation_lab, tmp_path, cams, fake_line)
    t0 = clock.time() - 3000
    await _record(hub, "camera.stall_alarm", segment_files, t0)
    async with await session(station, "operator", "somchai") as op:
        # always, but nothing recorded: delivered as "no footage", not an error.
        empty = await _ask(op, ["camera.gate_always"], t0, t0 + 20)
        found = await _state(op, empty, "delivered")
        assert found["items"] == [] and found["no_footage"] == ["camera.gate_always"]
        assert found["state_reason"] == "no footage in this window"
        assert (await op.get(f"/api/ccoc/footage_requests/{empty}/pack.zip")).status == 200
        # on_alarm without an incident: the owner is asked.
        quiet = await _ask(op, ["camera.stall_alarm"], t0, t0 + 10)
        assert (await _state(op, quiet, "pending"))["state"] == "pending"
        await until(lambda: hub.data[FOOTAGE_DESK].get(quiet))
        assert (await hub.data[FOOTAGE_DESK].get(quiet))["decision"]["cameras"]["camera.stall_alarm"][
            "served"
        ] == ("owner_approval")
        # on_alarm over an incident at the hub: served at once.
        inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS", place="แผง 3")
        await clock.advance(1)
        await hub.services.call(
            "camera", "snapshot", {"entity_id": "camera.stall_alarm", "incident_id": inc.id}
        )

        async def snapshot_at_station() -> bool:
            found = await station.data[FOOTAGE].station.store.incident(inc.id, "test-hub")
            return bool(found and found["snapshots"])

        await until(snapshot_at_station)
        alarm = await _ask(op, ["camera.stall_alarm"], clock.time() - 5, clock.time())
        hub_req = await until(lambda: hub.data[FOOTAGE_DESK].get(alarm))
        assert hub_req["decision"]["cameras"]["camera.stall_alarm"]["incidents"] == [inc.id]
        assert (await _state(op, alarm, "delivered"))["no_footage"] == ["camera.stall_alarm"]
        # The pack carries the camera's snapshots the station holds for the window.
        resp = await op.get(f"/api/ccoc/footage_requests/{alarm}/pack.zip")
        pack = tmp_path / "alarm.zip"
        pack.write_bytes(await resp.read())
        names = zipfile.ZipFile(pack).namelist()
        assert [n for n in names if n.startswith("snapshots/camera.stall_alarm/")], names
        assert verify_pack(pack).ok
        # never: the station's registry does not list it, and the hub would not admit it exists.
        resp = await op.post(
            "/api/ccoc/footage_requests",
            json={"hub_id": "test-hub", "cameras": ["camera.home_never"], "start": t0, "end": t0 + 10,
                  "reason": "x", "case_number": "y"},
        )  # fmt: skip
        assert resp.status == 400
    # The hub refuses a "never" camera by itself too (the station cannot override the owner).
    from integrations.federation.protocol import ActorDoc, CommandDoc

    cmd = CommandDoc(
        v=1, id="01JD0000000000000000000001", station="test-station", hub="test-hub", command="footage.request",
        data={"request_id": "01JD0000000000000000000002", "cameras": ["camera.home_never"], "start": t0,
              "end": t0 + 10, "reason": "x", "case_number": "y", "upload_url": station.http.url,
              "requested_at": t0},
        by=ActorDoc(user="somchai"), ts=t0,
    )  # fmt: skip
    from integrations.federation.commands import CommandRefused

    with pytest.raises(CommandRefused, match="no camera camera.home_never"):
        await hub.data[FOOTAGE_DESK].on_command(cmd)
    too_long = cmd.model_copy(
        update={"data": {**cmd.data, "cameras": ["camera.gate_always"], "end": t0 + 3 * 3600}}
    )
    with pytest.raises(CommandRefused, match="at most 120 minutes"):
        await hub.data[FOOTAGE_DESK].on_command(too_long)


async def test_owner_answers_on_the_hub_page(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    cams: str,
    fake_line: FakeLineApi,
    segment_files: list[Path],
    clock: Any,
) -> None:
    """The page lists the request (Thai); only admins may answer; the answer travels to the station."""
    hub, station = await _pair(make_hub, federation_lab, tmp_path, cams, fake_line)
    t0 = clock.time() - 600
    await _record(hub, "camera.shop_registry", segment_files, t0)
    desk = hub.data[FOOTAGE_DESK]
    async with (
        await session(station, "operator", "somchai") as op,
        await session(hub, "admin", "owner") as admin,
        await session(hub, "viewer", "staff") as viewer,
    ):
        approve = await _ask(op, ["camera.shop_registry"], t0, t0 + 6, "P/1")
        deny = await _ask(op, ["camera.shop_registry"], t0, t0 + 6, "P/2")
        await until(lambda: desk.get(deny))
        page = await admin.get("/video/footage")
        html = await page.text()
        assert page.status == 200
        assert "คำขอวิดีโอจากสถานีตำรวจ" in html and "P/1" in html and "รอท่านอนุญาต" in html
        assert f'action="/video/footage/{approve}/approve"' in html
        assert (await viewer.get("/video/footage")).status == 403
        assert (await viewer.post(f"/api/video/footage/{approve}/approve")).status == 403
        resp = await admin.post(f"/api/video/footage/{approve}/approve")
        assert resp.status == 200 and (await resp.json())["state"] == "approved"
        again = await admin.post(f"/api/video/footage/{approve}/deny")
        assert again.status == 409 and "already approved" in (await again.json())["error"]
        form = await admin.post(f"/video/footage/{deny}/deny", allow_redirects=False)
        assert form.status == 303 and form.headers["Location"] == "/video/footage?done=denied"
        assert (await admin.post("/api/video/footage/01JD0000000000000000000009/approve")).status == 404
        delivered = await _state(op, approve, "delivered")
        denied = await _state(op, deny, "denied")
        await _hub_state(hub, approve, "delivered")
        # The owner sees it on the camera's audit page, in Thai.
        audit_page = await (await admin.get("/cameras/audit?entity_id=camera.shop_registry")).text()
        assert "วิดีโอย้อนหลังที่ส่งให้สถานี" in audit_page and "station:test-station/somchai" in audit_page
    assert delivered["items"][0]["complete"]
    assert [(h["state"], h["actor"]) for h in denied["history"]][-1] == ("denied", "hub:test-hub/owner")
    hub_req = await desk.get(approve)
    assert hub_req is not None and (hub_req["decided_by"], hub_req["decided_via"]) == ("owner", "ui")
    from integrations.video.footage_views import STRINGS

    assert set(STRINGS["th"]) == set(STRINGS["en"])  # every word in both languages


async def test_clips_that_outrun_the_approval_keep_the_history_whole(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    cams: str,
    fake_line: FakeLineApi,
    clock: Any,
) -> None:
    """HTTP may beat the outbox: a delivery while the station still says pending records the approval first."""
    from integrations.video.evidence_pack import hub_manifest_bytes, sha256_hex
    from integrations.video.footage_config import FootageConfig
    from integrations.video.footage_protocol import item_id_for
    from integrations.video.footage_upload import Uploader

    hub, station = await _pair(make_hub, federation_lab, tmp_path, cams, fake_line)
    t0 = clock.time() - 600
    async with await session(station, "operator", "somchai") as op:
        request_id = await _ask(op, ["camera.shop_registry"], t0, t0 + 6, "R/1")
        await until(lambda: hub.data[FOOTAGE_DESK].get(request_id))
        clip = tmp_path / "clip.mp4"
        clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"x" * 5000)
        item = {
            "id": item_id_for(request_id, "camera.shop_registry", t0, t0 + 6),
            "camera": "camera.shop_registry",
            "start": t0,
            "end": t0 + 6,
            "size": clip.stat().st_size,
            "sha256": sha256_hex(clip.read_bytes()),
        }
        manifest = hub_manifest_bytes(
            {
                "hub": "test-hub",
                "request": {"id": request_id},
                "approvals": [{"by": "owner", "via": "ui", "at": t0, "state": "approved"}],
                "items": [item],
            }
        )
        key = hub.data[FOOTAGE_DESK].key  # the hub's own key, as its registry announced it
        async with Uploader(hub, key, FootageConfig(upload_kbps=0), station.http.url) as up:
            await up.upload_item(request_id, item, clip)
            await up.deliver(request_id, manifest, key.sign_b64(manifest))
        found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
    assert [(h["state"], h["actor"]) for h in found["history"]] == [
        ("pending", "station:test-station/somchai"),
        ("approved", "hub:test-hub/owner"),
        ("delivered", "hub:test-hub"),
    ]
