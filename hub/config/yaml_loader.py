"""Load config YAML with positions, Home Assistant's tags, and collected errors.

Tags: ``!include FILE``, ``!include_dir_list DIR``, ``!include_dir_named DIR``,
``!include_dir_merge_list DIR``, ``!include_dir_merge_named DIR``,
``!secret NAME``, ``!env_var NAME [DEFAULT]`` and ``!input NAME``.

Nothing here raises for bad input.  Every problem (bad syntax, missing file,
include loop, unknown secret...) becomes one `ConfigError` in the caller's
list and the faulty value becomes None, so `safetyhub check` can report all
problems in one run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from hub.config.errors import ConfigError, format_path
from hub.config.nodes import (
    Input,
    Loc,
    NodeDict,
    NodeList,
    NodeStr,
    position,
    position_of,
    stamp,
)
from hub.config.secrets import register_secret

__all__ = (
    "SECRETS_FILE",
    "Input",
    "NodeDict",
    "NodeList",
    "NodeStr",
    "load_config_file",
    "load_yaml",
    "position",
    "position_of",
)

SECRETS_FILE = "secrets.yaml"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Marks an error as a bug in this module rather than in the user's file; the
# fuzz test asserts that it never appears.
INTERNAL_ERROR = "internal error while loading"


def _absolute(path: Path) -> Path:
    # abspath (not resolve) keeps symlinked names as the user wrote them.
    return Path(os.path.abspath(path))


@dataclass
class _Session:
    """State shared by every file loaded for one top-level `load_yaml` call."""

    errors: list[ConfigError]
    config_dir: Path
    secrets_path: Path
    secrets: dict[Any, Any] | None = None
    secrets_state: str = "unloaded"  # unloaded | missing | broken | ok

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.config_dir).as_posix()
        except ValueError:
            return path.name

    def error(self, file: str, line: int | None, loc: Loc, message: str) -> None:
        self.errors.append(ConfigError(file, line, format_path(loc), message))

    def load_secrets(self) -> dict[Any, Any] | None:
        """Load secrets.yaml once, on the first `!secret`."""
        if self.secrets_state == "unloaded":
            if not self.secrets_path.is_file():
                self.secrets_state = "missing"
            else:
                before = len(self.errors)
                data = _load_file(self, self.secrets_path, stack=(), loc=())
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


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _lenient(strict: Callable[[Any, ScalarNode], Any]) -> Callable[[_HubLoader, ScalarNode], Any]:
    """Wrap a PyYAML scalar constructor so that it cannot crash the load.

    PyYAML's resolver accepts texts that its own constructors then reject
    (``0x_``, ``._``, ``2001-13-01`` raise ValueError).  Such plain scalars only
    looked like numbers or dates, so they are kept as strings; validation
    complains if a number was wanted.  An explicit tag on text it cannot
    convert (``!!int ''``, ``!!bool maybe``) is the user's mistake: reported.
    """

    def construct(loader: _HubLoader, node: ScalarNode) -> Any:
        try:
            return strict(loader, node)
        except (ValueError, OverflowError, LookupError, AttributeError):
            if loader.resolve(ScalarNode, node.value, (True, False)) == node.tag:
                return loader.node_str(str(node.value), node)
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            loader.report(node, f"cannot read {node.value!r} as {tag}")
            return None

    return construct


def _yaml_files(directory: Path) -> list[Path]:
    """*.yaml files below `directory`, sorted, skipping hidden names and secrets."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root, name)
            for name in sorted(files)
            if name.endswith(".yaml") and not name.startswith(".") and name != SECRETS_FILE
        )
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


class _HubLoader(yaml.SafeLoader):
    """A SafeLoader for one file; constructors are registered below the class."""

    def __init__(
        self,
        text: str,
        session: _Session,
        path: Path,
        *,
        stack: tuple[Path, ...],
        loc: Loc,
        index_offset: int,
    ) -> None:
        super().__init__(text)
        self.session = session
        self.path = path
        self.file = session.display(path)
        self.stack = stack  # files being loaded (absolute), outermost first, this one last
        # The key path of the node being built, so that errors found while
        # loading (missing secret, duplicate key) can name it.
        self.loc: list[str | int] = list(loc)
        # !include_dir_merge_list appends this file's items after earlier files'.
        self._index_offset = index_offset
        self._root: Node | None = None

    # -- helpers -------------------------------------------------------------

    def report(self, node: Node, message: str, loc: Loc | None = None) -> None:
        self.session.error(self.file, _line(node), tuple(self.loc) if loc is None else loc, message)

    def node_str(self, value: str, node: Node) -> NodeStr:
        text = NodeStr(value)
        stamp(text, self.file, _line(node))
        return text

    def scalar_arg(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode) and str(node.value).strip():
            return str(node.value).strip()
        self.report(node, f"{node.tag} needs {what}")
        return None

    def construct_document(self, node: Node) -> Any:
        self._root = node
        return super().construct_document(node)

    def _construct_child(self, node: Node, part: str | int) -> Any:
        self.loc.append(part)
        try:
            return self.construct_object(node, deep=True)
        finally:
            self.loc.pop()

    # -- core node types -----------------------------------------------------

    def construct_node_dict(self, node: MappingNode) -> NodeDict:
        own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
        self.flatten_mapping(node)
        # flatten_mapping puts `<<:` merged pairs first, then the mapping's own
        # pairs.  Own keys may override merged ones (that is what merges are
        # for); only an own key written twice is a duplicate.
        merged = len(node.value) - own
        data = NodeDict()
        stamp(data, self.file, _line(node))
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, NodeStr):
                key = str(key)
            try:
                hash(key)
            except TypeError:
                self.report(key_node, "a mapping key must be a single value, not a list or mapping")
                continue
            if index >= merged:
                if key in own_keys:
                    self.report(key_node, f"duplicate key '{key}'")
                    continue
                own_keys.add(key)
            part = key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)
            data[key] = self._construct_child(value_node, part)
            data.set_key_position(key, (self.file, _line(key_node)))
        return data

    def construct_node_list(self, node: SequenceNode) -> NodeList:
        offset = self._index_offset if node is self._root else 0
        data = NodeList()
        stamp(data, self.file, _line(node))
        for index, item_node in enumerate(node.value):
            data.append(self._construct_child(item_node, offset + index))
            data.set_item_position(index, (self.file, _line(item_node)))
        return data

    def construct_node_str(self, node: ScalarNode) -> NodeStr:
        return self.node_str(self.construct_scalar(node), node)

    def construct_unknown(self, node: Node) -> None:
        self.report(node, f"unknown tag '{node.tag}'")

    # -- includes ------------------------------------------------------------

    def _load_included(self, target: Path, node: Node, loc: Loc, index_offset: int = 0) -> Any:
        target = _absolute(target)
        if not target.is_file():
            self.report(node, f"included file not found: {self.session.display(target)}")
            return None
        # Compare real files (a symlink to an includer is still a loop), but
        # name them as written.
        identities = [p.resolve() for p in self.stack]
        if target.resolve() in identities:
            chain = [*self.stack[identities.index(target.resolve()) :], target]
            names = " -> ".join(self.session.display(p) for p in chain)
            self.report(node, f"include loop: {names}")
            return None
        return _load_file(self.session, target, stack=self.stack, loc=loc, index_offset=index_offset)

    def _include_dir(self, node: Node) -> list[Path] | None:
        name = self.scalar_arg(node, "a directory name")
        if name is None:
            return None
        directory = _absolute(self.path.parent / name)
        if not directory.is_dir():
            self.report(node, f"directory not found: {self.session.display(directory)}")
            return None
        return _yaml_files(directory)

    def construct_include(self, node: Node) -> Any:
        name = self.scalar_arg(node, "a file name")
        if name is None:
            return None
        return self._load_included(self.path.parent / name, node, tuple(self.loc))

    def construct_include_dir_list(self, node: Node) -> NodeList | None:
        files = self._include_dir(node)
        if files is None:
            return None
        data = NodeList()
        stamp(data, self.file, _line(node))
        for index, file in enumerate(files):
            data.append(self._load_included(file, node, (*self.loc, index)))
            data.set_item_position(index, (self.session.display(file), 1))
        return data

    def construct_include_dir_named(self, node: Node) -> NodeDict | None:
        files = self._include_dir(node)
        if files is None:
            return None
        data = NodeDict()
        stamp(data, self.file, _line(node))
        for file in files:
            if file.stem in data:  # same name in two sub-directories
                self.report(node, f"duplicate key '{file.stem}' ({self.session.display(file)})")
                continue
            data[file.stem] = self._load_included(file, node, (*self.loc, file.stem))
            data.set_key_position(file.stem, (self.session.display(file), 1))
        return data

    def _merge_source(self, file: Path, content: Any, kind: type, what: str) -> bool:
        """Check that a merged file holds a `kind`; empty files are skipped quietly."""
        if content is None:
            return False
        if isinstance(content, kind):
            return True
        line = (position(content) or ("", 1))[1]
        self.session.error(self.session.display(file), line, tuple(self.loc), f"expected {what} to merge")
        return False

    def construct_include_dir_merge_list(self, node: Node) -> NodeList | None:
        files = self._include_dir(node)
        if files is None:
            return None
        data = NodeList()
        stamp(data, self.file, _line(node))
        for file in files:
            content = self._load_included(file, node, tuple(self.loc), index_offset=len(data))
            if not self._merge_source(file, content, list, "a list"):
                continue
            for index, item in enumerate(content):
                pos = content.item_position(index) if isinstance(content, NodeList) else None
                if pos is not None:
                    data.set_item_position(len(data), pos)
                data.append(item)
        return data

    def construct_include_dir_merge_named(self, node: Node) -> NodeDict | None:
        files = self._include_dir(node)
        if files is None:
            return None
        data = NodeDict()
        stamp(data, self.file, _line(node))
        for file in files:
            content = self._load_included(file, node, tuple(self.loc))
            if not self._merge_source(file, content, dict, "a mapping"):
                continue
            for key, value in content.items():
                pos = content.key_position(key) if isinstance(content, NodeDict) else None
                if key in data:
                    where = pos or (self.session.display(file), 1)
                    self.session.error(*where, (*self.loc, key), f"duplicate key '{key}'")
                    continue
                data[key] = value
                if pos is not None:
                    data.set_key_position(key, pos)
        return data

    # -- values --------------------------------------------------------------

    def construct_secret(self, node: Node) -> Any:
        name = self.scalar_arg(node, "a secret name")
        if name is None:
            return None
        session = self.session
        if self.path == session.secrets_path:
            self.report(node, "!secret cannot be used inside secrets.yaml")
            return None
        secrets = session.load_secrets()
        secrets_name = session.display(session.secrets_path)
        if session.secrets_state == "broken":
            return None  # secrets.yaml's own error is already reported
        if secrets is None:
            self.report(node, f"secret '{name}' not found: {secrets_name} does not exist")
            return None
        if name not in secrets:
            self.report(node, f"secret '{name}' not found in {secrets_name}")
            return None
        value = secrets[name]
        if isinstance(value, str):
            register_secret(value)
            return self.node_str(value, node)
        if isinstance(value, int | float) and not isinstance(value, bool):
            register_secret(str(value))  # a numeric PIN is still a secret
        return value

    def construct_env_var(self, node: Node) -> NodeStr | None:
        arg = self.scalar_arg(node, "an environment variable name")
        if arg is None:
            return None
        name, *default = arg.split(maxsplit=1)
        value = os.environ.get(name)
        if value is None:
            if not default:
                self.report(node, f"environment variable '{name}' is not set")
                return None
            value = default[0]
        return self.node_str(value, node)

    def construct_input(self, node: Node) -> Input | None:
        name = self.scalar_arg(node, "an input name")
        return None if name is None else Input(name)


_CONSTRUCTORS: dict[str | None, Callable[[_HubLoader, Any], Any]] = {
    "tag:yaml.org,2002:map": _HubLoader.construct_node_dict,
    "tag:yaml.org,2002:seq": _HubLoader.construct_node_list,
    "tag:yaml.org,2002:str": _HubLoader.construct_node_str,
    "tag:yaml.org,2002:null": _lenient(yaml.SafeLoader.construct_yaml_null),
    "tag:yaml.org,2002:bool": _lenient(yaml.SafeLoader.construct_yaml_bool),
    "tag:yaml.org,2002:int": _lenient(yaml.SafeLoader.construct_yaml_int),
    "tag:yaml.org,2002:float": _lenient(yaml.SafeLoader.construct_yaml_float),
    "tag:yaml.org,2002:timestamp": _lenient(yaml.SafeLoader.construct_yaml_timestamp),
    "!include": _HubLoader.construct_include,
    "!include_dir_list": _HubLoader.construct_include_dir_list,
    "!include_dir_named": _HubLoader.construct_include_dir_named,
    "!include_dir_merge_list": _HubLoader.construct_include_dir_merge_list,
    "!include_dir_merge_named": _HubLoader.construct_include_dir_merge_named,
    "!secret": _HubLoader.construct_secret,
    "!env_var": _HubLoader.construct_env_var,
    "!input": _HubLoader.construct_input,
    # SafeLoader raises for unknown tags; a typo like `!incldue` should be one
    # error among many, not the end of the file.
    None: _HubLoader.construct_unknown,
}
for _tag, _constructor in _CONSTRUCTORS.items():
    _HubLoader.add_constructor(_tag, _constructor)


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
    session: _Session,
    path: Path,
    *,
    stack: tuple[Path, ...],
    loc: Loc,
    index_offset: int = 0,
) -> Any:
    """Load one file; its problems go to `session.errors` and its value may be None."""
    file = session.display(path)
    try:
        raw = path.read_bytes()
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

    loader: _HubLoader | None = None
    try:
        # The reader checks the whole text for unprintable characters while
        # the loader is created, so creation belongs inside the try.
        loader = _HubLoader(text, session, path, stack=(*stack, path), loc=loc, index_offset=index_offset)
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
) -> Any:
    """Load `path` and everything it includes; append each problem to `errors`.

    Mappings, sequences and strings come back as `NodeDict`, `NodeList` and
    `NodeStr`.  `!secret` reads `secrets_path` (default: secrets.yaml next to
    `path`).  File names in errors are relative to `config_dir` (default: the
    directory of `path`), or bare names for files outside it.
    """
    path = _absolute(Path(path))
    if secrets_path is None:
        secrets_path = path.parent / SECRETS_FILE
    session = _Session(
        errors=errors,
        config_dir=path.parent if config_dir is None else _absolute(Path(config_dir)),
        secrets_path=_absolute(Path(secrets_path)),
    )
    return _load_file(session, path, stack=(), loc=())


def load_config_file(path: Path | str) -> tuple[Any, list[ConfigError]]:
    """Load a top-level config file; return its data and all problems found."""
    errors: list[ConfigError] = []
    return load_yaml(Path(path), errors=errors), errors
