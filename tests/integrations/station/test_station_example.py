"""Issue 15 item 5: the station example runs as written, and what ``add-hub`` prints works pasted.

Only ports (free ones), the public host (``localhost``: tests reach nothing else) and the
listener address (loopback) are changed from docs/config-station.example.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hub.cli import cli
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import until
from integrations.mqtt.testing import MosquittoFactory, free_port
from integrations.station.cli import station_group
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.station.test_cli import REPO, make_certs, run_cli

HUB = """\
hub:
  id: test-hub
  name: ร้านทองกำแพง
  timezone: Asia/Bangkok
  data_dir: ./data
  web: {host: 127.0.0.1, port: 0}
"""


def _example(tls_port: int, local_port: int) -> str:
    text = (REPO / "docs" / "config-station.example.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("mqtts://ccoc.example.org:8883", f"mqtts://localhost:{tls_port}"),
        ("mqtt://127.0.0.1:1883", f"mqtt://127.0.0.1:{local_port}"),
        ("{host: 0.0.0.0, port: 8883,", f"{{host: 127.0.0.1, port: {tls_port},"),
        ("{host: 127.0.0.1, port: 1883}", f"{{host: 127.0.0.1, port: {local_port}}}"),
        ("port: 8123", "port: 0"),
    ):
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    return text


async def _start_broker(mosquitto_factory: MosquittoFactory, station_dir: Path, port: int) -> None:
    broker = mosquitto_factory(start=False)
    broker.conf = station_dir / "broker" / "mosquitto.conf"
    broker.port = port
    broker.start()


def _check(folder: Path) -> str:
    result = CliRunner().invoke(cli, ["check", "-c", str(folder / "config.yaml")])
    assert result.exit_code == 0, result.output
    return result.output


async def test_station_example_runs_as_written(
    make_hub: Any, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    station_dir = tmp_path / "station"
    make_certs(station_dir / "certs")
    tls_port, local_port = free_port(), free_port()
    text = _example(tls_port, local_port)
    (station_dir / "config.yaml").write_text(text, encoding="utf-8")
    (station_dir / "secrets.yaml").write_text("ccoc_password: ccoc-password-1234\n", encoding="utf-8")
    _check(station_dir)
    # No --run-as, even as root: the generated config must start as it is.
    result = CliRunner().invoke(station_group, ["broker-config", "-c", str(station_dir / "config.yaml")])
    assert result.exit_code == 0, result.output
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        assert "user root" in (station_dir / "broker" / "mosquitto.conf").read_text()
    out = run_cli(station_dir, "add-hub", "test-hub", "--no-reload")
    block = out[out.index("federation:") : out.index("and into")].strip()
    assert "ca_file: ccoc-ca.pem" in block
    password = out.split('federation_password: "')[1].split('"')[0]
    await _start_broker(mosquitto_factory, station_dir, local_port)
    station = await make_hub(base=text, folder=station_dir)

    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    (hub_dir / "config.yaml").write_text(HUB + block + "\n", encoding="utf-8")
    (hub_dir / "secrets.yaml").write_text(f'federation_password: "{password}"\n', encoding="utf-8")
    (hub_dir / "ccoc-ca.pem").write_bytes((station_dir / "certs" / "ca.pem").read_bytes())
    _check(hub_dir)
    hub = await make_hub(base=HUB + block + "\n", folder=hub_dir)
    assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10), hub.data[
        FEDERATION_RUNTIME
    ].link.info()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS จากตัวอย่าง")
    found = await until(lambda: station.data[STATION_RUNTIME].store.incident(inc.id, "test-hub"))
    assert found["title"] == "SOS จากตัวอย่าง"


async def test_plain_broker_block_has_no_ca_file_and_works_pasted(
    make_hub: Any, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    station_dir = tmp_path / "station"
    hub_port, local_port = free_port(), free_port()
    text = (
        _example(hub_port, local_port)
        .replace(f"mqtts://localhost:{hub_port}", f"mqtt://127.0.0.1:{hub_port}")
        .replace("cert_file: certs/server.pem, key_file: certs/server.key", "plain: true")
    )
    station_dir.mkdir()
    (station_dir / "config.yaml").write_text(text, encoding="utf-8")
    (station_dir / "secrets.yaml").write_text("ccoc_password: ccoc-password-1234\n", encoding="utf-8")
    result = CliRunner().invoke(station_group, ["broker-config", "-c", str(station_dir / "config.yaml")])
    assert result.exit_code == 0, result.output
    out = run_cli(station_dir, "add-hub", "test-hub", "--no-reload")
    block = out[out.index("federation:") : out.index("and into")].strip()
    assert "ca_file" not in block and f"broker: mqtt://127.0.0.1:{hub_port}" in block
    password = out.split('federation_password: "')[1].split('"')[0]
    await _start_broker(mosquitto_factory, station_dir, local_port)
    station = await make_hub(base=text, folder=station_dir)
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    (hub_dir / "config.yaml").write_text(HUB + block + "\n", encoding="utf-8")
    (hub_dir / "secrets.yaml").write_text(f'federation_password: "{password}"\n', encoding="utf-8")
    _check(hub_dir)
    hub = await make_hub(base=HUB + block + "\n", folder=hub_dir)
    assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10), hub.data[
        FEDERATION_RUNTIME
    ].link.info()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ไม่มี TLS")
    await until(lambda: station.data[STATION_RUNTIME].store.incident(inc.id, "test-hub"))
