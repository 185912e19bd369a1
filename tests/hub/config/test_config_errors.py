from __future__ import annotations

import pytest

from hub.config import ConfigError, ConfigInvalid, format_path


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("onvif", 0, "port"), "onvif[0].port"),
        (("hub", "web", "port"), "hub.web.port"),
        ((0, "id"), "[0].id"),
        (("sos", 2, 1), "sos[2][1]"),
        ((), ""),
    ],
)
def test_format_path(loc: tuple[str | int, ...], expected: str) -> None:
    assert format_path(loc) == expected


def test_str_has_file_line_path_and_message() -> None:
    error = ConfigError("config.yaml", 14, "onvif[0].port", "expected integer")
    assert str(error) == "config.yaml:14: onvif[0].port: expected integer"


def test_str_without_line_or_path() -> None:
    assert str(ConfigError("config.yaml", None, "", "file not found")) == "config.yaml: file not found"
    assert str(ConfigError("cams/a.yaml", 3, "", "invalid YAML")) == "cams/a.yaml:3: invalid YAML"
    assert str(ConfigError("config.yaml", None, "hub.id", "required key missing")) == (
        "config.yaml: hub.id: required key missing"
    )


def test_config_invalid_keeps_every_error() -> None:
    errors = [
        ConfigError("config.yaml", 2, "hub.id", "required key missing"),
        ConfigError("config.yaml", 9, "onvif[0].port", "expected integer"),
    ]
    exc = ConfigInvalid(errors)
    assert exc.errors == errors
    assert str(exc).splitlines() == [str(e) for e in errors]
