"""The web UI's config writer: hand-written bytes kept, secrets apart, validated, conflict-safe."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.audit import AuditLog
from hub.bootstrap import load
from hub.config import load_config_file
from hub.config.ui_writer import (
    ConfigConflict,
    ConfigRejected,
    IdCollision,
    UIConfig,
    remove_secret_text,
    set_secret_text,
)
from hub.storage import Storage

CONFIG = """\
# Kamphaeng gold shop: written by hand, every comment must survive.
hub:
  id: gold-01        # unique within the station
  name: ร้านทอง   # Thai name
  timezone: Asia/Bangkok

mqtt:
  broker: mqtt://127.0.0.1:1883   # the local broker
  username: hub
  password: !secret mqtt_password

# Buttons wired by the installer
sos:
  - id: counter           # under the counter
    name: ปุ่มเคาน์เตอร์
    mqtt: {topic: shop/counter/sos, payload: PRESSED}
# trailing comment, no newline at the end"""

SECRETS = """\
# Secrets: hand-written
mqtt_password: "hunter2-long"   # keep me
"""

INCLUDE = (
    "\n\n# Blocks made in the web UI are in ui/*.yaml and merge with the ones above (docs/setup.md).\n"
    "ui: !include_dir_named ui\n"
)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "secrets.yaml").write_text(SECRETS, encoding="utf-8")
    return tmp_path


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    storage = Storage(tmp_path / "data" / "hub.db", flush_interval=60)
    (tmp_path / "data").mkdir()
    await storage.open()
    yield AuditLog(storage)
    await storage.close()


@pytest.fixture
def ui(config_dir: Path, audit: AuditLog) -> UIConfig:
    return UIConfig(config_dir / "config.yaml", audit=lambda: audit)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*.yaml"))}


def _button(ident: str, topic: str | None = None) -> dict[str, object]:
    return {
        "id": ident,
        "name": f"ปุ่ม {ident}",
        "mqtt": {"topic": topic or f"shop/{ident}/sos", "payload": "ON"},
    }


def _camera(ident: str) -> dict[str, object]:
    owner = {"name": "ร้านทอง", "phone": "035-000000"}
    return {
        "id": ident,
        "host": "127.0.0.1",
        "port": 8080,
        "username": "admin",
        "share": "on_alarm",
        "owner": owner,
    }


async def test_hand_written_bytes_survive_every_kind_of_write(ui: UIConfig, config_dir: Path) -> None:
    """config.yaml only gains the include line, once; secrets.yaml keeps its comments."""
    _items, etag = await ui.list_items("sos")
    etag = await ui.add_item("sos", _button("door"), etag=etag)
    etag = await ui.update_item("sos", "door", _button("door", "shop/door2/sos"), etag=etag)
    await ui.add_item("sos", _button("back"), etag=etag)
    _block, hub_etag = await ui.get_block("hub")
    await ui.set_block("hub", {"name": "ร้านทองกำแพง", "zone": "kamphaeng"}, etag=hub_etag)
    await ui.add_item("onvif", _camera("front"), secrets={"password": "cam-pass-123"})
    items, etag = await ui.list_items("sos")
    await ui.remove_item("sos", "back", etag=etag)

    text = (config_dir / "config.yaml").read_text(encoding="utf-8")
    assert text == CONFIG + INCLUDE
    secrets = (config_dir / "secrets.yaml").read_text(encoding="utf-8")
    assert secrets.startswith(SECRETS)
    assert 'ui_onvif_front_password: "cam-pass-123"' in secrets
    loaded = load(config_dir / "config.yaml")
    assert loaded.errors == []
    assert [b.id for b in loaded.blocks["sos"]] == ["counter", "door"]
    assert loaded.core is not None and loaded.core.name == "ร้านทองกำแพง" and loaded.core.id == "gold-01"


async def test_items_marked_editable_with_their_source(ui: UIConfig) -> None:
    _items, etag = await ui.list_items("sos")
    await ui.add_item("sos", _button("door"), etag=etag)
    items, _etag = await ui.list_items("sos")
    assert [(i["id"], i["_editable"], i["_source"]) for i in items] == [
        ("counter", False, "config.yaml:14"),
        ("door", True, "ui/sos.yaml:3"),
    ]


async def test_secrets_go_to_secrets_yaml_never_to_the_ui_file_or_logs(
    ui: UIConfig, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await ui.add_item("onvif", _camera("front"), secrets={"password": "cam-pass-123"})
    ui_text = (config_dir / "ui" / "onvif.yaml").read_text(encoding="utf-8")
    assert "cam-pass-123" not in ui_text
    assert "password: !secret ui_onvif_front_password" in ui_text
    items, etag = await ui.list_items("onvif")
    assert "password" not in items[0] and items[0]["_secrets"] == ["password"]
    # Editing without re-typing the password keeps it.
    etag = await ui.update_item("onvif", "front", {**_camera("front"), "port": 8081}, etag=etag)
    assert "password: !secret ui_onvif_front_password" in (config_dir / "ui" / "onvif.yaml").read_text()
    camera = load(config_dir / "config.yaml").blocks["onvif"][0]
    assert (camera.port, camera.password) == (8081, "cam-pass-123")
    # Hand-written secrets are hidden too.
    block, _ = await ui.get_block("mqtt")
    assert isinstance(block, dict) and "password" not in block and block["_secrets"] == ["password"]
    # Removing the camera removes the secret only it used.
    await ui.remove_item("onvif", "front", etag=etag)
    assert (config_dir / "secrets.yaml").read_text(encoding="utf-8") == SECRETS
    assert "cam-pass-123" not in caplog.text


async def test_stale_etag_is_a_conflict_and_saves_nothing(ui: UIConfig, config_dir: Path) -> None:
    _items, opened = await ui.list_items("sos")
    await ui.add_item("sos", _button("door"), etag=opened)  # the first admin saves
    before = _files(config_dir)
    with pytest.raises(ConfigConflict):
        await ui.add_item("sos", _button("back"), etag=opened)  # the second admin's form is stale
    with pytest.raises(ConfigConflict):
        await ui.remove_item("sos", "door", etag=opened)
    assert _files(config_dir) == before


async def test_a_hand_edit_of_the_block_is_a_conflict(ui: UIConfig, config_dir: Path) -> None:
    _items, opened = await ui.list_items("sos")
    path = config_dir / "config.yaml"
    path.write_text(CONFIG.replace("shop/counter/sos", "shop/till/sos"), encoding="utf-8")
    with pytest.raises(ConfigConflict):
        await ui.add_item("sos", _button("door"), etag=opened)


async def test_invalid_item_is_rejected_with_file_line_and_nothing_written(
    ui: UIConfig, config_dir: Path, audit: AuditLog
) -> None:
    before = _files(config_dir)
    with pytest.raises(ConfigRejected) as caught:
        await ui.add_item("sos", {"id": "door", "mqtt": {"topic": 5, "colour": "red"}})
    assert caught.value.errors == [
        "ui/sos.yaml:5: sos[1].mqtt.topic: expected string",
        "ui/sos.yaml:6: sos[1].mqtt.colour: unknown key",
    ]
    assert _files(config_dir) == before
    assert not (config_dir / "ui").exists()
    (entry,) = await audit.query(action="config.item_add")
    assert (entry.result, entry.target) == ("rejected", "sos/door")


async def test_id_collision_with_hand_or_ui_item_is_refused(ui: UIConfig, config_dir: Path) -> None:
    with pytest.raises(IdCollision) as caught:
        await ui.add_item("sos", _button("counter"))
    assert caught.value.errors == [
        "config.yaml:14: sos: id 'counter' is already used here; ids must be unique"
    ]
    await ui.add_item("sos", _button("door"))
    before = _files(config_dir)
    with pytest.raises(IdCollision):
        await ui.add_item("sos", _button("door"))
    _items, etag = await ui.list_items("sos")
    await ui.add_item("sos", _button("back"), etag=etag)
    _items, etag = await ui.list_items("sos")
    with pytest.raises(IdCollision):  # renaming onto another item
        await ui.update_item("sos", "back", _button("door"), etag=etag)
    assert _files(config_dir)["ui/sos.yaml"] != before["ui/sos.yaml"]  # only the "back" add landed


async def test_hand_written_items_cannot_be_edited_from_the_ui(ui: UIConfig) -> None:
    _items, etag = await ui.list_items("sos")
    with pytest.raises(ConfigRejected, match="written by hand"):
        await ui.update_item("sos", "counter", _button("counter"), etag=etag)
    with pytest.raises(ConfigRejected, match="written by hand"):
        await ui.remove_item("sos", "counter", etag=etag)


async def test_config_invalid_by_hand_blocks_every_write(ui: UIConfig, config_dir: Path) -> None:
    path = config_dir / "config.yaml"
    path.write_text(CONFIG.replace("timezone: Asia/Bangkok", "timezone: Mars/Olympus"), encoding="utf-8")
    before = _files(config_dir)
    with pytest.raises(ConfigRejected) as caught:
        await ui.add_item("sos", _button("door"))
    assert any(e.startswith("config.yaml:5: hub.timezone:") for e in caught.value.errors)
    assert _files(config_dir) == before
    assert any(e.startswith("config.yaml:5: hub.timezone:") for e in await ui.problems())
    path.write_text(CONFIG, encoding="utf-8")  # fixed by hand: writes work again
    await ui.add_item("sos", _button("door"))
    assert await ui.problems() == []


async def test_writes_are_audited_without_secret_values(ui: UIConfig, audit: AuditLog) -> None:
    await ui.add_item("onvif", _camera("front"), secrets={"password": "cam-pass-123"}, actor="somchai")
    (entry,) = await audit.query(action="config.item_add")
    assert (entry.actor, entry.target, entry.result) == ("somchai", "onvif/front", "ok")
    assert entry.detail == {"block": "onvif", "file": "ui/onvif.yaml", "secrets": 1}
    assert "cam-pass-123" not in str(entry)


async def test_set_block_writes_only_what_differs_from_the_hand_block(ui: UIConfig, config_dir: Path) -> None:
    block, etag = await ui.get_block("hub")
    assert isinstance(block, dict) and block["name"] == "ร้านทอง" and block["_ui_keys"] == []
    await ui.set_block("hub", {**block, "zone": "kamphaeng"}, etag=etag)
    ui_text = (config_dir / "ui" / "hub.yaml").read_text(encoding="utf-8")
    assert "zone: kamphaeng" in ui_text and "name:" not in ui_text and "id:" not in ui_text
    block, etag = await ui.get_block("hub")
    assert isinstance(block, dict) and block["zone"] == "kamphaeng" and block["_ui_keys"] == ["zone"]


async def test_mapping_block_secret_and_kept_on_resave(ui: UIConfig, config_dir: Path) -> None:
    line = {"api_base": "http://127.0.0.1:9", "groups": {"big6": "C" + "0" * 32}}
    await ui.set_block(
        "line",
        line,
        etag=None,
        secrets={"channel_access_token": "tok-123456", "channel_secret": "sec-abcdef"},
    )
    ui_text = (config_dir / "ui" / "line.yaml").read_text(encoding="utf-8")
    assert "channel_access_token: !secret ui_line_channel_access_token" in ui_text
    _block, etag = await ui.get_block("line")
    await ui.set_block("line", {**line, "groups": {"big6": "C" + "1" * 32}}, etag=etag)  # no secrets re-typed
    loaded = load(config_dir / "config.yaml")
    assert loaded.errors == []
    assert loaded.blocks["line"].channel_access_token.get_secret_value() == "tok-123456"


async def test_block_name_must_be_a_plain_key(ui: UIConfig) -> None:
    with pytest.raises(ConfigRejected):
        await ui.list_items("../etc")
    with pytest.raises(ConfigRejected):
        await ui.set_block("ui", {}, etag=None)


# -- the merge rule and secrets.yaml editing -------------------------------------------------


def test_ui_blocks_merge_list_concat_and_mapping_override(tmp_path: Path) -> None:
    (tmp_path / "ui").mkdir()
    (tmp_path / "config.yaml").write_text(
        "hub: {id: a, name: Hand}\nsos:\n  - {id: x, mqtt: {topic: t}}\nui: !include_dir_named ui\n"
    )
    (tmp_path / "ui" / "sos.yaml").write_text("- {id: y, mqtt: {topic: u}}\n")
    (tmp_path / "ui" / "hub.yaml").write_text("name: UI\n")
    raw, errors = load_config_file(tmp_path / "config.yaml")
    assert [i["id"] for i in raw["sos"]] == ["x", "y"]
    assert raw["hub"] == {"id": "a", "name": "UI"} and "ui" not in raw
    assert [str(e) for e in errors] == [
        "warning: config.yaml:1: hub.name: also set by the web UI in ui/hub.yaml:1; the web UI's value is used"
    ]
    assert raw["sos"].item_position(1) == ("ui/sos.yaml", 1)


def test_ui_block_of_the_wrong_shape_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ui").mkdir()
    (tmp_path / "config.yaml").write_text("hub: {id: a}\nsos:\n  - {id: x}\nui: !include_dir_named ui\n")
    (tmp_path / "ui" / "sos.yaml").write_text("id: y\n")
    _raw, errors = load_config_file(tmp_path / "config.yaml")
    assert [str(e) for e in errors] == [
        "ui/sos.yaml:1: sos: cannot merge with the block in config.yaml:2: one is a list and the other is not"
    ]


def test_secret_text_edits_touch_only_their_entry() -> None:
    text = "# top\na: 1  # one\nb: |\n  multi\n  line\nc: 3\n"
    assert set_secret_text(text, "d", 'q"x') == text + 'd: "q\\"x"\n'
    assert set_secret_text(text, "c", "new") == text.replace("c: 3", 'c: "new"')
    assert remove_secret_text(text, "a") == "# top\nb: |\n  multi\n  line\nc: 3\n"
    assert remove_secret_text(text, "b") == "# top\na: 1  # one\nc: 3\n"
    assert set_secret_text("", "x", "ไทย") == 'x: "ไทย"\n'
    assert set_secret_text("a: 1", "x", "y") == 'a: 1\nx: "y"\n'


async def test_two_admins_saving_at_the_same_moment_one_wins(ui: UIConfig, config_dir: Path) -> None:
    import asyncio

    _items, opened = await ui.list_items("sos")
    results = await asyncio.gather(
        ui.add_item("sos", _button("door"), etag=opened),
        ui.add_item("sos", _button("back"), etag=opened),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ConfigConflict) for r in results) == 1
    items, _etag = await ui.list_items("sos")
    assert len([i for i in items if i["_editable"]]) == 1


async def test_a_config_the_include_line_cannot_extend_is_refused_untouched(tmp_path: Path) -> None:
    """A flow-style config.yaml cannot take an appended line: the check of the result says so."""
    path = tmp_path / "config.yaml"
    path.write_text("{hub: {id: a, name: b}}\n", encoding="utf-8")
    ui = UIConfig(path)
    with pytest.raises(ConfigRejected) as caught:
        await ui.add_item("sos", _button("door"))
    assert caught.value.errors and caught.value.errors[0].startswith("config.yaml:")
    assert path.read_text(encoding="utf-8") == "{hub: {id: a, name: b}}\n"
    assert not (tmp_path / "ui").exists()


async def test_a_password_given_as_a_plain_field_still_goes_to_secrets_yaml(
    ui: UIConfig, config_dir: Path
) -> None:
    await ui.add_item("onvif", {**_camera("front"), "password": "cam-pass-456"})
    ui_text = (config_dir / "ui" / "onvif.yaml").read_text(encoding="utf-8")
    assert "cam-pass-456" not in ui_text and "password: !secret ui_onvif_front_password" in ui_text
    assert 'ui_onvif_front_password: "cam-pass-456"' in (config_dir / "secrets.yaml").read_text(
        encoding="utf-8"
    )
    _items, etag = await ui.list_items("onvif")
    without_id = {k: v for k, v in _camera("front").items() if k != "id"}
    await ui.update_item("onvif", "front", {**without_id, "port": 8082}, etag=etag)  # the id is the item's
    assert load(config_dir / "config.yaml").blocks["onvif"][0].port == 8082
