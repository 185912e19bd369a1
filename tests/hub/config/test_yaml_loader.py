from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import (
    ConfigError,
    Input,
    NodeDict,
    NodeList,
    NodeStr,
    load_config_file,
    load_yaml,
    position,
    position_of,
    secret_values,
)
from hub.config.secrets import clear_secrets


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the only line of `path` that contains `needle`."""
    lines = [n for n, text in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in text]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def load(path: Path) -> tuple[Any, list[str]]:
    data, errors = load_config_file(path)
    return data, [str(e) for e in errors]


# -- positions ----------------------------------------------------------------


def test_nested_nodes_and_keys_know_their_lines(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        # comment
        hub:
          id: talat-sot-01
          web:
            host: 127.0.0.1
            port: 8123
        onvif:
          - id: market_gate
            owner: {name: เทศบาล, phone: "035-000000"}
        """,
    )
    data, errors = load(cfg)
    assert errors == []
    assert isinstance(data, NodeDict)
    web = data["hub"]["web"]
    assert isinstance(web, NodeDict)
    assert position(web) == ("config.yaml", line_of(cfg, "host:"))
    assert web.key_position("port") == ("config.yaml", line_of(cfg, "port:"))
    assert data.key_position("onvif") == ("config.yaml", line_of(cfg, "onvif:"))
    assert isinstance(data["onvif"], NodeList)
    assert isinstance(data["hub"]["id"], NodeStr)
    assert position(data["hub"]["id"]) == ("config.yaml", line_of(cfg, "id: talat"))
    assert position(8123) is None  # scalars carry nothing, hence key positions


def test_position_of_walks_a_loc(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        hub:
          web:
            host: 127.0.0.1
            port: 8123
        light:
          - {id: gate_lamp, zigbee2mqtt: gate_lamp}
          - id: soi_lamp
            brightness: 50
        ports: [1, 2,
          3]
        """,
    )
    data, errors = load(cfg)
    assert errors == []
    # A scalar value: its key's line.
    assert position_of(data, ("hub", "web", "port")) == ("config.yaml", line_of(cfg, "port:"))
    # A mapping: its own line (the first key of a block mapping).
    assert position_of(data, ("light", 1)) == ("config.yaml", line_of(cfg, "id: soi_lamp"))
    assert position_of(data, ("light", 1, "brightness")) == ("config.yaml", line_of(cfg, "brightness"))
    # A scalar list item: the item's own line.
    assert position_of(data, ("ports", 2)) == ("config.yaml", line_of(cfg, "3]"))
    # A missing key: the mapping that should hold it.
    assert position_of(data, ("light", 0, "name")) == ("config.yaml", line_of(cfg, "gate_lamp}"))
    assert position_of(data, ("hub", "nope", "deeper")) == ("config.yaml", line_of(cfg, "web:"))
    # An index past the end: the list itself.
    assert position_of(data, ("light", 7)) == ("config.yaml", line_of(cfg, "gate_lamp}"))


# -- files and includes -------------------------------------------------------


def test_missing_top_level_file(tmp_path: Path) -> None:
    data, errors = load_config_file(tmp_path / "config.yaml")
    assert data is None
    assert errors == [ConfigError("config.yaml", None, "", "file not found")]


def test_error_in_included_file_names_that_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "hub: {id: a}\nonvif: !include cameras/onvif.yaml\n")
    inc = write(
        tmp_path,
        "cameras/onvif.yaml",
        """
        - id: gate
          password: !secret cam_pw
        """,
    )
    data, errors = load(tmp_path / "config.yaml")
    assert errors == [
        f"cameras/onvif.yaml:{line_of(inc, 'password')}: onvif[0].password: "
        "secret 'cam_pw' not found: secrets.yaml does not exist"
    ]
    assert data["onvif"][0]["id"] == "gate"
    assert position(data["onvif"][0]) == ("cameras/onvif.yaml", 1)


def test_missing_include_is_reported_at_the_tag(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: 1\nonvif: !include nope.yaml\nb: 2\n")
    data, errors = load(cfg)
    assert errors == ["config.yaml:2: onvif: included file not found: nope.yaml"]
    assert data == {"a": 1, "onvif": None, "b": 2}


def test_include_loop_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "hub: {id: a}\nmore: !include b.yaml\n")
    b = write(tmp_path, "b.yaml", "x: 1\nback: !include config.yaml\n")
    data, errors = load(tmp_path / "config.yaml")
    assert errors == [
        f"b.yaml:{line_of(b, 'back')}: more.back: include loop: config.yaml -> b.yaml -> config.yaml"
    ]
    assert data["more"] == {"x": 1, "back": None}


def test_self_include_is_a_loop(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "me: !include config.yaml\n")
    _, errors = load(cfg)
    assert errors == ["config.yaml:1: me: include loop: config.yaml -> config.yaml"]


def test_include_dir_list_is_sorted_and_skips_hidden_and_secrets(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "automation: !include_dir_list automations\n")
    write(tmp_path, "automations/b.yaml", "id: b\n")
    write(tmp_path, "automations/a.yaml", "id: a\n")
    write(tmp_path, "automations/c/z.yaml", "id: c-z\n")
    write(tmp_path, "automations/10.yaml", "id: ten\n")
    write(tmp_path, "automations/.hidden.yaml", "id: hidden\n")
    write(tmp_path, "automations/secrets.yaml", "pw: x\n")
    write(tmp_path, "automations/notes.txt", "not yaml\n")
    data, errors = load(tmp_path / "config.yaml")
    assert errors == []
    assert [item["id"] for item in data["automation"]] == ["ten", "a", "b", "c-z"]
    assert position_of(data, ("automation", 3, "id")) == ("automations/c/z.yaml", 1)


def test_include_dir_named_and_merge_list(tmp_path: Path) -> None:
    write(
        tmp_path,
        "config.yaml",
        """
        groups: !include_dir_named groups
        sos: !include_dir_merge_list sos
        missing: !include_dir_list nowhere
        """,
    )
    write(tmp_path, "groups/big6.yaml", "C0123\n")
    write(tmp_path, "groups/eyes.yaml", "C4567\n")
    write(tmp_path, "sos/a.yaml", "- {id: one}\n- {id: two}\n")
    write(tmp_path, "sos/b.yaml", "- {id: three}\n")
    write(tmp_path, "sos/c.yaml", "id: not-a-list\n")
    write(tmp_path, "sos/empty.yaml", "")
    data, errors = load(tmp_path / "config.yaml")
    assert data["groups"] == {"big6": "C0123", "eyes": "C4567"}
    assert [item["id"] for item in data["sos"]] == ["one", "two", "three"]
    assert position_of(data, ("sos", 2)) == ("sos/b.yaml", 1)
    assert errors == [
        "sos/c.yaml:1: sos: expected a list to merge",
        "config.yaml:3: missing: directory not found: nowhere",
    ]


def test_include_dir_merge_list_numbers_errors_in_merged_order(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "sos: !include_dir_merge_list sos\n")
    write(tmp_path, "sos/a.yaml", "- {id: one}\n- {id: two}\n")
    write(tmp_path, "sos/b.yaml", "- {id: three, pw: !secret nope}\n")
    _, errors = load(tmp_path / "config.yaml")
    assert errors == ["sos/b.yaml:1: sos[2].pw: secret 'nope' not found: secrets.yaml does not exist"]


# -- secrets, env vars, inputs ------------------------------------------------


def test_secrets_resolve_and_are_registered(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        mqtt: {username: hub, password: !secret mqtt_password}
        sia: {port: 7777, accounts: [{account: "1A2B", key: !secret sia_key}]}
        pin: !secret alarm_pin
        """,
    )
    write(tmp_path, "secrets.yaml", "mqtt_password: s3cret-pw\nsia_key: AAAABBBBCCCCDDDD\nalarm_pin: 4711\n")
    data, errors = load(cfg)
    assert errors == []
    assert data["mqtt"]["password"] == "s3cret-pw"
    # The value is positioned where it is *used*, so validation errors point there.
    assert position(data["mqtt"]["password"]) == ("config.yaml", 1)
    assert data["pin"] == 4711
    assert secret_values() == {"s3cret-pw", "AAAABBBBCCCCDDDD", "4711"}


def test_missing_secret_is_reported_and_loading_goes_on(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        line:
          channel_access_token: !secret line_token
          channel_secret: !secret line_secret
        """,
    )
    write(tmp_path, "secrets.yaml", "line_token: tok-123456\n")
    data, errors = load(cfg)
    assert errors == [
        f"config.yaml:{line_of(cfg, 'channel_secret')}: line.channel_secret: "
        "secret 'line_secret' not found in secrets.yaml"
    ]
    assert data["line"] == {"channel_access_token": "tok-123456", "channel_secret": None}


def test_secrets_come_from_the_top_level_directory_only(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "sub: !include sub/part.yaml\n")
    write(tmp_path, "sub/part.yaml", "pw: !secret pw\n")
    write(tmp_path, "sub/secrets.yaml", "pw: not-this-one\n")
    write(tmp_path, "secrets.yaml", "pw: this-one\n")
    data, errors = load(tmp_path / "config.yaml")
    assert errors == []
    assert data["sub"]["pw"] == "this-one"


def test_secrets_path_can_be_given(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "pw: !secret pw\n")
    other = write(tmp_path, "vault/secrets.yaml", "pw: elsewhere\n")
    errors: list[ConfigError] = []
    assert load_yaml(cfg, errors=errors, secrets_path=other) == {"pw": "elsewhere"}
    assert errors == []


def test_broken_secrets_file_is_one_error(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: !secret a\nb: !secret b\n")
    write(tmp_path, "secrets.yaml", "- just\n- a list\n")
    data, errors = load(cfg)
    assert data == {"a": None, "b": None}
    assert errors == ["secrets.yaml:1: expected a mapping of names to values"]


def test_env_var_with_and_without_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TEST_HOST", "10.0.0.5")
    monkeypatch.delenv("HUB_TEST_UNSET", raising=False)
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        host: !env_var HUB_TEST_HOST 127.0.0.1
        port: !env_var HUB_TEST_UNSET 8123
        label: !env_var HUB_TEST_UNSET ตลาด สด
        token: !env_var HUB_TEST_UNSET
        """,
    )
    data, errors = load(cfg)
    assert data == {"host": "10.0.0.5", "port": "8123", "label": "ตลาด สด", "token": None}
    assert errors == [
        f"config.yaml:{line_of(cfg, 'token')}: token: environment variable 'HUB_TEST_UNSET' is not set"
    ]


def test_input_tag_stays_an_object(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "sos_alert.yaml",
        """
        blueprint: {name: SOS, domain: automation}
        triggers:
          - {trigger: state, entity_id: !input sos_button}
        """,
    )
    data, errors = load(cfg)
    assert errors == []
    assert data["triggers"][0]["entity_id"] == Input("sos_button")


# -- bad YAML -----------------------------------------------------------------


def test_malformed_yaml_reports_the_problem_line(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "hub:\n  id: a\n  name: b\n\tport: 1\n")
    data, errors = load_config_file(cfg)
    assert data is None
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("config.yaml", 4)
    assert errors[0].message.startswith("invalid YAML:")


def test_malformed_included_file_does_not_hide_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "a: !include bad.yaml\nb: !secret nope\n")
    write(tmp_path, "bad.yaml", "x: [1, 2\ny: 3\n")  # the unclosed list runs into line 2
    data, errors = load_config_file(tmp_path / "config.yaml")
    assert data == {"a": None, "b": None}
    assert [(e.file, e.line) for e in errors] == [("bad.yaml", 2), ("config.yaml", 2)]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        hub:
          id: first
          name: x
          id: second
        """,
    )
    data, errors = load(cfg)
    assert errors == ["config.yaml:4: hub: duplicate key 'id'"]
    assert data["hub"]["id"] == "first"


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "config.yaml",
        """
        defaults: &cam {port: 80, username: admin}
        onvif:
          - {<<: *cam, id: gate, port: 8080}
        """,
    )
    data, errors = load(cfg)
    assert errors == []
    assert data["onvif"][0] == {"port": 8080, "username": "admin", "id": "gate"}


def test_unknown_tag_is_an_error_not_a_crash(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: !incldue x.yaml\nb: 2\n")
    data, errors = load(cfg)
    assert data == {"a": None, "b": 2}
    assert errors == ["config.yaml:1: a: unknown tag '!incldue'"]


def test_plain_scalars_pyyaml_cannot_build_stay_strings(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: [0x_, ._, 2001-13-01, 0b_, 12]\nb: !!int ''\nc: !!bool maybe\n")
    data, errors = load(cfg)
    assert data == {"a": ["0x_", "._", "2001-13-01", "0b_", 12], "b": None, "c": None}
    # An explicit tag on text it cannot convert is the user's mistake, though.
    assert errors == [
        "config.yaml:2: b: cannot read '' as !!int",
        "config.yaml:3: c: cannot read 'maybe' as !!bool",
    ]


def test_invalid_utf8_reports_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(b"a: 1\nb: \xff\xfe\n")
    data, errors = load(cfg)
    assert data is None
    assert errors == ["config.yaml:2: file is not valid UTF-8"]


def test_thai_text_round_trips(tmp_path: Path) -> None:
    name = "ร้านทองกำแพง ปุ่ม SOS ประตูตลาด ตาสับปะรด"
    cfg = write(tmp_path, "config.yaml", f"hub: {{id: kamphaeng-gold-01, name: {name}}}\n# ศูนย์ CCOC\n")
    write(tmp_path, "ชื่อ.yaml", "สวัสดี: ครับ\n")
    cfg.write_text(cfg.read_text("utf-8") + "extra: !include ชื่อ.yaml\n", encoding="utf-8")
    data, errors = load(cfg)
    assert errors == []
    assert data["hub"]["name"] == name
    assert data["extra"] == {"สวัสดี": "ครับ"}
    assert position_of(data, ("extra", "สวัสดี")) == ("ชื่อ.yaml", 1)


def test_secrets_file_edge_cases(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: !secret a\n")
    write(tmp_path, "secrets.yaml", "")
    _, errors = load(cfg)
    assert errors == ["config.yaml:1: a: secret 'a' not found in secrets.yaml"]

    write(tmp_path, "secrets.yaml", "a: !secret b\nb: x\n")
    _, errors = load(cfg)
    assert errors == ["secrets.yaml:1: a: !secret cannot be used inside secrets.yaml or files it includes"]


def test_include_dir_merge_named_reports_clashing_keys(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "line_groups: !include_dir_merge_named groups\n")
    write(tmp_path, "groups/a.yaml", "big6: C01\neyes: C02\n")
    write(tmp_path, "groups/b.yaml", "patrol: C03\nbig6: C04\n")
    data, errors = load(tmp_path / "config.yaml")
    assert data["line_groups"] == {"big6": "C01", "eyes": "C02", "patrol": "C03"}
    assert errors == ["groups/b.yaml:2: line_groups.big6: duplicate key 'big6'"]
    assert position_of(data, ("line_groups", "patrol")) == ("groups/b.yaml", 1)


def test_tag_arguments_must_be_plain_text(tmp_path: Path) -> None:
    cfg = write(tmp_path, "config.yaml", "a: !include [x.yaml]\nb: !secret\nc: !input {}\n")
    data, errors = load(cfg)
    assert data == {"a": None, "b": None, "c": None}
    assert errors == [
        "config.yaml:1: a: !include needs a file name",
        "config.yaml:2: b: !secret needs a secret name",
        "config.yaml:3: c: !input needs an input name",
    ]


def test_files_outside_the_config_dir_are_named_by_file_name(tmp_path: Path) -> None:
    write(tmp_path, "shared/cams.yaml", "- id: x\n  pw: !secret nope\n")
    cfg = write(tmp_path, "site/config.yaml", "onvif: !include ../shared/cams.yaml\n")
    _, errors = load(cfg)
    assert errors == ["cams.yaml:2: onvif[0].pw: secret 'nope' not found: secrets.yaml does not exist"]
