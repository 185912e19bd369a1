"""notify_owner: the camera's owner is told on LINE (the fake LINE API, checked against LINE's spec)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from integrations.federation.testing import FederationLab, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.video.uplink import LIVE_UPLINKS
from tests.integrations.line.conftest import line_spec_dir as line_spec_dir  # the fixture
from tests.integrations.video.live_lab import live_pair, officer, open_view, read_stream

OWNER_GROUP = "C" + "4" * 32


async def test_owner_is_told_on_line_when_an_officer_starts_watching(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    ipycam: Any,
    fake_line_factory: Any,
    line_spec_dir: Path,
) -> None:
    fake = await fake_line_factory(line_spec_dir)
    fake.add_group("ครอบครัวร้านทอง", {"U" + "e" * 32: "เจ้าของร้าน"}, group_id=OWNER_GROUP)
    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"gate": (ipycam.rtsp_url, "always"), "till": (ipycam.rtsp_url, "always")},
        hub_extra=fake.config_yaml(groups={"shop_owner": OWNER_GROUP}),
    )
    cast(Any, hub.entities.get("camera.gate")).notify_owner = "shop_owner"
    op, _token = await officer(station, "somchai")
    async with op:
        # A camera without notify_owner: no message.
        till = await open_view(op, "camera.till", "ตรวจหน้าร้าน")
        resp = await op.get(till["live_url"])
        await read_stream(resp, 5_000)
        resp.close()
        await until(lambda: not hub.data[LIVE_UPLINKS].active, 5)
        assert fake.pushes == []

        view = await open_view(op, "camera.gate", "ตามหาคนร้ายชิงทอง")
        resp = await op.get(view["live_url"])
        await read_stream(resp, 5_000)
        pushes = await until(lambda: fake.pushes, 10)
        resp.close()
    assert len(pushes) == 1
    (push,) = pushes
    assert push.to == OWNER_GROUP
    text = push.messages[0]["text"]
    assert "somchai" in text and "ตามหาคนร้ายชิงทอง" in text and "gate" in text
    assert fake.violations == []


def test_notify_owner_is_a_line_alias_or_id() -> None:
    import pytest
    from pydantic import ValidationError

    from integrations.onvif.config import OnvifCameraConfig

    base: dict[str, Any] = {"id": "gate", "host": "127.0.0.1", "share": "always", "owner": {"name": "ร้าน"}}
    assert OnvifCameraConfig(**base, notify_owner="shop_owner").notify_owner == "shop_owner"
    assert OnvifCameraConfig(**base, notify_owner="U" + "a" * 32).notify_owner == "U" + "a" * 32
    for bad in ("Shop Owner", "https://example.org", "U123"):
        with pytest.raises(ValidationError):
            OnvifCameraConfig(**base, notify_owner=bad)
