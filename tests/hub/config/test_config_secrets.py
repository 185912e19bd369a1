from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import RedactSecretsFilter, load_config_file, redact, register_secret, secret_values
from hub.config.secrets import clear_secrets


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.hub.config.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_redact_masks_registered_values() -> None:
    register_secret("hunter22")
    register_secret("hunter22-longer")
    register_secret("pin")  # too short to mask safely
    assert secret_values() == {"hunter22", "hunter22-longer", "pin"}
    assert redact("a hunter22-longer and hunter22, pin") == "a *** and ***, pin"


def test_redact_without_secrets_is_identity() -> None:
    assert redact("nothing to hide") == "nothing to hide"


def test_secrets_yaml_values_are_redacted_from_logs(
    tmp_path: Path, log: tuple[logging.Logger, io.StringIO]
) -> None:
    (tmp_path / "config.yaml").write_text(
        "mqtt: {broker: mqtt://127.0.0.1:1883, password: !secret mqtt_password}\n"
        "line: {channel_secret: !secret line_secret}\n",
        encoding="utf-8",
    )
    (tmp_path / "secrets.yaml").write_text(
        "mqtt_password: p@ss.w0rd*\nline_secret: ความลับ1234\nunused: never-loaded\n", encoding="utf-8"
    )
    data, errors = load_config_file(tmp_path / "config.yaml")
    assert errors == []
    assert secret_values() == {"p@ss.w0rd*", "ความลับ1234"}

    logger, stream = log
    password = data["mqtt"]["password"]
    logger.info("connecting to %s with password %s", data["mqtt"]["broker"], password)
    logger.warning(f"secret in the format string: {data['line']['channel_secret']}")
    logger.debug("in a dict arg: %s", {"password": password})
    assert stream.getvalue().splitlines() == [
        "INFO connecting to mqtt://127.0.0.1:1883 with password ***",
        "WARNING secret in the format string: ***",
        "DEBUG in a dict arg: {'password': '***'}",
    ]


def test_exception_text_is_redacted(log: tuple[logging.Logger, io.StringIO]) -> None:
    register_secret("tok-9f8e7d")
    logger, stream = log
    try:
        raise RuntimeError("login failed for token tok-9f8e7d")
    except RuntimeError:
        logger.exception("LINE push failed")
    output = stream.getvalue()
    assert "tok-9f8e7d" not in output
    assert "RuntimeError: login failed for token ***" in output


def test_filter_keeps_records_with_bad_format_args() -> None:
    register_secret("hunter22")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pw=%s %d", ("hunter22", "nan"), None)
    assert RedactSecretsFilter().filter(record) is True
    assert record.args == ("***", "nan")
