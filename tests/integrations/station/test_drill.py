"""Drills end to end (DESIGN §13, issue 15 item 7): the CCOC starts one at a hub through a
federation command; it is marked as a drill at the hub, on the LINE card, on the board, in
the KPIs (apart from real incidents) and in CAP (status Exercise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from lxml import etree

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.line.testing import FakeLineApi
from tests.integrations.line.conftest import BIG6, GROUPS, fake_line, line_spec_dir  # noqa: F401

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def _hub_config(fake: FakeLineApi) -> str:
    return (
        fake.config_yaml(GROUPS)
        + """
sos:
  - {id: gate, name: ปุ่มประตูตลาด, simulated: true}
automation:
  - id: sos_gate
    use_blueprint:
      path: sos_alert.yaml
      input: {sos_button: sos.gate, line_targets: [big6]}
"""
    )


async def _session(station: Hub, role: str, name: str) -> aiohttp.ClientSession:
    user = await station.auth.add_user(name, "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def test_station_starts_a_drill_marked_everywhere(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    fake_line: FakeLineApi,  # noqa: F811 - the LINE tests' fixture, imported above
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra=_hub_config(fake_line)
    )
    mgr = hub.data[INCIDENT_RUNTIME]
    console = station.data[CCOC_RUNTIME]
    async with await _session(station, "operator", "somchai") as op:
        resp = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "sos.drill", "data": {"entity_id": "sos.gate"}},
        )
        assert resp.status == 202, await resp.text()

        # At the hub: the blueprint ran the real path and its incident is a drill.
        async def hub_incident() -> Any:
            found = await mgr.find()
            return found[0] if found else None

        inc = await until(hub_incident)
        assert inc.drill is True and inc.kind == "sos"
        assert hub.states.get(inc.entity_id).attributes["drill"] is True
        # The LINE card says so before anything else.
        await until(lambda: fake_line.pushes)
        push = fake_line.pushes[0]
        assert push.to == BIG6
        card = push.messages[0]
        assert card["altText"].startswith("[ฝึกซ้อม / DRILL]")
        assert card["contents"]["header"]["backgroundColor"] != "#C62828"
        assert "ฝึกซ้อม" in card["contents"]["header"]["contents"][0]["text"]

        # At the station: the board, the incident, the KPIs and CAP.
        assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
        await until(lambda: console.item("test-hub", inc.id))
        board = await (await op.get("/api/ccoc/board")).json()
        assert [(i["id"], i["drill"]) for i in board] == [(inc.id, True)]
        page = await (await op.get(f"/ccoc/incidents/test-hub/{inc.id}")).text()
        assert 'id="drill-badge"' in page
        kpi = await (await op.get("/api/ccoc/kpi")).json()
        assert kpi["sos"]["count"] == 0 and kpi["incidents"]["total"] == 0
        assert kpi["drills"]["count"] == 1
        cap = etree.fromstring(await (await op.get(f"/api/incidents/{inc.id}.cap")).read())
        assert cap.findtext("cap:status", namespaces=NS) == "Exercise"

        # The officer acknowledges; the groups are told, and told it was a drill.
        ack = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/ack", json={})
        assert ack.status == 202, await ack.text()
        await until(lambda: len(fake_line.pushes) >= 2)
        notice = fake_line.pushes[1].messages[0]
        assert notice["type"] == "text" and notice["text"].startswith("[ฝึกซ้อม / DRILL] ✅")

    # A real press stays real: the drill marks only its own context.
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "emergency", "drill": False})
    await hub.block_till_done()
    real = [i for i in await mgr.find() if not i.drill]
    assert len(real) == 1
    await until(lambda: len(fake_line.pushes) >= 3)
    assert not fake_line.pushes[2].messages[0]["altText"].startswith("[ฝึกซ้อม")


async def test_hub_drill_shows_on_the_hub_page_and_api(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub("sos:\n  - {id: gate, simulated: true}\n")
    # The dashboard's test button: a press from the UI is a drill unless it says otherwise.
    await hub.services.call("sos", "press", {"entity_id": "sos.gate"})
    await hub.block_till_done()
    [inc] = await hub.data[INCIDENT_RUNTIME].find()
    assert inc.drill is True
    client = await client_for("viewer", target=hub)
    body = await (await client.get(f"/api/incidents/{inc.id}")).json()
    assert body["drill"] is True
    page = await (await client.get(f"/incidents/{inc.id}")).text()
    assert 'class="badge badge-drill"' in page
    listing = await (await client.get("/incidents")).text()
    assert "badge-drill" in listing
    # The flag survives a restart (it is a column, not memory).
    again = await hub.data[INCIDENT_RUNTIME].get(inc.id)
    assert again.drill is True
