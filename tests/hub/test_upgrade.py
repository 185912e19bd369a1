"""A config and database made by an earlier release open in this one, with their data.

The fixture under tests/fixtures/upgrade/<release>/ was written by that release's own code
(tests/fixtures/make_upgrade_fixture.py run from its checkout), not by hand.  Migrations run
forward only; everything the old hub committed must still be there and still work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.hub import Hub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("release", RELEASES)
async def test_an_earlier_release_upgrades(tmp_path: Path, release: str) -> None:
    folder = tmp_path / release
    shutil.copytree(FIXTURES / release, folder)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    clock = FakeClock(start=expected["clock"])
    hub = Hub(folder / "config.yaml", clock=clock, web=False)
    await hub.start()
    try:
        assert hub.config_errors == []
        schema = {
            r[0]: r[1]
            for r in await hub.storage.fetchall(
                "SELECT component, MAX(version) FROM schema_migrations GROUP BY component"
            )
        }
        for component, version in expected["schema"].items():
            assert schema[component] >= version, component  # forward only
        user = await hub.auth.user_for_token(expected["token"])
        assert user is not None and (user.username, user.role) == ("somchai", "admin")
        incidents = hub.data[INCIDENT_RUNTIME]
        for incident_id in expected["incidents"]:
            inc = await incidents.get(incident_id)
            assert inc.kind == "sos" and inc.title.startswith("เหตุที่")
        assert (await incidents.get(expected["acknowledged"])).status == "acknowledged"
        assert (await incidents.get(expected["closed"])).status == "closed"
        outbox = {r["id"] for r in await hub.storage.fetchall("SELECT id FROM federation_outbox")}
        assert set(expected["outbox"]) <= outbox  # still owed to the station
        fired: list[object] = []
        hub.bus.listen("delay_done", fired.append)
        await hub.block_till_done()
        await clock.advance(expected["delay_deadline"] - clock.time())
        await hub.block_till_done()
        assert len(fired) == 1  # the old release's pending delay fires
    finally:
        await hub.stop()
