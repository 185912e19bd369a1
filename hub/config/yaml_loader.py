"""Load config YAML with positions, Home Assistant's tags, and collected errors.

Tags: ``!include FILE``, ``!include_dir_list DIR``, ``!include_dir_named DIR``,
``!include_dir_merge_list DIR``, ``!include_dir_merge_named DIR``,
``!secret NAME``, ``!env_var NAME [DEFAULT]`` and ``!input NAME`` (see
`hub.config.yaml_tags`).

Nothing here raises for bad input.  Every problem (bad syntax, missing file,
include loop, unknown secret...) becomes one `ConfigError` in the caller's
list and the faulty value becomes None, so `safetyhub check` can report all
problems in one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import ReaderError

from hub.config.errors import ConfigError, format_path
from hub.config.nodes import Input, Loc, NodeDict, NodeList, NodeStr, position, position_of
from hub.config.yaml_tags import (
    EXAMPLE_SECRETS_FILE,
    SECRETS_FILE,
    HubLoader,
    absolute,
    is_config_yaml,
    yaml_files,
)

__all__ = (
    "INTERNAL_ERROR",
    "SECRETS_FILE",
    "Input",
    "LoadSession",
    "NodeDict",
    "NodeList",
    "NodeStr",
    "load_config_file",
    "load_yaml",
    "position",
    "position_of",
)

# Marks an error as a bug in this package rather than in the user's file; the
# fuzz test asserts that it never appears.
INTERNAL_ERROR = "internal error while loading"


@dataclass
class LoadSession:
    """State shared by every file loaded for one top-level `load_yaml` call.

    Internal: the loader reaches files, errors and secrets only through this.
    """

    errors: list[ConfigError]
    config_dir: Path
    secrets_path: Path
    secrets: dict[Any, Any] | None = None
    secrets_state: str = "unloaded"  # unloaded | loading | missing | broken | ok
    #: Absolute path -> the text that file *would* have: the web UI's writer validates a
    #: change exactly as it will load, before any byte of it is saved.
    overlay: Mapping[Path, bytes] = field(default_factory=dict)

    def read_bytes(self, path: Path) -> bytes:
        if path in self.overlay:
            return self.overlay[path]
        return path.read_bytes()

    def is_file(self, path: Path) -> bool:
        return path in self.overlay or path.is_file()

    def is_dir(self, path: Path) -> bool:
        return path.is_dir() or any(path in staged.parents for staged in self.overlay)

    def yaml_files(self, directory: Path) -> list[Path]:
        """*.yaml files below `directory` (staged ones included), sorted, skipping hidden names and secrets."""
        found = set(yaml_files(directory)) if directory.is_dir() else set()
        found.update(p for p in self.overlay if directory in p.parents and is_config_yaml(p, directory))
        return sorted(found, key=lambda p: p.relative_to(directory).parts)

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.config_dir).as_posix()
        except ValueError:
            return path.name

    def error(self, file: str, line: int | None, loc: Loc, message: str) -> None:
        self.errors.append(ConfigError(file, line, format_path(loc), message))

    def load_file(self, path: Path, *, stack: tuple[Path, ...], loc: Loc, index_offset: int = 0) -> Any:
        return _load_file(self, path, stack=stack, loc=loc, index_offset=index_offset)

    def load_secrets(self) -> dict[Any, Any] | None:
        """Load secrets.yaml once, on the first `!secret`."""
        if self.secrets_state == "unloaded":
            if not self.is_file(self.secrets_path):
                self.secrets_state = "missing"
            else:
                self.secrets_state = "loading"
                before = len(self.errors)
                data = self.load_file(self.secrets_path, stack=(), loc=())
                if data is None and len(self.errors) == before:
                    data = {}  # an empty secrets.yaml is an empty mapping
                if isinstance(data, dict):
                    self.secrets, self.secrets_state = data, "ok"
                else:
                    self.secrets_state = "broken"
                    if len(self.errors) == before:  # parsed, but not a mapping
                        line = (position(data) or ("", None))[1]
                        self.error(
                            self.display(self.secrets_path), line, (), "expected a mapping of names to values"
                        )
        return self.secrets


def _syntax_error(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"
    if exc.context and exc.problem:
        context_mark = exc.context_mark
        if context_mark is not None and mark is not None and context_mark.line != mark.line:
            # e.g. "could not find expected ':'" is found a line after the
            # culprit; point the user at both.
            message += f" ({exc.context} at line {context_mark.line + 1})"
        else:
            message += f" ({exc.context})"
    return (None if mark is None else mark.line + 1, message)


def _load_file(
    session: LoadSession,
    path: Path,
    *,
    stack: tuple[Path, ...],
    loc: Loc,
    index_offset: int = 0,
) -> Any:
    """Load one file; its problems go to `session.errors` and its value may be None."""
    file = session.display(path)
    try:
        raw = session.read_bytes(path)
    except FileNotFoundError:
        session.error(file, None, (), "file not found")
        return None
    except OSError as exc:
        session.error(file, None, (), f"cannot read file: {exc.strerror or exc}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        session.error(file, raw.count(b"\n", 0, exc.start) + 1, (), "file is not valid UTF-8")
        return None

    loader: HubLoader | None = None
    try:
        # The reader checks the whole text for unprintable characters while
        # the loader is created, so creation belongs inside the try.
        loader = HubLoader(text, session, path, stack=(*stack, path), loc=loc, index_offset=index_offset)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line, message = _syntax_error(exc)
        session.error(file, line, (), message)
    except ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text.count("\n", 0, exc.position) + 1
        session.error(file, line, (), f"invalid YAML: character #x{code:04x} is not allowed ({exc.reason})")
    except yaml.YAMLError as exc:
        session.error(file, None, (), f"invalid YAML: {exc}")
    except RecursionError:
        session.error(file, None, (), "invalid YAML: nested too deeply")
    except (ValueError, TypeError, LookupError, OverflowError) as exc:
        # Last line of defence: `check` must report, never crash.
        session.error(file, None, (), f"{INTERNAL_ERROR}: {exc!r}")
    finally:
        if loader is not None:
            loader.dispose()
    return None


def load_yaml(
    path: Path,
    *,
    errors: list[ConfigError],
    secrets_path: Path | None = None,
    config_dir: Path | None = None,
    overlay: Mapping[Path, bytes] | None = None,
) -> Any:
    """Load `path` and everything it includes; append each problem to `errors`.

    Mappings, sequences and strings come back as `NodeDict`, `NodeList` and
    `NodeStr`.  `!secret` reads `secrets_path` (default: secrets.yaml next to
    `path`; for an example config ``*.example.yaml``, secrets.example.yaml, so
    the shipped example checks clean without anyone's real secrets).  File names in errors are relative to `config_dir` (default: the
    directory of `path`), or bare names for files outside it.  `overlay` maps absolute
    paths to the text they are read as instead of the disk's (files not yet written).
    """
    path = absolute(Path(path))
    if secrets_path is None:
        name = EXAMPLE_SECRETS_FILE if path.name.endswith(".example.yaml") else SECRETS_FILE
        secrets_path = path.parent / name
    session = LoadSession(
        errors=errors,
        config_dir=path.parent if config_dir is None else absolute(Path(config_dir)),
        secrets_path=absolute(Path(secrets_path)),
        overlay={absolute(Path(p)): text for p, text in (overlay or {}).items()},
    )
    return _load_file(session, path, stack=(), loc=())


def load_config_file(
    path: Path | str, *, overlay: Mapping[Path, bytes] | None = None
) -> tuple[Any, list[ConfigError]]:
    """Load a top-level config file; return its data and all problems found.

    The blocks the web UI wrote (``ui: !include_dir_named ui``) are merged into the
    hand-written ones here, so every reader (run, check, reload) sees one config; the
    rule is in `hub.config.ui_merge`.  Problems may include `ConfigWarning`s.
    """
    from hub.config.ui_merge import merge_ui_blocks

    errors: list[ConfigError] = []
    raw = load_yaml(Path(path), errors=errors, overlay=overlay)
    return merge_ui_blocks(raw, errors), errors
