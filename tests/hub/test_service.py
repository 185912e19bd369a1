"""``safetyhub service``: systemd units that systemd itself accepts, hardened, and removable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.testing import BASE_CONFIG

REPO = Path(__file__).resolve().parents[2]
STATION = """\
hub: {id: ccoc-test, name: ศูนย์ทดสอบ, zone: z, timezone: Asia/Bangkok, data_dir: ./data, web: {host: 127.0.0.1, port: 0}}
station: {id: test-station, broker: mqtt://127.0.0.1:1883, username: ccoc, password: a-long-station-password}
"""

REGION = """\
hub: {id: region-centre, name: ศูนย์ภาค, timezone: Asia/Bangkok, data_dir: ./data, web: {host: 127.0.0.1, port: 0}}
region: {id: region-9, broker: mqtt://127.0.0.1:1883, username: region, password: a-long-region-password}
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _verify(*units: Path) -> None:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    done = subprocess.run([exe, "verify", *map(str, units)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize(
    ("config", "extra", "units"),
    [
        (
            BASE_CONFIG + "backup: {dir: ./backups, passphrase: a-long-passphrase}\n",
            [],
            ["safetyhub.service"],
        ),
        (STATION, ["--mosquitto"], ["safetyhub.service", "safetyhub-mosquitto.service"]),
        (REGION, ["--mosquitto"], ["safetyhub.service", "safetyhub-mosquitto.service"]),
    ],
)
def test_install_status_uninstall(tmp_path: Path, config: str, extra: list[str], units: list[str]) -> None:
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")
    unit_dir = tmp_path / "units"
    common = ["--unit-dir", str(unit_dir)]
    done = _cli(
        "service",
        "install",
        "-c",
        "config.yaml",
        "--user",
        "daemon",
        "--no-user",
        "--no-start",
        *extra,
        *common,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(units)
    _verify(*(unit_dir / u for u in units))
    text = (unit_dir / "safetyhub.service").read_text(encoding="utf-8")
    for line in (
        "User=daemon",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
        f"ExecStart={sys.executable} -m hub.cli run -c {tmp_path / 'config.yaml'}",
        f"WorkingDirectory={tmp_path}",
    ):
        assert line in text.splitlines(), line
    writable = next(x for x in text.splitlines() if x.startswith("ReadWritePaths="))
    assert str(tmp_path / "data") in writable
    if "backup" in config:
        assert str(tmp_path / "backups") in writable  # daily backups can be written
    if "--mosquitto" in extra:
        assert "After=network-online.target safetyhub-mosquitto.service" in text
    if "region:" in config:
        assert any(x.startswith("Description=SafetyHub region (command centre)") for x in text.splitlines())
    status = _cli("service", "status", *common, cwd=tmp_path)
    assert status.returncode == 0 and "safetyhub.service" in status.stdout
    gone = _cli("service", "uninstall", *common, cwd=tmp_path)
    assert gone.returncode == 0 and list(unit_dir.iterdir()) == []
    assert (tmp_path / "config.yaml").is_file()  # the config and data stay
    assert _cli("service", "status", *common, cwd=tmp_path).returncode == 3


def test_mosquitto_is_for_a_station(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(BASE_CONFIG, encoding="utf-8")
    done = _cli(
        "service",
        "install",
        "--mosquitto",
        "--no-user",
        "--no-start",
        "--unit-dir",
        str(tmp_path / "u"),
        cwd=tmp_path,
    )
    assert done.returncode != 0 and "--mosquitto is for a station" in done.stderr
