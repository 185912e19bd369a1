"""Issue 15 item 1: one bad SOS entry fails only itself; a failed plugin never looks healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.hub.plugins.test_isolation import make_dropin

DUPLICATE_SOS = """\
sos:
  - {id: gate, name: ประตู, simulated: true}
  - {id: gate, name: ประตูซ้ำ, simulated: true}
  - {id: stall, simulated: true}
  - {id: Bad-Id, simulated: true}
"""


def test_check_refuses_duplicate_ids_of_every_entity_kind(load_config: Any) -> None:
    loaded = load_config(
        DUPLICATE_SOS
        + """\
light:
  - {id: lamp, simulated: true}
  - {id: lamp, simulated: true}
onvif:
  - {id: cam, host: 127.0.0.1, port: 8080, username: a, password: b}
  - {id: cam, host: 127.0.0.1, port: 8081, username: a, password: b}
"""
    )
    messages = [str(e) for e in loaded.errors]
    # Each duplicate is named at its own line, with the line of the first use.
    assert any(
        m.startswith("config.yaml:11: sos[1].id:") and "gate" in m and "line 10" in m for m in messages
    ), messages
    assert any(m.startswith("config.yaml:16: light[1].id:") and "lamp" in m for m in messages), messages
    assert any(m.startswith("config.yaml:19: onvif[1].id:") and "cam" in m for m in messages), messages
    assert any("sos[3].id" in m for m in messages), messages
    # The good entries are kept for `run`: one bad entry fails only itself.
    assert [b.id for b in loaded.blocks["sos"]] == ["gate", "stall"]
    assert [b.id for b in loaded.blocks["light"]] == ["lamp"]
    assert [c.id for c in loaded.blocks["onvif"]] == ["cam"]


async def test_duplicate_sos_id_leaves_the_other_buttons_working(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub(DUPLICATE_SOS)
    assert hub.plugins.get("sos").status == "set_up"
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    for button in ("sos.gate", "sos.stall"):
        await hub.services.call("sos", "press", {"entity_id": button, "action": "test"})
    await hub.block_till_done()
    assert [p.data["entity_id"] for p in presses] == ["sos.gate", "sos.stall"]
    assert hub.states.get("sos.gate").attributes["friendly_name"] == "ประตู"
    # The errors show on the plugins page: never a green "no errors" banner.
    client = await client_for("admin", target=hub)
    page = await (await client.get("/plugins")).text()
    assert "sos[1].id" in page
    assert 'class="alert alert-ok"' not in page


async def test_failed_plugin_never_under_a_no_errors_banner_and_its_entities_unavailable(
    make_hub: Any, config_dir: Path, client_for: Any
) -> None:
    make_dropin(
        config_dir,
        "half_setup",
        """
        from hub import hookimpl

        @hookimpl
        def setup(hub, config):
            hub.states.set("sensor.half_a", "ok")
            hub.states.set("sensor.half_b", "ok", {"unit": "x"})
            raise RuntimeError("second device refused")
    """,
    )
    hub = await make_hub("half_setup:\n")
    assert hub.config_errors == []
    info = hub.plugins.get("half_setup")
    assert info.status == "failed"
    # What it created before failing does not pretend to work.
    assert hub.states.get("sensor.half_a").state == "unavailable"
    assert hub.states.get("sensor.half_b").state == "unavailable"
    assert hub.states.get("sensor.half_b").attributes["unit"] == "x"
    client = await client_for("admin", target=hub)
    page = await (await client.get("/plugins")).text()
    assert 'class="alert alert-ok"' not in page
    assert "second device refused" in page
    assert 'id="plugins-failed"' in page


def test_check_refuses_an_entity_two_blocks_would_create(load_config: Any) -> None:
    loaded = load_config(
        "demo: {}\nsos:\n  - {id: demo_market, simulated: true}\n  - {id: other, simulated: true}\n"
    )
    messages = [str(e) for e in loaded.errors]
    assert any("sos.demo_market" in m and "also created by" in m for m in messages), messages
