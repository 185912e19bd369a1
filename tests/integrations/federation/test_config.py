"""The federation: and station: blocks: DESIGN's reference shapes load; mistakes are located."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.bootstrap import LoadedConfig
from integrations.federation.config import FederationConfig
from integrations.station.config import StationConfig


def errors(loaded: LoadedConfig) -> list[str]:
    return [str(e) for e in loaded.errors]


def test_design_reference_blocks_load(load_config: Callable[..., LoadedConfig], config_dir: Path) -> None:
    (config_dir / "secrets.yaml").write_text(
        "federation_password: pw-1234567890\nccoc_password: pw-0987654321\n", encoding="utf-8"
    )
    # The CA certificate the station's admin hands out: check insists it is there.
    (config_dir / "ccoc-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    loaded = load_config("""\
federation: {station: angthong-mueang, broker: mqtts://ccoc.example.org:8883,
             username: test-hub, password: !secret federation_password, ca_file: ccoc-ca.pem}
""")
    assert errors(loaded) == []
    fed = loaded.blocks["federation"]
    assert isinstance(fed, FederationConfig) and fed.protocol == "5" and fed.window == 200
    assert fed.share.events == ["sos_pressed", "camera_motion", "sos_supervision"]
    station = load_config(
        """\
station: {id: angthong-mueang, broker: mqtt://127.0.0.1:1883, username: ccoc, password: !secret ccoc_password}
""",
        base="hub: {id: ccoc, name: CCOC}\n",
    )
    assert errors(station) == []
    cfg = station.blocks["station"]
    assert isinstance(cfg, StationConfig) and cfg.database.backend == "sqlite"
    assert cfg.max_queued_messages == 80_000


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "federation: {station: st, broker: mqtt://h, username: someone-else}",
            "config.yaml:9: federation.username: must be the hub id 'test-hub'",
        ),
        ("federation: {station: St_1, broker: mqtt://h}", "federation.station"),
        ("federation: {station: st, broker: http://h}", "mqtt:// or mqtts://"),
        ("federation: {station: st, broker: mqtt://user:pw@h}", "not in the broker URL"),
        ("federation: {station: st, broker: mqtt://h, share: {armed_hours: ['10pm-6am']}}", "HH:MM-HH:MM"),
        (
            "federation: {station: st, broker: mqtt://h, commands: {allow: [sos.reset]}}",
            "not allowed from a station",
        ),
        (
            "federation: {station: st, broker: mqtt://h, cert_file: a.pem}",
            "cert_file and key_file go together",
        ),
        ("federation: {station: st, broker: mqtt://h, protocol: 4}", "federation.protocol"),
        ("federation: {station: st, broker: mqtt://h, windw: 5}", "federation.windw: unknown key"),
    ],
)
def test_federation_mistakes_are_reported_with_their_line(
    load_config: Callable[..., LoadedConfig], block: str, expected: str
) -> None:
    found = errors(load_config(block + "\n"))
    assert any(expected in e for e in found), found


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("station: {id: st, local_listener: {host: 0.0.0.0}}", "bind it to loopback"),
        ("station: {id: st, listener: {port: 8883}}", "needs cert_file and key_file"),
        (
            "station: {id: st, listener: {plain: true, require_certificate: true}}",
            "require_certificate needs ca_file",
        ),
        ("station: {id: st, database: {backend: mysql}}", "station.database.backend"),
        ("station: {id: st, database: {backend: postgresql}}", "backend postgresql needs url"),
        (
            "station: {id: st, database: {path: x.db, url: 'postgresql://h/db'}}",
            "url is for backend postgresql",
        ),
    ],
)
def test_station_mistakes_are_reported(
    load_config: Callable[..., LoadedConfig], block: str, expected: str
) -> None:
    found = errors(load_config(block + "\n", base="hub: {id: ccoc, name: CCOC}\n"))
    assert any(expected in e for e in found), found


def test_a_config_cannot_be_hub_and_station(load_config: Callable[..., LoadedConfig]) -> None:
    found = errors(load_config("federation: {station: st, broker: mqtt://h}\nstation: {id: st}\n"))
    assert any("either federation: or station:" in e for e in found), found
