"""The command line, run as users run it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.testing import write_config

REPO = Path(__file__).resolve().parents[2]


def test_check_ok(config_dir: Path) -> None:
    path = write_config(config_dir, "demo: {}\n")
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_check_lists_every_error_with_file_and_line(config_dir: Path) -> None:
    (config_dir / "lights.yaml").write_text("- {id: lamp, simulated: true, brightness: 3}\n")
    path = write_config(
        config_dir,
        """\
        demo:
          motion_every: soon
        light: !include lights.yaml
        sos:
          - {id: a}
        unknown_thing: {}
        """,
    )
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "config.yaml:10: demo.motion_every:" in out
    assert "lights.yaml:1: light[0].brightness: unknown key" in out
    assert "config.yaml:13: sos[0]:" in out and "exactly one source" in out
    assert "config.yaml:14: unknown_thing: unknown integration or plugin" in out
    assert "4 error(s)" in out


def test_check_schema_is_json_schema() -> None:
    result = CliRunner().invoke(cli, ["check", "--schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["required"] == ["hub"]
    for key in ("hub", "sos", "light", "demo"):
        assert key in schema["properties"]


def test_example_config_passes_check(tmp_path: Path) -> None:
    # The station's CA certificate comes from the station's admin; check looks for it.
    missing = CliRunner().invoke(cli, ["check", "-c", str(REPO / "config.example.yaml")])
    assert "federation.ca_file: file 'ccoc-ca.pem' does not exist" in missing.output
    for name in ("config.example.yaml", "secrets.example.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "ccoc-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "-c", str(tmp_path / "config.example.yaml")])
    assert result.exit_code == 0, result.output


def test_user_add_and_token_create(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(config_dir)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["user", "add", "somchai", "--role", "admin", "-c", str(path)], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "somchai (admin) created" in result.output
    again = runner.invoke(cli, ["user", "add", "somchai", "-c", str(path)], input="a long password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(cli, ["user", "add", "lek", "-c", str(path)], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    tok = runner.invoke(cli, ["token", "create", "somchai", "-c", str(path)])
    assert tok.exit_code == 0 and tok.output.startswith("shub_")
    missing = runner.invoke(cli, ["token", "create", "nobody", "-c", str(path)])
    assert missing.exit_code == 1 and "no user" in missing.output


def test_new_plugin_scaffold_passes_its_own_test(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-plugin", "market_siren", "--dir", str(tmp_path / "market_siren")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "market_siren"
    for name in (
        "manifest.json",
        "__init__.py",
        "const.py",
        "config.py",
        "README.md",
        "tests/test_market_siren.py",
    ):
        assert (folder / name).is_file(), name
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout
    bad = CliRunner().invoke(cli, ["new-plugin", "Bad-Name", "--dir", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "lowercase" in bad.output


def test_run_on_a_busy_port_prints_one_line_and_exits(config_dir: Path) -> None:
    """Issue 15.19: not a 45-line traceback and a process that never ends."""
    import socket
    import sqlite3

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = write_config(config_dir, "sos:\n  - {id: gate, name: Gate, simulated: true}\n")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        run = subprocess.run(
            [sys.executable, "-m", "hub.cli", "run", "-c", str(path), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=config_dir,
        )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    # (The config's warnings are logged at start too: this button has no automation.)
    errors = [
        line for line in run.stderr.splitlines() if " INFO " not in line and "Config: warning:" not in line
    ]
    assert errors == [f"safetyhub: port {port} is already in use"]
    # What the plugins queued while starting was flushed as the start unwound.
    with sqlite3.connect(config_dir / "data" / "safetyhub.db") as db:
        rows = db.execute("SELECT state FROM states WHERE entity_id = 'sos.gate'").fetchall()
    assert rows == [("idle",)]
