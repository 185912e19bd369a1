"""Federation tests: a real Mosquitto with the station's password file and ACL."""

import shutil
from pathlib import Path

import pytest

from integrations.federation.testing import CAMERA_PASSWORD, federation_lab  # noqa: F401

HERE = Path(__file__).parent


@pytest.fixture
def testcams(config_dir: Path) -> str:
    """Install the test camera drop-in and return its config block."""
    shutil.copytree(HERE / "testcams", config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    return """
testcams:
  - {id: gate_always, share: always, password: !secret cam_pw}
  - {id: stall_alarm, share: on_alarm, password: !secret cam_pw}
  - {id: shop_registry, share: registry, password: !secret cam_pw}
  - {id: home_never, share: never, password: !secret cam_pw}
"""
