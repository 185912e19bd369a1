"""A restart of either side mid-upload neither loses nor duplicates a clip.

* The station stops (cleanly, mid-request) and starts again on the same
  address: the hub keeps retrying, then continues from the offset the
  station's partial file holds.
* The hub process is SIGKILLed mid-upload (``safetyhub run`` in a
  subprocess, as in tests/integrations/federation/test_no_loss.py) and
  started again: it resumes the request from its database, declares the
  same clip (same hash) and sends only what the station lacks.

Either way the station ends with one clip, whole, with the hub's SHA-256.
The station pauses after the first chunk it stores, so "mid-upload" is a
fact, not a race.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import (
    CAMERA_PASSWORD,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.mqtt.testing import free_port
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.footage import FOOTAGE
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.evidence_pack import file_sha256
from integrations.video.footage import FOOTAGE_DESK
from integrations.video.footage_testing import SEGMENT_PLUGIN, make_segments, register_segments

REPO = Path(__file__).resolve().parents[3]
TESTCAMS = REPO / "tests" / "integrations" / "federation" / "testcams"
VIDEO = "video:\n  footage: {retry_seconds: 0.1, chunk_bytes: 65536, upload_kbps: 0}\n"
CAMS = "testcams:\n  - {id: gate_always, share: always, password: !secret cam_pw}\n"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six 2-second segments at 2 Mbit/s: a clip of a few MB, many 64 KiB chunks."""
    folder = tmp_path_factory.mktemp("segments")
    return asyncio.run(make_segments(folder, count=6, seconds=2, size="640x360", bitrate="2M"))


def _pause_after_first_chunk(station: Hub) -> tuple[asyncio.Event, asyncio.Event, list[int]]:
    """Hold the station's answer after the first chunk it stores; record every offset it is sent."""
    uploads = station.data[FOOTAGE].uploads
    real: Callable[..., Awaitable[dict[str, Any]]] = uploads.chunk
    stored, release = asyncio.Event(), asyncio.Event()
    offsets: list[int] = []

    async def chunk(request_id: str, hub_id: str, item_id: str, offset: int, data: bytes) -> dict[str, Any]:
        offsets.append(offset)
        result = await real(request_id, hub_id, item_id, offset, data)
        if not stored.is_set():
            stored.set()
            await release.wait()
        return result

    uploads.chunk = chunk  # type: ignore[method-assign]
    return stored, release, offsets


def _record_offsets(station: Hub) -> list[int]:
    uploads = station.data[FOOTAGE].uploads
    real = uploads.chunk
    offsets: list[int] = []

    async def chunk(request_id: str, hub_id: str, item_id: str, offset: int, data: bytes) -> dict[str, Any]:
        offsets.append(offset)
        return await real(request_id, hub_id, item_id, offset, data)

    uploads.chunk = chunk  # type: ignore[method-assign]
    return offsets


async def _ask(station: Hub, start: float, end: float) -> str:
    found = await station.data[FOOTAGE].create(
        {
            "hub_id": "test-hub",
            "cameras": ["camera.gate_always"],
            "start": start,
            "end": end,
            "reason": "ชิงทรัพย์",
            "case_number": "77/2569",
        },
        user="somchai",
        role="operator",
    )
    return str(found["id"])


async def _delivered(station: Hub, request_id: str, within: float = 60) -> dict[str, Any]:
    async def done() -> Any:
        found = await station.data[FOOTAGE].get(request_id)
        return found if found is not None and found["state"] == "delivered" else None

    return dict(await until(done, within=within))


def _clip_files(station: Hub) -> list[Path]:
    return sorted((station.data_dir / "station_footage").rglob("*.mp4*"))


async def test_station_restart_mid_upload(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    config_dir: Path,
    segment_files: list[Path],
    clock: Any,
) -> None:
    """The station stops after storing one chunk and comes back on the same address: one whole clip, resumed."""
    port = free_port()
    base = station_config().replace("port: 0", f"port: {port}")
    station_block = federation_lab.station_block()
    station = await make_hub(station_block, base=base, folder=tmp_path / "st")
    await register_hubs(station)
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    hub = await make_hub(federation_lab.hub_block() + CAMS + VIDEO)
    assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10)
    await until(lambda: station.data[FOOTAGE].hub_key("test-hub"))

    t0 = clock.time() - 600
    await register_segments(
        hub.data[VIDEO_RUNTIME].recordings, "camera.gate_always", segment_files, start=t0, seconds=2
    )
    stored, release, _ = _pause_after_first_chunk(station)
    request_id = await _ask(station, t0, t0 + 12)
    await asyncio.wait_for(stored.wait(), 30)
    held = [p for p in _clip_files(station) if p.name.endswith(".part")]
    assert len(held) == 1 and held[0].stat().st_size == 65536
    await station.stop()  # mid-request: the hub's PATCH is cut off
    release.set()

    station = await make_hub(station_block, base=base, folder=tmp_path / "st")
    offsets = _record_offsets(station)
    found = await _delivered(station, request_id)
    [item] = found["items"]
    hub_req = await hub.data[FOOTAGE_DESK].get(request_id)
    assert hub_req is not None
    hub_item = hub_req["items"][0]
    assert item["sha256"] == hub_item["sha256"] and item["size"] == hub_item["size"]
    assert offsets and offsets[0] == 65536  # resumed where the station's file stopped, not from 0
    [clip] = _clip_files(station)
    assert clip.suffix == ".mp4" and file_sha256(clip) == item["sha256"]
    rows = await station.storage.fetchall("SELECT * FROM footage_items WHERE request_id = ?", (request_id,))
    assert len(rows) == 1


class HubProcess:
    """``safetyhub run`` in a subprocess, killed and restarted on demand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
        with (self.folder / "hub.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


async def test_hub_sigkill_mid_upload(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, segment_files: list[Path]
) -> None:
    """The hub process dies (SIGKILL) with a clip half sent; restarted, it finishes it: same hash, once."""
    import time

    station = await make_hub(
        federation_lab.station_block(), base=station_config(), folder=tmp_path / "st", real_clock=True
    )
    await register_hubs(station, "test-hub")
    folder = tmp_path / "hub"
    shutil.copytree(TESTCAMS, folder / "plugins" / "testcams")
    plugin = folder / "plugins" / "testfootage"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(SEGMENT_PLUGIN, encoding="utf-8")
    (plugin / "manifest.json").write_text(
        '{"domain": "testfootage", "name": "test footage", "dependencies": ["video"], "roles": ["hub"]}',
        encoding="utf-8",
    )
    (folder / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    t0 = time.time() - 600
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""\
            hub:
              id: test-hub
              name: ร้านทดสอบ
              zone: test-zone
              timezone: Asia/Bangkok
              data_dir: ./data
              web: {{host: 127.0.0.1, port: {free_port()}}}
            """)
        + federation_lab.hub_block()
        + CAMS
        + VIDEO
        + f"testfootage: {{camera: camera.gate_always, folder: '{segment_files[0].parent}', start: {t0}, seconds: 2}}\n",
        encoding="utf-8",
    )
    proc = HubProcess(folder)
    proc.start()
    try:
        st = station.data[STATION_RUNTIME]
        await until(lambda: station.data[FOOTAGE].hub_key("test-hub"), within=60)
        await until(
            lambda: "test-hub" in st.ingest.statuses and st.ingest.statuses["test-hub"].status == "online"
        )
        stored, release, _ = _pause_after_first_chunk(station)
        request_id = await _ask(station, t0, t0 + 12)
        await asyncio.wait_for(stored.wait(), 60)
        proc.kill()  # no shutdown hook runs: the upload is cut off mid-clip
        release.set()
        offsets = _record_offsets(station)
        proc.start()
        found = await _delivered(station, request_id, within=90)

        def hub_row() -> Any:
            db = sqlite3.connect(folder / "data" / "safetyhub.db", timeout=10)
            try:
                return db.execute(
                    "SELECT i.sha256, i.size, r.state FROM video_footage_items i JOIN video_footage_requests r "
                    "ON r.id = i.request_id WHERE r.id = ?",
                    (request_id,),
                ).fetchone()
            finally:
                db.close()

        # The station knows first; the hub records "delivered" once the station has said so.
        async def hub_delivered() -> Any:
            row = await asyncio.to_thread(hub_row)
            return row if row is not None and row[2] == "delivered" else None

        hub_sha, hub_size, _state = await until(hub_delivered, within=30)
    finally:
        proc.stop()
    [item] = found["items"]
    assert (item["sha256"], item["size"]) == (hub_sha, hub_size)
    assert offsets and offsets[0] == 65536  # the restarted hub sent only what the station lacked
    [clip] = _clip_files(station)
    assert file_sha256(clip) == item["sha256"]
    assert (
        len(await station.storage.fetchall("SELECT 1 FROM footage_items WHERE request_id = ?", (request_id,)))
        == 1
    )


async def test_a_damaged_partial_clip_is_sent_again(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    config_dir: Path,
    segment_files: list[Path],
    clock: Any,
) -> None:
    """Bytes spoiled on the station's disk mid-upload fail the final hash: the clip is sent again from 0."""
    station = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(station)
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    hub = await make_hub(federation_lab.hub_block() + CAMS + VIDEO)
    assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10)
    await until(lambda: station.data[FOOTAGE].hub_key("test-hub"))

    t0 = clock.time() - 600
    await register_segments(
        hub.data[VIDEO_RUNTIME].recordings, "camera.gate_always", segment_files, start=t0, seconds=2
    )
    stored, release, offsets = _pause_after_first_chunk(station)
    request_id = await _ask(station, t0, t0 + 12)
    await asyncio.wait_for(stored.wait(), 30)
    [part] = _clip_files(station)
    part.write_bytes(b"\x00" * part.stat().st_size)  # same length, wrong bytes
    release.set()
    found = await _delivered(station, request_id)
    [item] = found["items"]
    assert offsets.count(0) == 2  # the first chunk twice: once at the start, once after the failed hash
    [clip] = _clip_files(station)
    assert file_sha256(clip) == item["sha256"]
