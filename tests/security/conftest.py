"""The security sweep's hub: every integration that holds a secret, each secret a unique canary.

The canaries are written to ``secrets.yaml`` and reach the config only
through ``!secret``, the way an installation keeps them.  Hex canaries where
the format demands hex (the SIA AES key), long unique strings elsewhere, so
that a grep can never match by accident.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from integrations.station.broker import acl_text, hash_password, write_passwd


def _canary(label: str) -> str:
    return f"CANARY{label}{secrets.token_hex(8)}"


@dataclass
class Canaries:
    """One unique value per configured secret, and what each is."""

    values: dict[str, str] = field(
        default_factory=lambda: {
            "mqtt_password": _canary("mqtt"),
            "line_token": _canary("linetoken"),
            "line_secret": _canary("linesecret"),
            "cam_pw": _canary("campw"),
            "federation_password": _canary("fedpw"),
            # The SIA key must be 32 hex digits: a random one is unique enough and matched case-insensitively.
            "sia_key": secrets.token_hex(16),
        }
    )

    def secrets_yaml(self) -> str:
        """Return ``secrets.yaml`` with every canary."""
        return "".join(f"{name}: {value!r}\n" for name, value in self.values.items())

    def find(self, text: str | bytes) -> list[str]:
        """Return the names of the canaries that occur in ``text``."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        low = text.lower()
        return [name for name, value in self.values.items() if value.lower() in low]


@pytest.fixture
def canaries() -> Canaries:
    """Fresh canary values for one test."""
    return Canaries()


STATION = "sec-station"
STATION_USER = "ccoc"
STATION_PASSWORD = "station-password-1234"
MQTT_USER = "hubmqtt"


def write_broker_files(folder: Path, canaries: Canaries) -> tuple[Path, Path]:
    """A passwd/ACL pair: the station account, the hub's federation account and its device-MQTT account."""
    folder.mkdir(parents=True, exist_ok=True)
    passwd, acl = folder / "passwd", folder / "acl"
    write_passwd(
        passwd,
        {
            STATION_USER: hash_password(STATION_PASSWORD, iterations=101),
            "test-hub": hash_password(canaries.values["federation_password"], iterations=101),
            MQTT_USER: hash_password(canaries.values["mqtt_password"], iterations=101),
        },
    )
    acl.write_text(
        acl_text(STATION, STATION_USER, ["test-hub"]) + f"\nuser {MQTT_USER}\ntopic readwrite #\n",
        encoding="utf-8",
    )
    return passwd, acl


def hub_blocks(canaries: Canaries, broker_url: str, line_base: str, camera_port: int) -> str:
    """Every integration that holds a secret, each through ``!secret``."""
    del canaries  # the values live in secrets.yaml only
    return f"""\
mqtt: {{broker: {broker_url}, username: {MQTT_USER}, password: !secret mqtt_password, reconnect_min: 0.05,
       reconnect_max: 0.5}}
federation: {{station: {STATION}, broker: {broker_url}, username: test-hub, password: !secret federation_password,
             reconnect_min: 0.05, reconnect_max: 0.5, ack_timeout: 2}}
line:
  channel_access_token: !secret line_token
  channel_secret: !secret line_secret
  api_base: {line_base}
  groups: {{big6: C{"6" * 32}}}
sia: {{host: 127.0.0.1, port: 0, accounts: [{{account: "1A2B", key: !secret sia_key}}]}}
onvif:
  - {{id: gate_cam, host: 127.0.0.1, port: {camera_port}, username: admin, password: !secret cam_pw, timeout: 3,
     share: always, owner: {{name: เทศบาล, phone: "035-000000"}}}}
sos:
  - {{id: gate, name: ปุ่ม SOS ประตูตลาด, place: ประตู 1, simulated: true}}
  - {{id: bank_panel, sia: {{account: "1A2B", zone: 1}}}}
light:
  - {{id: gate_lamp, zigbee2mqtt: gate_lamp}}
automation:
  - id: sos_gate
    alias: SOS ประตูตลาด
    use_blueprint:
      path: sos_alert.yaml
      input: {{sos_button: sos.gate, cameras: [camera.gate_cam], lights: [light.gate_lamp], line_targets: [big6]}}
"""
