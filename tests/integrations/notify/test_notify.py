"""HA's notify.* and persistent_notification.*: LINE groups as targets, the hub's UI as one."""

from __future__ import annotations

import pytest

from hub.core.errors import ServiceError, ServiceValidationError
from integrations.notify.const import RUNTIME as NOTIFY_RUNTIME
from tests.integrations.line.conftest import BIG6, EYES

GROUPS = {"big6": BIG6, "pineapple_eyes": EYES}


async def test_persistent_notifications_show_and_go(hub, client_for) -> None:
    rt = hub.data[NOTIFY_RUNTIME]
    await hub.services.call(
        "persistent_notification", "create", {"message": "ตรวจแบตเตอรี่ปุ่ม SOS", "title": "แบต"}
    )
    res = await hub.services.call(
        "notify", "persistent_notification", {"message": "first", "data": {"notification_id": "x"}}
    )
    assert res == {"notification_id": "x", "target": "persistent_notification"}
    await hub.services.call(
        "persistent_notification", "create", {"message": "replaced", "notification_id": "x"}
    )
    assert [n.message for n in rt.notifications.values()] == ["ตรวจแบตเตอรี่ปุ่ม SOS", "replaced"]

    viewer = await client_for("viewer")
    page = await (await viewer.get("/notifications")).text()
    assert "การแจ้งเตือน (2)" in page and "ตรวจแบตเตอรี่ปุ่ม SOS" in page and "replaced" in page
    assert "ปิดทั้งหมด" not in page  # a viewer may read, not dismiss

    assert await hub.services.call("persistent_notification", "dismiss", {"notification_id": "x"}) == {
        "dismissed": True
    }
    assert await hub.services.call("persistent_notification", "dismiss_all", {}) == {"dismissed": 1}
    page = await (await viewer.get("/notifications")).text()
    assert "ไม่มีการแจ้งเตือน" in page


async def test_notify_notify_defaults_to_the_ui(hub) -> None:
    res = await hub.services.call("notify", "notify", {"message": "hello", "title": "t"})
    assert res == {"sent": ["persistent_notification"], "failed": {}}
    [note] = hub.data[NOTIFY_RUNTIME].notifications.values()
    assert (note.title, note.message) == ("t", "hello")


async def test_line_groups_are_notify_targets(make_hub, fake_line) -> None:
    hub = await make_hub(
        "notify: {default: [persistent_notification, line_big6]}\n" + fake_line.config_yaml(GROUPS),
        real_clock=True,
    )
    assert {"line", "line_big6", "line_pineapple_eyes", "persistent_notification"} <= set(
        hub.services.services()["notify"]
    )
    await hub.services.call("notify", "line_pineapple_eyes", {"message": "มีคนแปลกหน้า", "title": "ตาสับปะรด"})
    await hub.services.call("notify", "line", {"message": "ถึงทุกกลุ่ม", "target": ["big6", "pineapple_eyes"]})
    res = await hub.services.call("notify", "notify", {"message": "ค่าเริ่มต้น"})
    assert res["sent"] == ["persistent_notification", "line_big6"]
    texts = [(d.to, d.messages[0]["text"]) for d in fake_line.pushes]
    assert texts[0] == (EYES, "ตาสับปะรด\nมีคนแปลกหน้า")
    assert sorted(texts[1:3]) == [(BIG6, "ถึงทุกกลุ่ม"), (EYES, "ถึงทุกกลุ่ม")]  # sent side by side
    assert texts[3] == (BIG6, "ค่าเริ่มต้น")
    assert fake_line.violations == []
    # A key LINE cannot take is refused, never dropped silently.
    with pytest.raises(ServiceError, match="LINE does not take data push"):
        await hub.services.call("notify", "line_big6", {"message": "x", "data": {"push": True}})
    with pytest.raises(ServiceValidationError):
        await hub.services.call("notify", "line_big6", {"message": ""})
    assert len(fake_line.pushes) == 4


async def test_a_retried_notify_sends_once(make_hub, fake_line) -> None:
    hub = await make_hub("notify: {default: [line_big6]}\n" + fake_line.config_yaml(GROUPS), real_clock=True)
    for _ in range(2):
        await hub.services.call("notify", "notify", {"message": "ครั้งเดียว"}, key="run-1:0:0")
    assert [d.messages[0]["text"] for d in fake_line.pushes] == ["ครั้งเดียว"]


def test_check_refuses_an_unknown_default_target(load_config) -> None:
    loaded = load_config(
        "notify:\n  default: [persistent_notification, line_bigsix]\n"
        "line: {channel_access_token: xxxxxxxxxxxx, channel_secret: yyyyyyyyyyyy, groups: {big6: "
        + BIG6
        + "}}\n"
    )
    from hub.testing import BASE_CONFIG

    line = BASE_CONFIG.count("\n") + 2  # the `default:` line under `notify:`
    assert [str(e) for e in loaded.errors] == [
        f"config.yaml:{line}: notify.default[1]: no notify target 'line_bigsix' "
        "(known: line_big6, persistent_notification)"
    ]
