"""Backups: a consistent encrypted snapshot while the hub writes, restored into a fresh folder."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.hub import Hub
from hub.runlock import RunLock
from hub.testing import BASE_CONFIG, wait_for
from integrations.backup.archive import BackupError, read_manifest, restore_backup, write_backup
from integrations.backup.schedule import prune

PASS = "correct horse battery staple"
REPO = Path(__file__).resolve().parents[3]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secrets.yaml").write_text("federation_password: not-a-real-password-1234\n", encoding="utf-8")
    path = folder / "config.yaml"
    path.write_text(
        BASE_CONFIG
        + f"""\
# the hand-written comment is kept
federation:
  station: test-station
  broker: mqtt://127.0.0.1:{_closed_port()}
  username: test-hub
  password: !secret federation_password
automation:
  - id: later
    triggers: [{{trigger: event, event_type: start_delay}}]
    actions:
      - delay: {{hours: 1}}
      - event: delay_done
""",
        encoding="utf-8",
    )
    return path


async def _write(folder: Path, data_dir: Path, dest: Path) -> None:
    await asyncio.to_thread(
        write_backup,
        config_dir=folder,
        data_dir=data_dir,
        dest=dest,
        passphrase=PASS,
        hub_id="test-hub",
        role="hub",
        version="test",
    )


async def test_backup_while_writing_then_restore(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    hub = Hub(_config(folder), clock=FakeClock(), web=False)
    await hub.start()
    admin = await hub.auth.add_user("somchai", "a-long-password-1", "admin")
    token = await hub.auth.create_token(admin, "tablet")
    hub.bus.fire("start_delay", {})
    await hub.block_till_done()
    # The delay's row goes through the batch writer: the backup promises what was committed.
    for _ in range(200):
        if await hub.storage.fetchall("SELECT key FROM automation_timers WHERE automation = 'later'"):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the delay was never committed")

    committed: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            res = await hub.services.call("incident", "open", {"kind": "sos", "title": f"press {n}"})
            committed.append(res["incident_id"])  # answered = committed
            n += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(writer())
    await wait_for(lambda: len(committed) >= 20, what="20 incidents")
    before = set(committed)
    backup = tmp_path / "backup.zip"
    await _write(folder, hub.data_dir, backup)
    stop.set()
    await task
    outbox_before = await hub.storage.fetchall("SELECT id FROM federation_outbox")
    await hub.stop()
    assert len(committed) > len(before)  # the hub kept writing during the backup
    assert outbox_before  # the station was unreachable: rows waited in the outbox

    manifest = read_manifest(backup)
    assert manifest["hub_id"] == "test-hub" and "safetyhub.db" in manifest["databases"]
    with zipfile.ZipFile(backup) as archive:
        for name in archive.namelist():
            if name != "manifest.json":
                blob = archive.read(name)
                assert b"not-a-real-password" not in blob and b"SQLite format" not in blob  # encrypted

    fresh = tmp_path / "new-box"
    restore_backup(backup, config_dir=fresh, passphrase=PASS)
    assert "# the hand-written comment is kept" in (fresh / "config.yaml").read_text(encoding="utf-8")
    assert "not-a-real-password" in (fresh / "secrets.yaml").read_text(encoding="utf-8")
    clock = FakeClock()
    restored = Hub(fresh / "config.yaml", clock=clock, web=False)
    fired: list[object] = []
    await restored.start()
    try:
        restored.bus.listen("delay_done", fired.append)
        found = {i.id for i in await restored.data[INCIDENT_RUNTIME].find(limit=100_000)}
        assert before <= found  # everything committed before the backup began
        user = await restored.auth.user_for_token(token)
        assert user is not None and user.username == "somchai"
        outbox = await restored.storage.fetchall("SELECT id FROM federation_outbox")
        assert {r["id"] for r in outbox_before} & {r["id"] for r in outbox}
        await restored.block_till_done()  # the resumed run arms its timer
        await clock.advance(3600)
        await restored.block_till_done()
        assert len(fired) == 1  # the pending durable delay still fires
    finally:
        await restored.stop()


async def _settle(hub: Hub, condition: Callable[[], bool]) -> None:
    """The backup runs in a thread: wait in real time, letting the hub finish what follows it."""
    await wait_for(condition, within=30, what="the daily backup")
    await hub.block_till_done()


def _at_least(items: list[dict[str, object]], n: int) -> Callable[[], bool]:
    return lambda: len(items) >= n


def _small_backup(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "config.yaml").write_text(BASE_CONFIG, encoding="utf-8")
    (folder / "data").mkdir()
    backup = tmp_path / "b.zip"
    write_backup(
        config_dir=folder,
        data_dir=folder / "data",
        dest=backup,
        passphrase=PASS,
        hub_id="test-hub",
        role="hub",
        version="test",
    )
    return folder, backup


def test_restore_refuses_what_is_not_whole(tmp_path: Path) -> None:
    _, backup = _small_backup(tmp_path)
    target = tmp_path / "target"
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(os.urandom(2000))
    with pytest.raises(BackupError, match="not a SafetyHub backup"):
        restore_backup(garbage, config_dir=target, passphrase=PASS)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("manifest.json", json.dumps({"format": "other/9"}))
    with pytest.raises(BackupError, match="known format"):
        restore_backup(foreign, config_dir=target, passphrase=PASS)
    with pytest.raises(BackupError, match="wrong passphrase"):
        restore_backup(backup, config_dir=target, passphrase="not the passphrase")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(backup) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            blob = bytearray(src.read(info))
            if info.filename == "files/config/config.yaml":
                blob[-5] ^= 1
            dst.writestr(info, bytes(blob))
    with pytest.raises(BackupError, match="config/config.yaml: does not decrypt"):
        restore_backup(tampered, config_dir=target, passphrase=PASS)
    assert not target.exists() or not any(p for p in target.iterdir() if not p.name.startswith(".restore-"))


def test_a_corrupt_database_is_named(tmp_path: Path) -> None:
    folder, _ = _small_backup(tmp_path)
    (folder / "data" / "broken.db").write_bytes(b"\0" * 4096)
    with pytest.raises(BackupError, match="broken.db is not a readable SQLite database"):
        write_backup(
            config_dir=folder,
            data_dir=folder / "data",
            dest=tmp_path / "x.zip",
            passphrase=PASS,
            hub_id="test-hub",
            role="hub",
            version="test",
        )
    assert not (tmp_path / "x.zip").exists()


def test_restore_never_overwrites(tmp_path: Path) -> None:
    folder, backup = _small_backup(tmp_path)
    with pytest.raises(BackupError, match="is not empty"):
        restore_backup(backup, config_dir=folder, passphrase=PASS)


def test_cli_backup_and_restore_refuse_a_running_hub(tmp_path: Path) -> None:
    folder, _ = _small_backup(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_BACKUP_PASSPHRASE": PASS}
    dest = tmp_path / "cli.zip"
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "backup", "-c", str(folder / "config.yaml"), "--to", str(dest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "encrypted" in done.stdout and dest.is_file()
    # A hub running on the target: restore refuses, naming it, and changes nothing.
    target = tmp_path / "running"
    (target / "data").mkdir(parents=True)
    (target / "config.yaml").write_text(BASE_CONFIG, encoding="utf-8")
    lock = RunLock.acquire(target / "data")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", "restore", str(dest), "--to", str(target), "--force"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    finally:
        lock.release()
    assert done.returncode != 0 and f"process {os.getpid()}" in done.stderr and "stop it first" in done.stderr
    assert (target / "config.yaml").read_text(encoding="utf-8") == BASE_CONFIG


def test_a_full_disk_fails_the_backup_cleanly(tmp_path: Path) -> None:
    """The file-size limit stands in for a full disk: the write fails, nothing half-written stays."""
    folder, _ = _small_backup(tmp_path)
    con = sqlite3.connect(folder / "data" / "big.db")
    con.execute("CREATE TABLE t (b BLOB)")
    con.execute("INSERT INTO t VALUES (randomblob(65536))")
    con.commit()
    con.close()
    script = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048)); "
        "from hub.cli import main; sys.argv = sys.argv[1:]; main()"
    )
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_BACKUP_PASSPHRASE": PASS}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "safetyhub",
            "backup",
            "-c",
            str(folder / "config.yaml"),
            "--to",
            str(out / "b.zip"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0 and "could not write" in done.stderr, done.stderr
    assert list(out.iterdir()) == []


async def test_daily_backups_keep_the_newest(make_hub, clock: FakeClock, tmp_path: Path) -> None:
    hub = await make_hub(
        f"backup: {{dir: {tmp_path / 'backups'}, at: '03:30', keep: 2, passphrase: '{PASS}'}}\n"
    )
    done: list[dict[str, object]] = []
    hub.bus.listen("backup_done", lambda e: done.append(dict(e.data)))
    for day in range(1, 4):
        await clock.advance(24 * 3600)
        await _settle(hub, _at_least(done, day))
    assert all(d["ok"] for d in done)
    assert len(list((tmp_path / "backups").glob("safetyhub-test-hub-*.zip"))) == 2


async def test_a_failed_daily_backup_is_shown_and_the_hub_carries_on(
    make_hub, clock: FakeClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    hub = await make_hub(f"backup: {{dir: {blocker / 'backups'}, passphrase: '{PASS}'}}\n")
    done: list[dict[str, object]] = []
    hub.bus.listen("backup_done", lambda e: done.append(dict(e.data)))
    await clock.advance(24 * 3600)
    await _settle(hub, lambda: bool(done))
    assert done[0]["ok"] is False
    from integrations.notify.const import RUNTIME as NOTIFY_RUNTIME

    assert "backup_failed" in hub.data[NOTIFY_RUNTIME].notifications
    res = await hub.services.call("incident", "open", {"kind": "sos", "title": "still works"})
    assert res["incident_id"]


def test_prune_keeps_other_hubs_backups(tmp_path: Path) -> None:
    for name in (
        "safetyhub-a-20260101-000000.zip",
        "safetyhub-a-20260102-000000.zip",
        "safetyhub-b-20260101-000000.zip",
    ):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in prune(tmp_path, "a", 1)] == ["safetyhub-a-20260101-000000.zip"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "safetyhub-a-20260102-000000.zip",
        "safetyhub-b-20260101-000000.zip",
    ]
