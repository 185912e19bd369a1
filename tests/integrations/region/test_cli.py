"""``safetyhub region add-station`` / ``remove-station`` / ``broker-config``, against a real Mosquitto."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import aiomqtt
from click.testing import CliRunner

from hub.bootstrap import load
from integrations.mqtt.testing import MosquittoFactory
from integrations.region.cli import region_group
from integrations.region.config import DEFAULT_CRITERIA, RegionConfig
from integrations.region.store import RegionStore
from integrations.station.broker import read_passwd, verify_password

CONFIG = textwrap.dedent("""\
    hub:
      id: region-centre
      name: ศูนย์ภาค 9
      timezone: Asia/Bangkok
      data_dir: ./data
    region:
      id: region-9
      username: region
      password: region-password-1234
      public_broker: mqtt://127.0.0.1:18830
      broker_dir: ./broker
    """)


def _run(args: list[str], config: Path, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(region_group, [*args, "-c", str(config)], input=stdin)
    assert result.exit_code == 0, result.output
    return result


async def test_add_station_issues_credentials_the_broker_accepts(
    tmp_path: Path, mosquitto_factory: MosquittoFactory
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    _run(["broker-config"], config)
    conf = (tmp_path / "broker" / "mosquitto.conf").read_text(encoding="utf-8")
    assert "allow_anonymous false" in conf and "SafetyHub region region-9" in conf
    out = await asyncio.to_thread(
        _run, ["add-station", "st-angthong", "--name", "สภ.เมืองอ่างทอง", "--no-reload"], config
    )
    out = out.output
    password = re.search(r'region_password: "([^"]+)"', out)
    assert password is not None
    assert (
        "region_link:\n  region: region-9\n  broker: mqtt://127.0.0.1:18830\n  username: st-angthong" in out
    )
    passwd = read_passwd(tmp_path / "broker" / "passwd")
    assert verify_password(password.group(1), passwd["st-angthong"])
    assert verify_password("region-password-1234", passwd["region"])
    acl = (tmp_path / "broker" / "acl").read_text(encoding="utf-8")
    assert "user st-angthong\ntopic write ssz/v1/region/region-9/st-angthong/incident" in acl
    assert "topic read ssz/v1/region/region-9/st-angthong/ack" in acl
    assert "snapshot" not in acl and "cmd" not in acl
    await asyncio.to_thread(
        _run,
        ["add-station", "st-lopburi", "--password-stdin", "--no-reload"],
        config,
        stdin="lopburi-secret-pass\n",
    )
    store = RegionStore(tmp_path / "data" / "region.db")
    await store.open()
    try:
        names = {s["id"]: s["name"] for s in await store.stations()}
    finally:
        await store.close()
    assert names == {"st-angthong": "สภ.เมืองอ่างทอง", "st-lopburi": ""}

    # The broker, run on these very files, lets the station in and holds it to its own id.
    broker = mosquitto_factory(
        password_file=tmp_path / "broker" / "passwd", acl_file=tmp_path / "broker" / "acl"
    )
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username="st-lopburi",
        password="lopburi-secret-pass",
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:
        codes: list[int] = []
        paho: Any = client._client
        original = paho.on_publish

        def on_publish(cl: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
            codes.append(int(reason.value))
            original(cl, u, mid, reason, props)

        paho.on_publish = on_publish
        await client.publish("ssz/v1/region/region-9/st-lopburi/monthly", b"{}", qos=1)
        await client.publish("ssz/v1/region/region-9/st-angthong/monthly", b"{}", qos=1)
        await client.publish("ssz/v1/region/region-9/st-lopburi/snapshot", b"\xff\xd8", qos=1)
        await asyncio.sleep(0)
    # 16 is "no matching subscribers": accepted (nobody listens in this test); 135 is refused.
    assert codes == [16, 135, 135]

    out = (await asyncio.to_thread(_run, ["remove-station", "st-lopburi", "--no-reload"], config)).output
    assert "removed" in out and "st-lopburi" not in read_passwd(tmp_path / "broker" / "passwd")
    bad = await asyncio.to_thread(
        CliRunner().invoke, region_group, ["add-station", "Bad Id", "-c", str(config)]
    )
    assert bad.exit_code != 0 and "is not a station id" in bad.output


def test_the_example_config_loads_and_makes_a_tls_broker(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "docs" / "config-region.example.yaml"
    config = tmp_path / "config.yaml"
    config.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "secrets.yaml").write_text('region_password: "region-password-1234"\n', encoding="utf-8")

    loaded = load(config)
    assert loaded.errors == []
    cfg = loaded.blocks["region"]
    assert isinstance(cfg, RegionConfig)
    # The example spells out the default weighting, so the docs and the code cannot drift apart.
    assert cfg.ranking.criteria == list(DEFAULT_CRITERIA)
    _run(["broker-config", "--out", str(tmp_path / "m.conf")], config)
    conf = (tmp_path / "m.conf").read_text(encoding="utf-8")
    assert "listener 8883 0.0.0.0" in conf and "tls_version tlsv1.2" in conf
    assert "listener 1883 127.0.0.1" in conf
