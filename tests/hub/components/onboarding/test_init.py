"""`safetyhub init`: a new hub with no YAML to write, ready for the web UI."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from hub.bootstrap import load
from hub.cli import cli
from hub.hub import Hub


def test_init_writes_a_config_that_checks_clean_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "shop"
    result = runner.invoke(cli, ["init", str(folder), "--name", "ร้านทอง", "--id", "gold-01"])
    assert result.exit_code == 0, result.output
    assert "safetyhub run" in result.output
    loaded = load(folder / "config.yaml")
    assert loaded.errors == []
    assert loaded.core is not None and (loaded.core.id, loaded.core.name) == ("gold-01", "ร้านทอง")
    assert stat.S_IMODE((folder / "secrets.yaml").stat().st_mode) == 0o600
    before = (folder / "config.yaml").read_bytes()
    again = runner.invoke(cli, ["init", str(folder)])
    assert again.exit_code != 0 and "exists already" in again.output
    assert (folder / "config.yaml").read_bytes() == before
    bad = runner.invoke(cli, ["init", str(tmp_path / "other"), "--id", "Bad Id"])
    assert bad.exit_code != 0 and not (tmp_path / "other" / "config.yaml").exists()


def test_the_embedded_demo_has_no_config_writer(tmp_path: Path) -> None:
    from integrations.demo.const import DEMO_CONFIG

    assert Hub(DEMO_CONFIG, config_dir=tmp_path).ui_config is None
    (tmp_path / "config.yaml").write_text("hub: {id: a, name: b}\n", encoding="utf-8")
    assert Hub(tmp_path / "config.yaml").ui_config is not None
