"""Deprecated keys: a warning at the old key's file:line naming the replacement, never a silent ignore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.config import load_yaml
from hub.config.deprecations import DEPRECATIONS, Deprecation, apply_deprecations
from hub.testing import BASE_CONFIG, write_config

FEDERATION = """\
federation: {station: angthong-mueang, broker: "mqtt://127.0.0.1:1883", username: test-hub, password: pw-1234}
"""


def _warnings(loaded: Any, word: str) -> list[str]:
    return [str(w) for w in loaded.warnings if word in str(w)]


def test_a_moved_key_warns_at_its_line_and_its_value_moves(load_config: Any) -> None:
    loaded = load_config(FEDERATION + "video:\n  footage:\n    station_url: https://ccoc.example.org\n")
    assert loaded.errors == []
    assert _warnings(loaded, "station_url") == [
        "warning: config.yaml:12: video.footage.station_url: deprecated key: is no longer read since 0.2.0: "
        "use federation.station_url instead (its value is used there); one address for live video and "
        "footage uploads"
    ]
    assert loaded.blocks["federation"].station_url == "https://ccoc.example.org"


def test_the_new_key_wins_when_both_are_set(load_config: Any) -> None:
    block = FEDERATION.replace("pw-1234}", "pw-1234, station_url: 'https://new.example.org'}")
    loaded = load_config(block + "video:\n  footage: {station_url: 'https://old.example.org'}\n")
    assert loaded.errors == []
    assert loaded.blocks["federation"].station_url == "https://new.example.org"
    (warning,) = _warnings(loaded, "station_url")
    assert "config.yaml:11: video.footage.station_url" in warning
    assert "federation.station_url is set and is used instead" in warning


def test_without_the_new_keys_block_the_value_is_ignored_and_said_so(load_config: Any) -> None:
    loaded = load_config("video:\n  footage: {station_url: 'https://old.example.org'}\n")
    assert not [e for e in loaded.errors if "station_url" in str(e)]  # not "unknown key"
    (warning,) = _warnings(loaded, "station_url")
    assert (
        "use federation.station_url instead (its block is not in this config, so the value is ignored)"
        in (warning)
    )


def test_a_key_whose_meaning_changed_is_not_moved(load_config: Any) -> None:
    loaded = load_config(
        "station: {id: angthong-mueang, silent_after: 300, check_interval: 10}\n", base=BASE_CONFIG
    )
    assert loaded.errors == []
    silent, check = _warnings(loaded, "deprecated")
    assert silent.startswith(
        "warning: config.yaml:9: station.silent_after: deprecated key: is no longer read since 0.2.0: "
        "use station.supervision instead (not moved by itself); the detection time is now per hub"
    )
    assert check == (
        "warning: config.yaml:9: station.check_interval: deprecated key: is no longer read since 0.2.0: "
        "use station.supervision.check_interval instead (its value is used there)"
    )
    assert loaded.blocks["station"].supervision.check_interval == 10  # a plain move
    assert loaded.blocks["station"].supervision.default_interval == 60  # silent_after was not guessed into it


def test_check_prints_the_warning_and_passes(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, FEDERATION + "video:\n  footage:\n    station_url: https://ccoc.example.org\n"
    )
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: config.yaml:12: video.footage.station_url: deprecated key" in result.output
    assert "use federation.station_url instead" in result.output


def test_list_items_and_a_removed_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "sos:\n  - {id: a, simulated: true, low_batt: 15}\n  - {id: b, simulated: true}\n"
        "  - {id: c, simulated: true, low_batt: 10, blink: yes}\n",
        encoding="utf-8",
    )
    raw = load_yaml(path, errors=[])
    table = [
        Deprecation("sos[].low_batt", "sos[].low_battery", since="0.2.0"),
        Deprecation("sos[].blink", None, since="0.2.0", note="lights flash from the automation"),
    ]
    warnings = [str(w) for w in apply_deprecations(raw, table, "c.yaml")]
    assert warnings == [
        "warning: c.yaml:2: sos[0].low_batt: deprecated key: is no longer read since 0.2.0: "
        "use sos[].low_battery instead (its value is used there)",
        "warning: c.yaml:4: sos[2].low_batt: deprecated key: is no longer read since 0.2.0: "
        "use sos[].low_battery instead (its value is used there)",
        "warning: c.yaml:4: sos[2].blink: deprecated key: is no longer read since 0.2.0 and is ignored; "
        "lights flash from the automation",
    ]
    assert [dict(item) for item in raw["sos"]] == [
        {"id": "a", "simulated": True, "low_battery": 15},
        {"id": "b", "simulated": True},
        {"id": "c", "simulated": True, "low_battery": 10},
    ]


def test_a_malformed_row_is_refused_when_it_is_written() -> None:
    with pytest.raises(ValueError, match="dotted keys"):
        Deprecation("video..footage", "x", since="0.2.0")
    with pytest.raises(ValueError, match="list"):
        Deprecation("a.b", "a[].b", since="0.2.0")
    assert all(isinstance(row, Deprecation) for row in DEPRECATIONS)
