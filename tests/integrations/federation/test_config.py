"""The federation: and station: blocks: DESIGN's reference shapes load; mistakes are located."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def test_every_tier_builds_its_connection_from_the_same_keys(tmp_path: Path) -> None:
    from integrations.region.config import RegionConfig
    from integrations.region_link.config import RegionLinkConfig

    keys: dict[str, Any] = {
        "username": "u",
        "password": "p" * 12,
        "ca_file": "ca.pem",
        "keepalive": 45,
        "protocol": 5,
    }
    for cfg in (
        FederationConfig.model_validate({"station": "st", "broker": "mqtts://ccoc.example.org:8883", **keys}),
        RegionLinkConfig.model_validate(
            {"region": "r9", "broker": "mqtts://region.example.org:8883", **keys}
        ),
        StationConfig.model_validate({"id": "st", "reconnect_max": 20, **keys}),
        RegionConfig.model_validate({"id": "r9", **keys}),
    ):
        settings = cfg.connection_settings(
            default_client_id="x-1", config_dir=tmp_path, subscriptions=["a/#"]
        )
        assert (settings.broker, settings.username, settings.password) == (cfg.broker, "u", "p" * 12)
        assert (settings.ca_file, settings.keepalive, settings.protocol) == ("ca.pem", 45, "5")
        assert settings.client_id == "x-1" and settings.subscriptions == ("a/#",)
        assert (settings.reconnect_min, settings.reconnect_max) == (cfg.reconnect_min, cfg.reconnect_max)
        assert settings.clean is False and settings.config_dir == tmp_path
    station = StationConfig(id="st", client_id="fixed")
    settings = station.connection_settings(
        default_client_id="x", config_dir=tmp_path, subscriptions=(), username="hub-1", clean=True
    )
    assert (settings.client_id, settings.username, settings.clean) == ("fixed", "hub-1", True)
    assert StationConfig(id="st").reconnect_max == 30.0 and RegionConfig(id="r").reconnect_max == 30.0
    link = RegionLinkConfig(region="r", broker="mqtt://127.0.0.1:1")
    assert link.reconnect_max == 60.0
