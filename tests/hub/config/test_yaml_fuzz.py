"""Whatever is in the file, loading reports errors and never raises."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import ConfigError, load_yaml
from hub.config.yaml_loader import INTERNAL_ERROR

# Fragments that reach the loader's interesting paths far more often than
# uniformly random text does: tags, anchors, merges, flow syntax, odd scalars.
# fmt: off
FRAGMENTS = [
    "a:", "b: ", " ", "  ", "\n", "\t", "- ", "? ", ": ", ",", "{", "}", "[", "]", "'", '"', "#", "|", ">",
    "&x ", "*x", "<<: ", "---\n", "...\n", "%YAML 1.1\n",
    "!include ", "!include_dir_list ", "!include_dir_named ", "!include_dir_merge_list ",
    "!include_dir_merge_named ", "!secret ", "!env_var ", "!input ", "!incldue ", "!!set ", "!!omap ",
    "!!binary ", "!!python/tuple ", "!!str ", "!!int ", "!!float ", "!!timestamp ", "!!bool ", "!!null ",
    "config.yaml", "other.yaml", "secrets.yaml", ".", "pw", "HOME", "0x_", "._", "0b_", "2001-13-01",
    "2024-02-30 25:61:00", "1:20", ".inf", "~", "null", "yes", "ตลาด", "\x00", "\x85", "\ufeff",
]
# fmt: on

yamlish = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "secrets.yaml").write_text("pw: fuzz-secret\n", encoding="utf-8")
    (directory / "other.yaml").write_text("- x: !include config.yaml\n", encoding="utf-8")
    return directory


def check(path: Path) -> None:
    errors: list[ConfigError] = []
    load_yaml(path, errors=errors)
    assert all(isinstance(e, ConfigError) for e in errors)
    assert not [e for e in errors if e.message.startswith(INTERNAL_ERROR)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(yamlish, any_text))
def test_text_never_raises(fuzz_dir: Path, text: str) -> None:
    path = fuzz_dir / "config.yaml"
    path.write_text(text, encoding="utf-8")
    check(path)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=100))
def test_bytes_never_raise(fuzz_dir: Path, raw: bytes) -> None:
    path = fuzz_dir / "config.yaml"
    path.write_bytes(raw)
    check(path)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    errors: list[ConfigError] = []
    assert load_yaml(path, errors=errors) is None
    assert [e.message for e in errors] == ["invalid YAML: nested too deeply"]
