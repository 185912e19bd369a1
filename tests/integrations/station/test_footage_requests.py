"""Footage requests at the station: bad input gets a clear 4xx (audited), uploads need the hub's signature."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.testing import CAMERA_PASSWORD, FederationLab, start_pair, until
from integrations.station.footage import FOOTAGE
from integrations.video.evidence import EvidenceKey
from integrations.video.footage_protocol import HEADER_HUB, HEADER_OFFSET, HEADER_SIGNATURE, signing_text

TESTCAMS = Path(__file__).parents[1] / "federation" / "testcams"
CAMS = """
testcams:
  - {id: gate_always, share: always, password: !secret cam_pw}
  - {id: shop_registry, share: registry, password: !secret cam_pw}
  - {id: home_never, share: never, password: !secret cam_pw}
"""


@pytest.fixture
def cams(config_dir: Path) -> str:
    """Install the federation tests' camera drop-in into the hub's config folder."""
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    return CAMS


async def session(station: Hub, role: str, name: str) -> aiohttp.ClientSession:
    user = await station.auth.add_user(name, "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def _pair(make_hub: Any, lab: FederationLab, tmp_path: Path, cams: str) -> tuple[Hub, Hub]:
    hub, station = await start_pair(make_hub, lab, tmp_path / "st", hub_extra=cams)

    async def registry() -> bool:
        item = await station.data[FOOTAGE].station.store.hub("test-hub")
        return bool(((item or {}).get("registry") or {}).get("cameras"))

    await until(registry)
    return hub, station


async def test_bad_requests_are_refused_clearly_and_audited(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """End before start, a window over 2 h, cameras not at the hub, no reason: 400 naming the problem."""
    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    now = station.clock.time()
    good = {
        "hub_id": "test-hub",
        "cameras": ["camera.gate_always"],
        "start": now - 600,
        "end": now - 300,
        "reason": "ชิงทรัพย์หน้าร้าน",
        "case_number": "123/2569",
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"end": now - 900}, 400, "must be after start"),
        ({"start": now - 3 * 3600, "end": now - 60}, 400, "at most 120 minutes"),
        ({"cameras": ["camera.nope"]}, 400, "has no camera camera.nope"),
        ({"cameras": ["camera.home_never"]}, 400, "has no camera camera.home_never"),
        ({"start": "yesterday"}, 400, "not an ISO 8601 time"),
        ({"start": 1e20}, 400, "not a time between 1970 and 2100"),
        ({"start": now + 600, "end": now + 1200}, 400, "ends in the future"),
        ({"reason": "  "}, 400, "reason is required"),
        ({"case_number": ""}, 400, "case_number is required"),
        ({"hub_id": "hub-x"}, 404, "no hub 'hub-x'"),
    ]
    async with (
        await session(station, "operator", "somchai") as op,
        await session(station, "viewer", "v") as viewer,
    ):
        for change, status, text in cases:
            resp = await op.post("/api/ccoc/footage_requests", json={**good, **change})
            body = await resp.json()
            assert resp.status == status, (change, body)
            assert text in body["error"], (change, body)
        assert (await viewer.post("/api/ccoc/footage_requests", json=good)).status == 403
        refused = await station.audit.query(action="station.footage.request")
        assert len(refused) == len(cases) and all(e.result == "refused" for e in refused)
        # ISO 8601 with an offset is the documented form.
        iso = {**good, "start": "2020-01-01T10:00:00+07:00", "end": "2020-01-01T10:30:00+07:00"}
        resp = await op.post("/api/ccoc/footage_requests", json=iso)
        assert resp.status == 201, await resp.text()
        created = await resp.json()
        assert created["start"] == 1577847600.0 and created["state"] == "pending"
        assert (await op.get("/api/ccoc/footage_requests/01JD0000000000000000000000")).status == 404
        pack = await op.get(f"/api/ccoc/footage_requests/{created['id']}/pack.zip")
        assert pack.status == 409 and "pending" in (await pack.json())["error"]


async def test_a_hub_without_recordings_denies_the_request(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """The request reaches the hub through federation; a hub that records nothing says so, and it shows."""
    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    now = station.clock.time()
    async with await session(station, "operator", "somchai") as op:
        resp = await op.post(
            "/api/ccoc/footage_requests",
            json={
                "hub_id": "test-hub",
                "cameras": ["camera.gate_always"],
                "start": now - 600,
                "end": now - 300,
                "reason": "ชิงทรัพย์",
                "case_number": "124/2569",
            },
        )
        assert resp.status == 201
        request_id = (await resp.json())["id"]

        async def answered() -> Any:
            found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
            return found if found["state"] != "pending" else None

        found = await until(answered)
    assert found["state"] == "denied"
    assert "does not offer it" in found["state_reason"]
    commands = await station.data[CCOC_RUNTIME].delivery.commands(hub_id="test-hub")
    assert commands[0]["command"] == "footage.request" and commands[0]["state"] == "refused"


async def test_uploads_need_the_hubs_signature(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """No signature: 401; a signature by a key the hub's registry does not announce: 403, audited."""
    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    url = f"{station.http.url}/api/station/footage/01JD0000000000000000000000/items/{'a' * 24}"
    body = b'{"camera":"camera.gate_always","start":1,"end":2,"size":3,"sha256":"' + b"0" * 64 + b'"}'
    async with aiohttp.ClientSession() as anon:
        resp = await anon.put(url, data=body)
        assert resp.status == 401
        stranger = EvidenceKey.generate()
        path = url.split(station.http.url, 1)[1]
        resp = await anon.put(
            url,
            data=body,
            headers={
                HEADER_HUB: "test-hub",
                HEADER_SIGNATURE: stranger.sign_b64(signing_text("PUT", path, "", body)),
            },
        )
        assert resp.status == 403
        resp = await anon.patch(
            url,
            data=b"xyz",
            headers={
                HEADER_HUB: "test-hub",
                HEADER_OFFSET: "0",
                HEADER_SIGNATURE: stranger.sign_b64(signing_text("PATCH", path, "0", b"xyz")),
            },
        )
        assert resp.status == 403
    refused = await station.audit.query(action="station.footage.upload_refused")
    assert len(refused) == 2 and all(e.result == "refused" for e in refused)


async def test_station_keys_are_published_and_stable(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """/api/station/keys needs a login and serves the key made at first start."""
    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    async with await session(station, "viewer", "v") as viewer, aiohttp.ClientSession() as anon:
        assert (await anon.get(f"{station.http.url}/api/station/keys")).status == 401
        keys = await (await viewer.get("/api/station/keys")).json()
    assert keys["station"]["public"] == station.data[FOOTAGE].key.public.b64
    assert keys["station"]["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    # Unregistered state is irrelevant: the row in kv is the key.
    row = await station.storage.fetchone("SELECT value FROM kv WHERE key = 'evidence_ed25519'")
    assert (
        row is not None and EvidenceKey(bytes.fromhex(row["value"])).public.b64 == keys["station"]["public"]
    )


async def test_nonsense_never_makes_a_500(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """Odd bodies, headers and ids on every footage route: a 4xx each time, never a crash."""
    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    bodies: list[Any] = [
        [],
        "x",
        None,
        {"hub_id": ["test-hub"]},
        {"hub_id": "test-hub", "cameras": [1, 2]},
        {"hub_id": "test-hub", "cameras": ["camera.gate_always"] * 40},
        {"hub_id": "test-hub", "cameras": "camera.gate_always", "start": True, "end": {}},
        {"hub_id": "test-hub", "cameras": ["camera.gate_always"], "start": -5, "end": 10},
        {"hub_id": "test-hub", "cameras": ["camera.gate_always"], "start": 0, "end": 60, "reason": "x" * 600},
        {"hub_id": "test-hub", "cameras": ["camera.gate_always"], "start": "2026-13-45T99:00", "end": "now"},
    ]
    rid = "01JD0000000000000000000000"
    async with await session(station, "operator", "somchai") as op:
        for body in bodies:
            resp = await op.post("/api/ccoc/footage_requests", data=json_bytes(body))
            assert 400 <= resp.status < 500, (body, resp.status, await resp.text())
        resp = await op.post("/api/ccoc/footage_requests", data=b"{not json")
        assert resp.status == 400
        for path in ("/api/ccoc/footage_requests/..%2F..", "/api/ccoc/footage_requests/x/pack.zip"):
            assert (await op.get(path)).status == 404
        assert (await op.get("/api/ccoc/footage_requests?hub_id=../x")).status == 400
    url = station.http.url + f"/api/station/footage/{rid}/items/{'a' * 24}"
    async with aiohttp.ClientSession() as anon:
        headers = {HEADER_HUB: "test-hub", HEADER_SIGNATURE: "!!notbase64!!"}
        for method, extra in (
            ("PUT", {}),
            ("PATCH", {HEADER_OFFSET: "-1"}),
            ("PATCH", {HEADER_OFFSET: "zz"}),
        ):
            resp = await anon.request(method, url, data=b"\x00" * 10, headers={**headers, **extra})
            assert 400 <= resp.status < 500, (method, extra, resp.status)
        resp = await anon.put(url.replace("a" * 24, "NOT-AN-ID"), data=b"{}", headers=headers)
        assert resp.status == 404
        resp = await anon.post(
            station.http.url + f"/api/station/footage/{rid}/manifest", data=b"[]", headers=headers
        )
        assert resp.status == 403


def json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


async def test_console_page_asks_and_explains_in_thai(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    """The console's form makes the same request as the API; refusals are explained in Thai."""
    from datetime import datetime

    _hub, station = await _pair(make_hub, federation_lab, tmp_path, cams)
    tz = station.clock.tz
    start = datetime.fromtimestamp(station.clock.time() - 1800, tz).strftime("%Y-%m-%dT%H:%M:%S")
    end = datetime.fromtimestamp(station.clock.time() - 1200, tz).strftime("%Y-%m-%dT%H:%M:%S")
    form = {
        "camera": "test-hub|camera.gate_always",
        "start": start,
        "end": end,
        "reason": "ลักทรัพย์",
        "case_number": "9/2569",
    }
    async with (
        await session(station, "operator", "somchai") as op,
        await session(station, "viewer", "v") as viewer,
    ):
        page = await op.get("/ccoc/footage")
        html = await page.text()
        assert page.status == 200 and "คำขอวิดีโอย้อนหลัง" in html
        assert 'value="test-hub|camera.gate_always"' in html and "camera.home_never" not in html
        assert (await viewer.get("/ccoc/footage")).status == 403
        bad = await op.post("/ccoc/footage", data={**form, "end": start})
        assert bad.status == 400 and "เวลาสิ้นสุดต้องอยู่หลังเวลาเริ่ม" in await bad.text()
        bad = await op.post("/ccoc/footage", data={**form, "camera": "test-hub|camera.gone"})
        assert bad.status == 400 and "ฮับนี้ไม่มีกล้อง camera.gone" in await bad.text()
        bad = await op.post("/ccoc/footage", data={**form, "reason": ""})
        assert bad.status == 400 and "กรุณาระบุเหตุผล" in await bad.text()
        ok = await op.post("/ccoc/footage", data=form, allow_redirects=False)
        assert ok.status == 303 and ok.headers["Location"].startswith("/ccoc/footage?created=")
        request_id = ok.headers["Location"].rsplit("=", 1)[1]
        found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
        assert found["cameras"] == ["camera.gate_always"] and found["case_number"] == "9/2569"
        assert found["start"] == station.clock.time() - 1800
        english = await op.post("/ccoc/footage", data={**form, "end": start}, cookies={"lang": "en"})
        assert "The end must be after the start" in await english.text()
