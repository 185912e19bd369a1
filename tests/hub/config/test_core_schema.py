from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubCoreConfig, load_config_file, validate_block

REFERENCE_HUB = """
hub: {id: talat-sot-01, name: ตลาดสดเทศบาล, zone: angthong-mueang, timezone: Asia/Bangkok,
      location: {lat: 14.5896, lon: 100.4550}, data_dir: ./data,
      web: {host: 127.0.0.1, port: 8123, public_url: https://talat.example.org}}
"""


def load_hub(tmp_path: Path, text: str) -> tuple[Any, list[str]]:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    root, errors = load_config_file(path)
    assert errors == []
    value, errors = validate_block(HubCoreConfig, root["hub"], root, ("hub",), "config.yaml")
    return value, [str(e) for e in errors]


def test_reference_hub_block_loads(tmp_path: Path) -> None:
    hub, errors = load_hub(tmp_path, REFERENCE_HUB)
    assert errors == []
    assert isinstance(hub, HubCoreConfig)
    assert hub.name == "ตลาดสดเทศบาล"
    assert hub.location is not None and hub.location.lat == pytest.approx(14.5896)
    assert hub.web.public_url == "https://talat.example.org"
    assert hub.language == "th"


def test_defaults(tmp_path: Path) -> None:
    hub, errors = load_hub(tmp_path, "hub: {id: a-1, name: A}\n")
    assert errors == []
    assert (hub.timezone, hub.language, hub.data_dir) == ("Asia/Bangkok", "th", "./data")
    assert (hub.web.host, hub.web.port, hub.web.public_url) == ("127.0.0.1", 8123, None)
    assert (hub.recorder.keep_days, hub.recorder.exclude_event_types) == (10, [])
    assert hub.zone is None and hub.location is None


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{id: Talat_01, name: A}", "config.yaml:1: hub.id: may only contain a-z, 0-9, -"),
        ("{name: A}", "config.yaml:1: hub.id: required key missing"),
        (
            "{id: a, name: A, timezone: Mars/Olympus}",
            "config.yaml:1: hub.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            "{id: a, name: A, timezone: ../../etc/passwd}",
            "config.yaml:1: hub.timezone: unknown timezone '../../etc/passwd'",
        ),
        ("{id: a, name: A, language: de}", "config.yaml:1: hub.language: expected one of: th, en"),
        ("{id: a, name: A, allow_demo_write: true}", "config.yaml:1: hub.allow_demo_write: unknown key"),
        (
            "{id: a, name: A, location: {lat: 91, lon: 0}}",
            "config.yaml:1: hub.location.lat: must be at most 90",
        ),
        (
            "{id: a, name: A, web: {port: 70000}}",
            "config.yaml:1: hub.web.port: must be at most 65535",
        ),
        (
            "{id: a, name: A, web: {public_url: ftp://x.org}}",
            "config.yaml:1: hub.web.public_url: expected an http:// or https:// URL",
        ),
        (
            "{id: a, name: A, recorder: {keep_days: 0}}",
            "config.yaml:1: hub.recorder.keep_days: must be at least 1",
        ),
    ],
)
def test_rejects_bad_values(tmp_path: Path, block: str, expected: str) -> None:
    hub, errors = load_hub(tmp_path, f"hub: {block}\n")
    assert hub is None
    assert errors == [expected]


def test_error_lines_in_block_style(tmp_path: Path) -> None:
    _, errors = load_hub(
        tmp_path,
        """
        hub:
          id: ok-1
          name: A
          web:
            host: 0.0.0.0
            port: web
          timezone: Asia/Bankok
        """,
    )
    # Schema (field) order, as pydantic reports them; the CLI sorts for display.
    assert errors == [
        "config.yaml:7: hub.timezone: unknown timezone 'Asia/Bankok'",
        "config.yaml:6: hub.web.port: expected integer",
    ]


REFERENCE_CONFIG = """
hub: {id: talat-sot-01, name: ตลาดสดเทศบาล, zone: angthong-mueang, timezone: Asia/Bangkok,
      location: {lat: 14.5896, lon: 100.4550}, data_dir: ./data,
      web: {host: 127.0.0.1, port: 8123, public_url: https://talat.example.org}}

mqtt: {broker: mqtt://127.0.0.1:1883, username: hub, password: !secret mqtt_password}

sos:
  - {id: market_gate, name: ปุ่ม SOS ประตูตลาด, zigbee2mqtt: market_gate_sos}   # model learned from bridge/devices
  - {id: fish_stall, mqtt: {topic: shop/fish/sos, payload: "PRESSED"}}
  - {id: bank_panel, sia: {account: "1A2B", zone: 1}}
sia: {port: 7777, accounts: [{account: "1A2B", key: !secret sia_key}]}

light:
  - {id: gate_lamp, zigbee2mqtt: gate_lamp}
  - {id: soi_lamp, tasmota: soi_lamp}
  - {id: stall_relay, shelly: shellyplus1-a8032ab12345}

onvif:
  - {id: market_gate, host: 127.0.0.1, port: 8080, username: admin, password: !secret cam_pw,
     share: on_alarm, owner: {name: เทศบาลเมืองอ่างทอง, phone: "035-000000"}, location: {lat: 14.5897, lon: 100.4551}}

line:
  channel_access_token: !secret line_token
  channel_secret: !secret line_secret
  api_base: https://api.line.me           # tests point this at a local fake
  groups: {big6: C0123456789abcdef0123456789abcdef, pineapple_eyes: C89abcdef0123456789abcdef01234567}

federation: {station: angthong-mueang, broker: mqtts://ccoc.example.org:8883,
             username: talat-sot-01, password: !secret federation_password, ca_file: ccoc-ca.pem}

automation:
  - id: sos_market_gate
    alias: SOS ประตูตลาด
    use_blueprint:
      path: sos_alert.yaml
      input: {sos_button: sos.market_gate, cameras: [camera.market_gate], lights: [light.gate_lamp],
              line_targets: [big6, pineapple_eyes], flash_seconds: 60}
"""


def test_design_reference_config_loads(tmp_path: Path) -> None:
    """DESIGN §4.1 is a contract: it must load as written."""
    names = ["mqtt_password", "sia_key", "cam_pw", "line_token", "line_secret", "federation_password"]
    (tmp_path / "secrets.yaml").write_text("".join(f"{n}: value-of-{n}\n" for n in names), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(REFERENCE_CONFIG.lstrip("\n"), encoding="utf-8")
    root, errors = load_config_file(tmp_path / "config.yaml")
    assert errors == []
    assert root["onvif"][0]["owner"]["name"] == "เทศบาลเมืองอ่างทอง"
    assert root["line"]["channel_secret"] == "value-of-line_secret"
    assert root["automation"][0]["use_blueprint"]["input"]["flash_seconds"] == 60
    hub, errors = validate_block(HubCoreConfig, root["hub"], root, ("hub",), "config.yaml")
    assert errors == []
    assert isinstance(hub, HubCoreConfig) and hub.id == "talat-sot-01"
