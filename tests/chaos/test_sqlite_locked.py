"""Chaos: another process (a backup, an operator's ``sqlite3`` shell) holds the database's write lock.

The lock is held longer than the hub's ``busy_timeout`` (5 s), so every write
the hub tries meanwhile meets ``database is locked`` at least once.  SOS
presses arrive during the lock; after it is released each must have its
incident and its LINE cards, once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

from hub.testing import BASE_CONFIG
from tests.chaos.conftest import GROUPS, SOS_BLOCK, check_promises, get_health, incidents_by_press, until

BASE = BASE_CONFIG.replace(
    "web: {host: 127.0.0.1, port: 0}",
    "web: {host: 127.0.0.1, port: 0, public_url: 'https://talat.example.org'}",
)
HOLD = 6.5  # seconds: longer than the hub's 5 s busy_timeout

LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS chaos_lock (x)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


async def test_sos_presses_survive_a_database_locked_by_another_process(
    make_hub: Any, line_fake: Any
) -> None:
    fake = await line_fake()
    hub = await make_hub(fake.config_yaml(GROUPS) + SOS_BLOCK, base=BASE, real_clock=True)
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "before"})
    locker = subprocess.Popen(  # noqa: ASYNC220 - a child that starts at once; the loop has nothing to wait for
        [sys.executable, "-c", LOCKER, str(hub.storage.path), str(HOLD)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None
        assert (await asyncio.to_thread(locker.stdout.readline)).strip() == "locked"
        started = time.monotonic()
        presses = [
            asyncio.ensure_future(
                hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": f"locked-{n}"})
            )
            for n in range(3)
        ]
        # The web server does not wait for the database: health answers at once.
        await asyncio.sleep(0.5)
        status, body = await get_health(hub.http.url)
        assert status == 200 and body["status"] == "ok"
        assert time.monotonic() - started < HOLD
        outcomes = await asyncio.gather(*presses, return_exceptions=True)
        assert (await asyncio.to_thread(locker.stdout.readline)).strip() == "released"
    finally:
        locker.kill()
        locker.wait()
        assert locker.stdout is not None
        locker.stdout.close()
    # A press whose own history row met the lock for longer than busy_timeout reports that
    # clearly; the alert itself (event → automation → incident → LINE) went out regardless.
    refused = [str(o) for o in outcomes if isinstance(o, BaseException)]
    assert all("database is locked" in text for text in refused), refused
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "after"})
    expected = ["before", "locked-0", "locked-1", "locked-2", "after"]

    async def settled() -> bool:
        found = await incidents_by_press(hub.storage)
        return all(found.get(p) for p in expected)

    await until(settled, within=30, message="incidents missing after the lock was released")
    await hub.block_till_done()
    check_promises(expected, await incidents_by_press(hub.storage), fake, await get_health(hub.http.url))
    # The hub writes again once the lock is gone: the recorder's queue drained into the file.
    await hub.storage.flush()
    assert hub.storage.pending == 0
