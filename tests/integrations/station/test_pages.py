"""Station pages: open SOS shown everywhere, the station named in its own top bar, and
no hub's malformed report ever breaks a page (issue 15, items 6 and 8)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from hub.core.ids import ulid
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.protocol import envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.store_sqlite import SqliteStationStore

TS = 1_767_225_600.0
STATION_NAME = "สถานีทดสอบ"  # station_config()'s hub name
GOOD_REGISTRY: dict[str, Any] = {
    "hub": {"id": "hub-b", "name": "ร้านทองดี", "zone": "test-zone", "location": {"lat": 14.58, "lon": 100.45}},
    "cameras": [
        {
            "entity_id": "camera.gate",
            "name": "ประตู",
            "share": "always",
            "owner": {"name": "เจ้าของ", "phone": "035-000000"},
            "location": {"lat": 14.58, "lon": 100.45},
        }
    ],
    "devices": [{"entity_id": "sos.gate", "domain": "sos", "name": "ปุ่ม"}],
    "plugins": {
        "zone": {
            "id": "test-zone",
            "name_th": "เขตทดสอบ",
            "polygon": [[14.59, 100.45], [14.59, 100.46], [14.58, 100.46]],
            "communities": [{"name": "ชุมชน", "polygon": [[14.59, 100.45], [14.59, 100.46], [14.58, 100.46]]}],
        }
    },
}


def _bad(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD_REGISTRY)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


#: The malformations from the security review, and a few of their kind.
MALFORMED = {
    "zone as a string": _bad(("plugins", "zone"), "test-zone"),
    "camera location without lon": _bad(("cameras", 0, "location"), {"lat": 14.58}),
    "owner as a string": _bad(("cameras", 0, "owner"), "นายสมชาย"),
    "cameras as an object": _bad(("cameras",), {"camera.gate": {}}),
    "zone polygon of strings": _bad(("plugins", "zone", "polygon"), ["a", "b", "c"]),
    "hub location out of range": _bad(("hub", "location"), {"lat": 914.5, "lon": 100.4}),
    "a plugin's info as a list": _bad(("plugins", "patrol_qr"), [1, 2]),
}
MALFORMED_HEALTH = {
    "integrations as a list": {"status": "online", "integrations": ["mqtt"]},
    "battery alarm as a number": {"status": "online", "battery_alarms": [5]},
}
PAGES: tuple[str, ...] = (
    "/",
    "/incidents",
    "/incidents?status=active",
    "/ccoc",
    "/ccoc/hubs",
    "/ccoc/hubs/hub-b",
)
PAGES += (
    "/ccoc/hubs/test-hub",
    "/ccoc/map",
    "/ccoc/kpi",
    "/api/ccoc/board",
    "/api/ccoc/map.svg",
    "/api/ccoc/kpi",
)
PAGES += ("/station/hubs", "/api/hubs", "/api/hubs/hub-b")


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await hub.data[STATION_RUNTIME].ingest.urgent_link.wait_connected(10)
    return hub


async def officer(station: Hub) -> aiohttp.ClientSession:
    user = await station.auth.add_user("officer", "correct horse battery", "admin")
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


def client(lab: FederationLab, hub_id: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username=hub_id,
        password=HUB_PASSWORDS[hub_id],
        protocol=aiomqtt.ProtocolVersion.V5,
    )


def topic(hub_id: str, kind: str) -> str:
    return f"ssz/v1/{STATION_ID}/{hub_id}/{kind}"


async def open_sos(lab: FederationLab, station: Hub, title: str = "SOS ตลาดสด") -> str:
    """A hub reports an open SOS; return the incident id once the station has it."""
    incident_id = ulid()
    incident = {
        "id": incident_id,
        "kind": "sos",
        "severity": "critical",
        "status": "open",
        "title": title,
        "place": "ประตูตลาด",
        "opened_at": TS,
        "updated_at": TS,
    }
    body = {"action": "opened", "incident": incident, "entry": {"ts": TS, "kind": "opened"}}
    async with client(lab, "test-hub") as hub_a:
        await hub_a.publish(
            topic("test-hub", "incident"),
            envelope(ulid(), STATION_ID, "test-hub", "incident", TS, body),
            qos=1,
        )
    store = station.data[STATION_RUNTIME].store
    await until(lambda: store.incident(incident_id, "test-hub"))
    return incident_id


async def test_open_federated_sos_shows_on_the_station_home_and_incidents_pages(
    station: Hub, federation_lab: FederationLab
) -> None:
    incident_id = await open_sos(federation_lab, station)
    link = f'href="/ccoc/incidents/test-hub/{incident_id}"'
    async with await officer(station) as http:
        for page in ("/", "/incidents", "/incidents?status=active"):
            resp = await http.get(page)
            text = await resp.text()
            assert resp.status == 200, page
            assert "SOS ตลาดสด" in text and link in text, page
            # The empty-list row is there (for live updates) but hidden.
            assert 'class="empty-row" hidden' in text, page
        closed = await (await http.get("/incidents?status=closed")).text()
        assert "SOS ตลาดสด" not in closed
        # The CCOC incident page names the station in its top bar, not the hub.
        page = await (await http.get(f"/ccoc/incidents/test-hub/{incident_id}")).text()
        brand = page.split('class="brand-name">', 1)[1].split("<", 1)[0]
        assert brand == STATION_NAME


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_malformed_registry_is_refused_named_and_breaks_no_page(
    station: Hub, federation_lab: FederationLab, case: str
) -> None:
    st = station.data[STATION_RUNTIME]
    incident_id = await open_sos(federation_lab, station)
    reg_id = ulid()
    async with client(federation_lab, "hub-b") as bad:
        await bad.subscribe(topic("hub-b", "ack"), qos=1)
        payload = envelope(reg_id, STATION_ID, "hub-b", "registry", TS, MALFORMED[case])
        await bad.publish(topic("hub-b", "registry"), payload, qos=1, retain=True)
        async for msg in bad.messages:
            doc = json.loads(msg.payload)
            if any(r["id"] == reg_id for r in doc["rejected"]):
                break  # refused, by id, so the hub stops re-sending it
    item = await st.store.hub("hub-b")
    assert item["registry"] is None and item["last_reject"].startswith("registry: ")
    await pages_stay_up(station, incident_id, refused="hub-b")


@pytest.mark.parametrize("case", sorted(MALFORMED) + sorted(MALFORMED_HEALTH))
async def test_a_malformed_report_stored_before_the_checks_breaks_no_page(
    station: Hub, federation_lab: FederationLab, case: str
) -> None:
    st = station.data[STATION_RUNTIME]
    store = st.store
    assert isinstance(store, SqliteStationStore)
    incident_id = await open_sos(federation_lab, station)
    column, body = ("registry", MALFORMED[case]) if case in MALFORMED else ("health", MALFORMED_HEALTH[case])
    # As a station from before these checks stored it.
    await store.database.write(
        lambda db: db.execute(
            f"UPDATE hubs SET {column} = ?, {column}_at = ? WHERE hub_id = 'hub-b'", (json.dumps(body), TS)
        )
    )
    station.data[CCOC_RUNTIME].hubs.invalidate()
    await pages_stay_up(station, incident_id, bad_data="hub-b")


async def pages_stay_up(station: Hub, incident_id: str, *, refused: str = "", bad_data: str = "") -> None:
    """Every console page answers, the good hub's SOS is on the board, the bad hub is named."""
    async with await officer(station) as http:
        for page in (*PAGES, f"/ccoc/incidents/test-hub/{incident_id}"):
            resp = await http.get(page)
            assert resp.status == 200, f"{page}: {resp.status} {(await resp.text())[:300]}"
        board = await (await http.get("/api/ccoc/board")).json()
        assert [i["id"] for i in board] == [incident_id]
        hubs = await (await http.get("/ccoc/hubs")).text()
        if refused:
            assert f'data-refused-hub="{refused}"' in hubs
        if bad_data:
            assert f'data-bad-hub="{bad_data}"' in hubs


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"x": 1}
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("case", "incident_extra", "entry_extra"),
    [
        ("data nested 40 deep", {"data": _nested(40)}, {}),
        ("1,000 entities", {"entities": [f"sos.b{n}" for n in range(1000)]}, {}),
        ("500 attachments", {}, {"attachments": [f"snap{n}" for n in range(500)]}),
    ],
)
async def test_an_incident_out_of_bounds_is_refused_and_breaks_no_page(
    station: Hub,
    federation_lab: FederationLab,
    case: str,
    incident_extra: dict[str, Any],
    entry_extra: dict[str, Any],
) -> None:
    good = await open_sos(federation_lab, station)
    bad_id, msg_id = ulid(), ulid()
    incident = {
        "id": bad_id,
        "kind": "sos",
        "severity": "critical",
        "status": "open",
        "opened_at": TS,
        "updated_at": TS,
        **incident_extra,
    }
    body = {"action": "opened", "incident": incident, "entry": {"ts": TS, "kind": "opened", **entry_extra}}
    async with client(federation_lab, "hub-b") as bad:
        await bad.subscribe(topic("hub-b", "ack"), qos=1)
        await bad.publish(
            topic("hub-b", "incident"), envelope(msg_id, STATION_ID, "hub-b", "incident", TS, body), qos=1
        )
        async for msg in bad.messages:
            doc = json.loads(msg.payload)
            if any(r["id"] == msg_id for r in doc["rejected"]):
                break
    assert await station.data[STATION_RUNTIME].store.incident(bad_id, "hub-b") is None
    await pages_stay_up(station, good, refused="hub-b")
