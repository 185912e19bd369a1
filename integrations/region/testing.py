"""Test kit for the region tier: a region broker with real station accounts and ACL.

Built like ``integrations.federation.testing``: the password file and ACL are
written by the broker admin ``safetyhub region add-station`` uses, so tests
exercise what it produces.  Stations ingest their own hubs on a second broker
(any anonymous test broker); what their hubs "send" is published there as a
hub would, so each station's figures come from its own stored data.  Import the
fixture into a ``conftest.py``::

    from integrations.region.testing import region_lab  # noqa: F401
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from integrations.federation.protocol import envelope, topic
from integrations.federation.testing import config_block
from integrations.region.cli import REGION_TIER
from integrations.station.broker import acl_text, hash_password, write_passwd

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.mqtt.testing import Mosquitto, MosquittoFactory

__all__ = (
    "RegionLab",
    "region_lab",
    "REGION_ID",
    "STATION_IDS",
    "region_config",
    "station_config",
    "hub_registry",
    "hub_incident",
    "register_station_hubs",
    "register_stations",
    "start_region",
    "DEFAULT_PLAN",
    "StationPlan",
    "hub_kpi_month",
    "SECRETS",
)

REGION_ID = "region-9"
REGION_USER = "region"
REGION_PASSWORD = "region-password-1234"
#: The stations the lab creates accounts for.
STATION_IDS = ("st-angthong", "st-lopburi", "st-singburi")


class RegionLab:
    """A Mosquitto with the region's passwd/ACL, and YAML for the region and its stations."""

    def __init__(self, folder: Path, factory: MosquittoFactory) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.passwd = folder / "passwd"
        self.acl = folder / "acl"
        self.passwords = {REGION_USER: REGION_PASSWORD} | {s: f"{s}-password-1234" for s in STATION_IDS}
        write_passwd(self.passwd, {u: hash_password(p, iterations=101) for u, p in self.passwords.items()})
        self.acl.write_text(
            acl_text(REGION_ID, REGION_USER, list(STATION_IDS), REGION_TIER), encoding="utf-8"
        )
        self.broker: Mosquitto = factory(password_file=self.passwd, acl_file=self.acl, persistence=True)

    @property
    def url(self) -> str:
        """Return the broker URL."""
        return self.broker.url

    def region_block(self, **extra: Any) -> str:
        """Return a ``region:`` block pointing at the lab broker."""
        opts = {
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "silent_after": 600,
            "check_interval": 1,
            **extra,
        }
        keys = {
            "id": REGION_ID,
            "name": "ภาค 9",
            "broker": self.url,
            "username": REGION_USER,
            "password": REGION_PASSWORD,
        }
        return config_block("region", keys, opts)

    def link_block(self, station_id: str, *, password: str | None = None, **extra: Any) -> str:
        """Return a ``region_link:`` block for ``station_id``."""
        opts = {"reconnect_min": 0.05, "reconnect_max": 0.5, "ack_timeout": 2, "interval": 3600, **extra}
        keys = {
            "region": REGION_ID,
            "broker": self.url,
            "username": station_id,
            "password": password or self.passwords[station_id],
        }
        return config_block("region_link", keys, opts)


def region_config() -> str:
    """Return a ``hub:`` block for a region process."""
    return textwrap.dedent("""\
        hub:
          id: region-centre
          name: ศูนย์ภาค 9
          zone: region-9
          timezone: Asia/Bangkok
          data_dir: ./data
          web: {host: 127.0.0.1, port: 0}
        """)


def station_config(station_id: str, station_broker: str) -> str:
    """Return the ``hub:`` and ``station:`` blocks of a station whose hubs use ``station_broker``."""
    return textwrap.dedent(f"""\
        hub:
          id: {station_id}-ccoc
          name: สถานี {station_id}
          zone: {station_id}
          timezone: Asia/Bangkok
          data_dir: ./data
          web: {{host: 127.0.0.1, port: 0}}
        station:
          id: {station_id}
          broker: {station_broker}
          reconnect_min: 0.05
          reconnect_max: 0.5
          supervision: {{grace: 86400}}  # never silent while a test advances the clock
          local_listener: null
        """)


def hub_registry(
    station_id: str, hub_id: str, shares: list[str], *, owner_phone: str = ""
) -> tuple[str, bytes]:
    """Return (topic, payload) of a hub's registry with one camera per share policy given."""
    from hub.core.ids import ulid

    cameras = [
        {
            "entity_id": f"camera.cam_{i}",
            "name": f"กล้อง {i}",
            "share": share,
            "owner": {"name": "นางสาวเจ้าของร้าน", "phone": owner_phone},
        }
        for i, share in enumerate(shares)
    ]
    body = {"hub": {"id": hub_id, "name": hub_id, "zone": f"{station_id}-zone"}, "cameras": cameras}
    return topic(station_id, hub_id, "registry"), envelope(
        ulid(), station_id, hub_id, "registry", time.time(), body
    )


def hub_incident(
    station_id: str,
    hub_id: str,
    incident_id: str,
    *,
    kind: str,
    opened_at: float,
    ack_after: float | None,
    title: str = "",
    place: str = "",
    acknowledged_by: str | None = None,
) -> tuple[str, bytes]:
    """Return (topic, payload) of one incident as its hub sends it (acknowledged or not)."""
    from hub.core.ids import ulid

    acked = opened_at + ack_after if ack_after is not None else None
    incident = {
        "id": incident_id,
        "kind": kind,
        "severity": "critical" if kind == "sos" else "info",
        "status": "acknowledged" if acked is not None else "open",
        "title": title,
        "place": place,
        "opened_at": opened_at,
        "updated_at": acked or opened_at,
        "acknowledged_at": acked,
        "acknowledged_by": acknowledged_by if acked is not None else None,
    }
    entry = {"ts": acked or opened_at, "kind": "acknowledged" if acked else "opened", "text": title}
    body = {"action": "updated" if acked else "opened", "incident": incident, "entry": entry}
    return topic(station_id, hub_id, "incident"), envelope(
        ulid(), station_id, hub_id, "incident", acked or opened_at, body
    )


async def register_station_hubs(station: Hub, *hub_ids: str) -> None:
    """Register hubs at a running station, as ``station add-hub`` does."""
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    st = station.data[STATION_RUNTIME]
    for hub_id in hub_ids:
        await st.store.register_hub(hub_id, hub_id, station.clock.time())
    await st.ingest.reload_hubs()


async def register_stations(region: Hub, *station_ids: str) -> None:
    """Register stations at a running region, as ``region add-station`` does."""
    from integrations.region.const import RUNTIME

    rg = region.data[RUNTIME]
    for station_id in station_ids or STATION_IDS:
        await rg.store.register_station(station_id, f"สถานี {station_id}", region.clock.time())
    await rg.ingest.reload_stations()


@dataclass(frozen=True)
class StationPlan:
    """What one station's hub does in the month (what the station then holds)."""

    #: One camera per share policy listed.
    cameras: list[str]
    #: Seconds each SOS waited for an officer.
    acks: list[float]
    #: People Poll: mean trust in police (1–5) over ``answers`` answers.
    trust: float
    answers: int
    #: Patrol coverage (%) over ``slots`` checkpoint × shift slots.
    coverage: float
    slots: int = 20


#: The three stations of the region tests.  The order this gives under the default weighting
#: is worked out in docs/region.md.
DEFAULT_PLAN: dict[str, StationPlan] = {
    "st-angthong": StationPlan(["always", "always", "on_alarm", "registry"], [30, 40, 50, 60], 3.0, 12, 50.0),
    "st-lopburi": StationPlan(["always", "on_alarm"], [100, 200, 300], 4.5, 10, 90.0),
    "st-singburi": StationPlan(["registry"], [500, 700], 4.0, 8, 100.0),
}


def hub_kpi_month(
    station_id: str, hub_id: str, month: str, plan: StationPlan, at: float
) -> tuple[str, bytes]:
    """Return (topic, payload) of a hub's ``kpi_month`` report: its plugins' figures for the month."""
    from hub.core.ids import ulid

    slots = [
        {
            "id": "poll_trust_police",
            "source": "people_poll",
            "label_th": "ความเชื่อมั่นต่อตำรวจ",
            "label_en": "Trust in police",
            "value": plan.trust,
            "unit": "/5",
            "n": plan.answers,
            "sum": plan.trust * plan.answers,
        },
        {
            "id": "poll_responses",
            "source": "people_poll",
            "label_th": "ผู้ตอบแบบสำรวจ",
            "label_en": "Poll responses",
            "value": plan.answers,
        },
        {
            "id": "patrol_coverage",
            "source": "patrol_qr",
            "label_th": "ความครอบคลุมการตรวจตู้แดง",
            "label_en": "Patrol coverage",
            "value": plan.coverage,
            "unit": "%",
            "n": plan.slots,
            "sum": plan.coverage * plan.slots,
        },
    ]
    body = {"type": "kpi_month", "data": {"month": month, "final": False, "slots": slots}, "time": at}
    return topic(station_id, hub_id, "event"), envelope(ulid(), station_id, hub_id, "event", at, body)


#: Personal data the hubs send their station that must never reach the region.
SECRETS = ("นายสมชาย", "081-234-5678", "ร.ต.อ. สมหญิง", "0899999999", "นางสาวเจ้าของร้าน", "ร้านทองแผง 3")


async def start_region(
    make_hub: Any,
    lab: RegionLab,
    station_broker: Any,
    folder: Path,
    clock: Any,
    plan: dict[str, StationPlan] = DEFAULT_PLAN,
    **region_opts: Any,
) -> tuple[Hub, dict[str, Hub]]:
    """Start a region and its stations; feed each station its hub's data; send one round up.

    Each station ingests, on ``station_broker``, what its hub publishes (a registry and SOS
    incidents acknowledged after ``plan``'s delays, with a caller's name and phone in the
    title, and its ``kpi_month`` report of poll and patrol figures), then its region link summarises that stored data and the region acknowledges it.
    """
    import aiomqtt

    from hub.core.ids import ulid
    from integrations.federation.testing import until
    from integrations.region_link.const import RUNTIME as REGION_LINK_RUNTIME
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    region = await make_hub(lab.region_block(**region_opts), base=region_config(), folder=folder / "region")
    await register_stations(region, *plan)
    stations: dict[str, Hub] = {}
    for sid in plan:
        stations[sid] = await make_hub(
            lab.link_block(sid), base=station_config(sid, station_broker.url), folder=folder / sid
        )
        await register_station_hubs(stations[sid], f"{sid}-h1")
    async with aiomqtt.Client(
        station_broker.host, station_broker.port, identifier=f"hubs-{ulid()}"
    ) as client:
        for sid, what in plan.items():
            hub_id = f"{sid}-h1"
            name, payload = hub_registry(sid, hub_id, what.cameras, owner_phone="0899999999")
            await client.publish(name, payload, qos=1)
            month = datetime.fromtimestamp(clock.time(), clock.tz).strftime("%Y-%m")
            name, payload = hub_kpi_month(sid, hub_id, month, what, clock.time())
            await client.publish(name, payload, qos=1)
            for i, after in enumerate(what.acks):
                name, payload = hub_incident(
                    sid,
                    hub_id,
                    f"inc-{i}",
                    kind="sos",
                    opened_at=clock.time() + 60 * i,
                    ack_after=after,
                    title="นายสมชาย โทร 081-234-5678",
                    place="ร้านทองแผง 3",
                    acknowledged_by="ร.ต.อ. สมหญิง",
                )
                await client.publish(name, payload, qos=1)
    for sid, what in plan.items():
        store = stations[sid].data[STATION_RUNTIME].store

        async def stored(store: Any = store, n: int = len(what.acks), sid: str = sid) -> bool:
            hub = await store.hub(f"{sid}-h1")
            facts = await store.incident_facts(0, 1e11)
            reports = await store.hub_events(["kpi_month"], 0, 1e11)
            return (
                len(facts) == n and bool(reports) and bool(hub and (hub.get("registry") or {}).get("cameras"))
            )

        await until(stored, within=15)
    for st in stations.values():
        uplink = st.data[REGION_LINK_RUNTIME]
        assert await uplink.link.wait_connected(10)
        assert await uplink.summarise() >= 2
        assert await uplink.outbox.wait_empty(15), uplink.status()
    return region, stations


@pytest.fixture
def region_lab(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> Iterator[RegionLab]:
    """A persistent Mosquitto with the region's accounts and ACL (``region`` and three stations)."""
    yield RegionLab(tmp_path / "region-lab", mosquitto_factory)
