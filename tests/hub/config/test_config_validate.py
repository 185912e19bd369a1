from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, Field

from hub.config import BlockModel, errors_from_validation, load_config_file, validate_block


class Owner(BlockModel):
    name: str
    phone: str | None = None


class Camera(BlockModel):
    id: str
    host: str
    port: int = 80
    share: Literal["never", "on_alarm", "always"] = "never"
    owner: Owner | None = None


class Mqtt(BlockModel):
    broker: str
    username: str | None = None
    password: str | None = None
    keepalive: Annotated[int, AfterValidator(lambda v: v)] | None = None


class MqttButton(BlockModel):
    kind: Literal["mqtt"]
    topic: str


class SiaButton(BlockModel):
    kind: Literal["sia"]
    account: str


Button = Annotated[MqttButton | SiaButton, Field(discriminator="kind")]


def load(tmp_path: Path, text: str, name: str = "config.yaml") -> tuple[Any, Path]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    data, errors = load_config_file(path)
    assert errors == []
    return data, path


def line_of(path: Path, needle: str) -> int:
    lines = [n for n, text in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in text]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def messages(model: Any, root: Any, key: str) -> list[str]:
    value, errors = validate_block(model, root[key], root, (key,), "config.yaml")
    assert value is None
    return [str(e) for e in errors]


def test_valid_block_returns_the_model(tmp_path: Path) -> None:
    root, _ = load(tmp_path, "mqtt: {broker: mqtt://127.0.0.1:1883, username: hub}\n")
    value, errors = validate_block(Mqtt, root["mqtt"], root, ("mqtt",), "config.yaml")
    assert errors == []
    assert value == Mqtt(broker="mqtt://127.0.0.1:1883", username="hub")
    assert type(value.broker) is str  # no loader node types leak into models


def test_wrong_type_in_a_list_of_models(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        onvif:
          - {id: market_gate, host: 127.0.0.1, port: 8080}
          - id: back_door
            host: 127.0.0.2
            port: eighty
        """,
    )
    assert messages(list[Camera], root, "onvif") == [
        f"config.yaml:{line_of(cfg, 'port: eighty')}: onvif[1].port: expected integer"
    ]


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        onvif:
          - id: gate
            host: 127.0.0.1
            pasword: typo
        """,
    )
    assert messages(list[Camera], root, "onvif") == [
        f"config.yaml:{line_of(cfg, 'pasword')}: onvif[0].pasword: unknown key"
    ]


def test_missing_key_points_at_the_mapping(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        onvif:
          - id: gate
            owner:
              phone: "035-000000"
        """,
    )
    assert messages(list[Camera], root, "onvif") == [
        f"config.yaml:{line_of(cfg, 'id: gate')}: onvif[0].host: required key missing",
        f"config.yaml:{line_of(cfg, 'phone')}: onvif[0].owner.name: required key missing",
    ]


def test_literal_and_mapping_messages(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        onvif:
          - {id: gate, host: h, share: sometimes}
          - just-a-string
        mqtt: [not, a, mapping]
        """,
    )
    assert messages(list[Camera], root, "onvif") == [
        f"config.yaml:{line_of(cfg, 'sometimes')}: onvif[0].share: expected one of: never, on_alarm, always",
        f"config.yaml:{line_of(cfg, 'just-a-string')}: onvif[1]: expected a mapping",
    ]
    assert messages(Mqtt, root, "mqtt") == [f"config.yaml:{line_of(cfg, 'mqtt')}: mqtt: expected a mapping"]
    assert messages(list[Camera], {"onvif": {"id": "x"}}, "onvif") == ["config.yaml: onvif: expected a list"]


def test_union_tags_do_not_leak_into_paths(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        mqtt: {broker: b, keepalive: soon}
        sos:
          - {kind: sia, account: 1234}
          - {kind: mqtt}
        """,
    )
    assert messages(Mqtt, root, "mqtt") == [
        f"config.yaml:{line_of(cfg, 'keepalive')}: mqtt.keepalive: expected integer"
    ]
    assert messages(list[Button], root, "sos") == [
        f"config.yaml:{line_of(cfg, 'kind: sia')}: sos[0].account: expected string",
        f"config.yaml:{line_of(cfg, 'kind: mqtt')}: sos[1].topic: required key missing",
    ]


def test_errors_in_an_included_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "cameras.yaml").write_text("- id: gate\n  host: 127.0.0.1\n  port: '80x'\n", encoding="utf-8")
    root, _ = load(tmp_path, "onvif: !include cameras.yaml\n")
    assert messages(list[Camera], root, "onvif") == ["cameras.yaml:3: onvif[0].port: expected integer"]


def test_errors_from_validation_with_a_prefix(tmp_path: Path) -> None:
    root, cfg = load(
        tmp_path,
        """
        line:
          groups:
            big6: {id: C0123}
            eyes: {id: 42}
        """,
    )

    class Group(BlockModel):
        id: str

    try:
        pydantic.TypeAdapter(dict[str, Group]).validate_python(root["line"]["groups"])
    except pydantic.ValidationError as exc:
        errors = errors_from_validation(exc, root, ("line", "groups"), "config.yaml")
    assert [str(e) for e in errors] == [
        f"config.yaml:{line_of(cfg, 'eyes')}: line.groups.eyes.id: expected string"
    ]


def test_custom_validator_message(tmp_path: Path) -> None:
    class Ranged(BlockModel):
        flash_seconds: int = Field(ge=1, le=600)

    root, cfg = load(tmp_path, "light:\n  flash_seconds: 0\n")
    assert messages(Ranged, root, "light") == [
        f"config.yaml:{line_of(cfg, 'flash')}: light.flash_seconds: must be at least 1"
    ]
