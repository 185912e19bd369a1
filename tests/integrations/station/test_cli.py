"""``safetyhub station add-hub`` / ``remove-hub`` / ``broker-config``, proven against a real Mosquitto over TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from click.testing import CliRunner

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import until
from integrations.mqtt.testing import MosquittoFactory, free_port
from integrations.station.broker import hash_password, read_passwd, verify_password
from integrations.station.cli import station_group
from integrations.station.const import RUNTIME as STATION_RUNTIME

REPO = Path(__file__).resolve().parents[3]


def make_certs(folder: Path) -> None:
    """A CA and a server certificate for localhost/127.0.0.1 (what a station would get from its CA)."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("SafetyHub test CA"))
        .issuer_name(name("SafetyHub test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def station_yaml(tls_port: int, local_port: int) -> str:
    return textwrap.dedent(f"""\
        hub:
          id: ccoc-angthong
          name: ศูนย์ปฏิบัติการ สภ.เมืองอ่างทอง
          timezone: Asia/Bangkok
          data_dir: ./data
          web: {{host: 127.0.0.1, port: 0}}
        station:
          id: angthong-mueang
          broker: mqtt://127.0.0.1:{local_port}
          username: ccoc
          password: ccoc-password-1234
          public_broker: mqtts://localhost:{tls_port}
          broker_dir: ./broker
          reconnect_min: 0.05
          reconnect_max: 0.5
          listener: {{host: 127.0.0.1, port: {tls_port}, cert_file: certs/server.pem, key_file: certs/server.key}}
          local_listener: {{host: 127.0.0.1, port: {local_port}}}
        """)


def run_cli(station_dir: Path, *args: str) -> str:
    """Run the real ``safetyhub`` entry point (plugin commands included)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "station", *args, "-c", "config.yaml"],
        cwd=station_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_password_hashes_are_mosquitto_format() -> None:
    encoded = hash_password("s3cret-password", iterations=101, salt=b"0123456789ab")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}", encoded)
    assert verify_password("s3cret-password", encoded) and not verify_password("other", encoded)
    # The same vector as `mosquitto_passwd` 2.0.11 would write for that salt and password.
    assert encoded.split("$")[3] == "MDEyMzQ1Njc4OWFi"


async def test_generated_broker_and_accounts_carry_a_hub_over_tls(
    make_hub: Any, mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    station_dir = tmp_path / "station"
    make_certs(station_dir / "certs")
    tls_port, local_port = free_port(), free_port()
    (station_dir / "config.yaml").write_text(station_yaml(tls_port, local_port), encoding="utf-8")
    runner = CliRunner()
    run_as = ["--run-as", "root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    result = runner.invoke(station_group, ["broker-config", "-c", str(station_dir / "config.yaml"), *run_as])
    assert result.exit_code == 0, result.output
    conf = (station_dir / "broker" / "mosquitto.conf").read_text()
    for line in (
        "allow_anonymous false",
        "persistence true",
        "per_listener_settings false",
        f"listener {tls_port} 127.0.0.1",
        "tls_version tlsv1.2",
        f"listener {local_port} 127.0.0.1",
        "max_queued_messages 80000",
        "autosave_interval 10",
    ):
        assert line in conf, line

    out = run_cli(station_dir, "add-hub", "test-hub", "--name", "ร้านทองกำแพง", "--no-reload")
    password = re.search(r'federation_password: "([^"]+)"', out).group(1)
    block = out[out.index("federation:") : out.index("and into")].strip()
    assert f"broker: mqtts://localhost:{tls_port}" in block and "username: test-hub" in block
    accounts = read_passwd(station_dir / "broker" / "passwd")
    assert set(accounts) == {"ccoc", "test-hub"} and verify_password(password, accounts["test-hub"])
    acl = (station_dir / "broker" / "acl").read_text()
    assert "user test-hub\ntopic write ssz/v1/angthong-mueang/test-hub/incident" in acl
    assert "topic read ssz/v1/angthong-mueang/test-hub/cmd" in acl

    # Mosquitto runs the generated config as it is (the fixture only supervises the process).
    broker = mosquitto_factory(start=False)
    broker.conf = station_dir / "broker" / "mosquitto.conf"
    broker.port = local_port
    broker.start()

    station = await make_hub(base=station_yaml(tls_port, local_port), folder=station_dir)
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    (hub_dir / "secrets.yaml").write_text(f'federation_password: "{password}"\n', encoding="utf-8")
    (hub_dir / "ccoc-ca.pem").write_bytes((station_dir / "certs" / "ca.pem").read_bytes())
    hub = await make_hub(
        block + "\n  reconnect_min: 0.05\n  reconnect_max: 0.5\n"
        "light:\n  - {id: gate_lamp, simulated: true}\n",
        folder=hub_dir,
    )
    fed, st = hub.data[FEDERATION_RUNTIME], station.data[STATION_RUNTIME]
    assert await fed.link.wait_connected(10), fed.link.info()
    assert fed.link.address.tls
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ผ่าน TLS")
    assert (await until(lambda: st.store.incident(inc.id, "test-hub")))["title"] == "SOS ผ่าน TLS"
    record = await st.send_command(
        "test-hub",
        "light.flash",
        {"entity_id": "light.gate_lamp", "seconds": 5},
        user="somchai",
        role="operator",
    )
    assert (await st.wait_command(record.id, 10)).status == "ok"
    assert (await st.store.hub("test-hub"))["name"] == "ร้านทองกำแพง"

    # Plain MQTT on the hubs' port is refused: it is a TLS listener.
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", tls_port, username="test-hub", password=password, timeout=3):
            pass

    # remove-hub revokes the account and reloads the running broker (SIGHUP via its pid file).
    # In a thread: the command runs its own event loop, as it does from a shell.
    result = await asyncio.to_thread(
        runner.invoke, station_group, ["remove-hub", "test-hub", "-c", str(station_dir / "config.yaml")]
    )
    assert result.exit_code == 0 and "broker reloaded" in result.output, result.output
    with pytest.raises(aiomqtt.MqttCodeError):
        async with aiomqtt.Client(
            "localhost",
            tls_port,
            username="test-hub",
            password=password,
            timeout=5,
            tls_params=aiomqtt.TLSParameters(ca_certs=str(hub_dir / "ccoc-ca.pem")),
        ):
            pass
    assert "test-hub" not in (station_dir / "broker" / "acl").read_text()


def test_add_hub_refuses_bad_ids_and_the_station_account(tmp_path: Path) -> None:
    folder = tmp_path / "station"
    folder.mkdir()
    plain = station_yaml(free_port(), free_port()).replace(
        ", cert_file: certs/server.pem, key_file: certs/server.key}", ", plain: true}"
    )
    assert "plain: true" in plain
    (folder / "config.yaml").write_text(plain, encoding="utf-8")
    runner = CliRunner()
    cfg = str(folder / "config.yaml")
    for bad in ("Test_Hub", "../etc", "ccoc"):
        result = runner.invoke(station_group, ["add-hub", bad, "-c", cfg, "--no-reload"])
        assert result.exit_code != 0 and "Error" in result.output, bad
    result = runner.invoke(
        station_group, ["add-hub", "hub-a", "-c", cfg, "--password-stdin", "--no-reload"], input="short\n"
    )
    assert result.exit_code != 0 and "12 characters" in result.output
    result = runner.invoke(
        station_group,
        ["add-hub", "hub-a", "-c", cfg, "--password-stdin", "--no-reload"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert verify_password("a-long-enough-password", read_passwd(folder / "broker" / "passwd")["hub-a"])
    # The station's own account follows the configured password.
    assert verify_password("ccoc-password-1234", read_passwd(folder / "broker" / "passwd")["ccoc"])
    # Without a station: block the commands say so.
    (tmp_path / "hub.yaml").write_text("hub: {id: plain-hub, name: x}\n", encoding="utf-8")
    result = runner.invoke(station_group, ["broker-config", "-c", str(tmp_path / "hub.yaml")])
    assert result.exit_code != 0 and "no station: block" in result.output
