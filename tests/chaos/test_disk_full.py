"""Chaos: the data directory's filesystem fills up, then space comes back.

A real full disk, not a mock: the hub runs as a ``safetyhub run`` child in
its own mount namespace (``unshare --user --map-root-user --mount``, no
privileges needed where user namespaces are enabled) with its data directory
on a 24 MB tmpfs.  The test fills that filesystem with a ballast file through
``/proc/<pid>/root`` until ``ENOSPC``, presses SOS and calls the API while
it is full, then deletes the ballast.

The hub must keep running and answering (``/api/health``), refuse writes
it cannot make with a clear error instead of crashing, write again once
space is back, and not lose or duplicate an incident or a LINE card.  An SOS
is not refused: its incident is held in memory and written when space comes
back, and its alert (lights, LINE) goes out meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.mqtt.testing import free_port
from tests.chaos.conftest import GROUPS, SOS_BLOCK, HubProcess, cards, get_health, hub_yaml, make_token, until

DISK_MB = 24


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt && test -w /mnt",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _unshare_works(), reason="needs unshare with user+mount namespaces to mount a private tmpfs"
)


def _fill(folder: Path) -> int:
    """Write a ballast file until the filesystem says ENOSPC; return the bytes written."""
    chunk = b"\0" * (256 * 1024)
    written = 0
    with (folder / "ballast").open("wb", buffering=0) as ballast:
        while True:
            try:
                written += ballast.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                # The last partial page: take it too, down to the last byte.
                for size in (4096, 512, 1):
                    with contextlib.suppress(OSError):
                        while True:
                            written += ballast.write(b"\0" * size)
                return written


async def _incidents(session: aiohttp.ClientSession, url: str) -> dict[str, list[str]]:
    """Return {press action: [incident ids]} through the hub's API (reads work on a full disk)."""
    async with session.get(f"{url}/api/incidents", params={"kind": "sos", "limit": "1000"}) as resp:
        assert resp.status == 200, await resp.text()
        items = await resp.json()
    out: dict[str, list[str]] = {}
    for item in sorted(items, key=lambda i: i["opened_at"]):
        out.setdefault(str((item.get("data") or {}).get("action")), []).append(item["id"])
    return out


async def test_full_disk_refuses_writes_cleanly_and_recovers(line_fake: Any, tmp_path: Path) -> None:
    fake = await line_fake()
    folder = tmp_path / "hub"
    seed, disk = folder / "seed", folder / "disk"
    disk.mkdir(parents=True)
    port = free_port()
    (folder / "config.yaml").write_text(
        hub_yaml(port, data_dir="./disk")
        + fake.config_yaml(GROUPS, "retry: {backoff: 0.05, max_backoff: 0.5}")
        + SOS_BLOCK,
        encoding="utf-8",
    )
    token = await make_token(seed)
    admin = {"Authorization": f"Bearer {await make_token(seed, 'admin')}"}
    # In the namespace: a small tmpfs over ./disk, seeded with the database that holds the token.
    mount = f'mount -t tmpfs -o size={DISK_MB}m tmpfs {disk} && cp -a {seed}/. {disk}/ && exec "$@"'
    proc = HubProcess(
        folder, port, wrap=["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh"]
    )
    proc.start()
    headers = {"Authorization": f"Bearer {token}"}
    statuses: dict[str, int] = {}
    texts: dict[str, str] = {}
    try:
        await proc.ready()
        inside = Path(f"/proc/{proc.pid}/root") / disk.relative_to("/")
        async with aiohttp.ClientSession(headers=headers) as session:

            async def incidents_now() -> dict[str, list[str]]:
                return await _incidents(session, proc.url)

            async def action_seen(action: str) -> bool:
                return bool((await incidents_now()).get(action))

            async def all_cards() -> bool:
                found = await incidents_now()
                return sum(cards(fake, [v[0] for v in found.values()]).values()) >= 2 * len(found)

            async def press(action: str) -> None:
                async with session.post(
                    f"{proc.url}/api/services/sos/press", json={"entity_id": "sos.gate", "action": action}
                ) as resp:
                    statuses[action], texts[action] = resp.status, await resp.text()

            await press("before")
            await until(lambda: action_seen("before"), within=15)
            filled = await asyncio.to_thread(_fill, inside)
            assert filled > 0 and os.statvfs(inside).f_bavail == 0
            for n in range(2):
                await press(f"full-{n}")
            async with session.post(
                f"{proc.url}/api/services/incident/open",
                json={"kind": "manual", "title": "while the disk is full"},
            ) as resp:
                statuses["incident.open"], texts["incident.open"] = resp.status, await resp.text()
            # A write that can wait for the disk (a new account) is refused, and says why.
            new_user = {"username": "somsri", "password": "correct horse battery", "role": "viewer"}
            async with session.post(f"{proc.url}/api/users", json=new_user, headers=admin) as resp:
                statuses["user.add"], texts["user.add"] = resp.status, await resp.text()
            # Still running, still answering.
            await asyncio.sleep(1.0)
            assert proc.proc is not None and proc.proc.poll() is None, proc.log_tail()
            full_health = await get_health(proc.url)
            (inside / "ballast").unlink()
            async with session.post(f"{proc.url}/api/users", json=new_user, headers=admin) as resp:
                user_after = resp.status
            await press("after")
            await until(lambda: action_seen("after"), within=20, message="no write after recovery")
            await until(all_cards, within=20, message="LINE cards missing")
            await asyncio.sleep(1.0)
            incidents = await incidents_now()
            manual_id = json.loads(texts["incident.open"])["service_response"]["incident_id"]
            async with session.get(f"{proc.url}/api/incidents/{manual_id}") as resp:
                manual = resp.status, await resp.json()
            health = await get_health(proc.url)
    finally:
        code = proc.stop()
    assert code == 0, proc.log_tail()
    assert full_health[0] == 200 and full_health[1]["status"] == "ok", full_health
    assert health[0] == 200 and health[1]["status"] == "ok", health
    # The SOS presses and the incident were taken; the account was refused cleanly: a JSON
    # error naming the cause, never a crash page or a hang.  Once space was back it went in.
    assert {name: status for name, status in statuses.items() if status != 200} == {"user.add": 503}, statuses
    assert "disk is full" in json.loads(texts["user.add"])["error"], texts["user.add"]
    assert user_after == 201
    # Nothing lost, nothing twice: every press has one incident, and each reached each LINE group once.
    ids = [v[0] for v in incidents.values()]
    assert all(len(v) == 1 for v in incidents.values()), incidents
    counts = cards(fake, ids)
    assert all(n == 1 for n in counts.values()), counts
    for action in ("before", "full-0", "full-1", "after"):
        assert incidents.get(action), (action, incidents)
        assert all(counts[(g, incidents[action][0])] == 1 for g in GROUPS.values()), (action, counts)
    # The incident opened through the API while full is there too, with its first entry.
    assert manual[0] == 200 and [e["kind"] for e in manual[1]["timeline"]] == ["opened"], manual
