"""The YAML loader class: positioned nodes and Home Assistant's config tags.

Each constructor either builds a value or reports one `ConfigError` through
the load session and yields None; none of them raises for bad input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hub.config.nodes import Input, Loc, NodeDict, NodeList, NodeStr, position, stamp
from hub.config.secrets import register_secret

if TYPE_CHECKING:
    from hub.config.yaml_loader import LoadSession

__all__ = ("SECRETS_FILE", "HubLoader", "absolute", "is_config_yaml", "yaml_files")

SECRETS_FILE = "secrets.yaml"
#: Read instead of secrets.yaml by configs named *.example.yaml.
EXAMPLE_SECRETS_FILE = "secrets.example.yaml"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def absolute(path: Path) -> Path:
    """Absolute, normalised path; abspath (not resolve) keeps symlinked names as written."""
    return Path(os.path.abspath(path))


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _lenient(strict: Callable[[Any, ScalarNode], Any]) -> Callable[[HubLoader, ScalarNode], Any]:
    """Wrap a PyYAML scalar constructor so that it cannot crash the load.

    PyYAML's resolver accepts texts that its own constructors then reject
    (``0x_``, ``._``, ``2001-13-01`` raise ValueError).  Such plain scalars only
    looked like numbers or dates, so they are kept as strings; validation
    complains if a number was wanted.  An explicit tag on text it cannot
    convert (``!!int ''``, ``!!bool maybe``) is the user's mistake: reported.
    """

    def construct(loader: HubLoader, node: ScalarNode) -> Any:
        try:
            return strict(loader, node)
        except (ValueError, OverflowError, LookupError, AttributeError):
            # Would the plain text resolve to this tag on its own?  (stubs leave resolve untyped)
            implicit = loader.resolve(ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
            if implicit == node.tag:
                return loader.node_str(str(node.value), node)
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            loader.report(node, f"cannot read {node.value!r} as {tag}")
            return None

    return construct


def is_config_yaml(path: Path, directory: Path) -> bool:
    """Would a directory include pick up `path` (below `directory`)?"""
    parts = path.relative_to(directory).parts
    name = parts[-1]
    if any(part.startswith(".") for part in parts[:-1]):
        return False
    return name.endswith(".yaml") and not name.startswith(".") and name != SECRETS_FILE


def yaml_files(directory: Path) -> list[Path]:
    """*.yaml files below `directory`, sorted, skipping hidden names and secrets."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root, name) for name in sorted(files) if is_config_yaml(Path(root, name), directory)
        )
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


class HubLoader(yaml.SafeLoader):
    """A SafeLoader for one file; constructors are registered below the class."""

    def __init__(
        self,
        text: str,
        session: LoadSession,
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

    def report(self, node: Node, message: str) -> None:
        self.session.error(self.file, _line(node), tuple(self.loc), message)

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
        target = absolute(target)
        if not self.session.is_file(target):
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
        return self.session.load_file(target, stack=self.stack, loc=loc, index_offset=index_offset)

    def _include_dir(self, node: Node) -> list[Path] | None:
        name = self.scalar_arg(node, "a directory name")
        if name is None:
            return None
        directory = absolute(self.path.parent / name)
        if not self.session.is_dir(directory):
            self.report(node, f"directory not found: {self.session.display(directory)}")
            return None
        return self.session.yaml_files(directory)

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
        if self.path == session.secrets_path or session.secrets_state == "loading":
            self.report(node, "!secret cannot be used inside secrets.yaml or files it includes")
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


_CONSTRUCTORS: dict[str | None, Callable[[HubLoader, Any], Any]] = {
    "tag:yaml.org,2002:map": HubLoader.construct_node_dict,
    "tag:yaml.org,2002:seq": HubLoader.construct_node_list,
    "tag:yaml.org,2002:str": HubLoader.construct_node_str,
    "tag:yaml.org,2002:null": _lenient(yaml.SafeLoader.construct_yaml_null),
    "tag:yaml.org,2002:bool": _lenient(yaml.SafeLoader.construct_yaml_bool),
    "tag:yaml.org,2002:int": _lenient(yaml.SafeLoader.construct_yaml_int),
    "tag:yaml.org,2002:float": _lenient(yaml.SafeLoader.construct_yaml_float),
    "tag:yaml.org,2002:timestamp": _lenient(yaml.SafeLoader.construct_yaml_timestamp),
    "!include": HubLoader.construct_include,
    "!include_dir_list": HubLoader.construct_include_dir_list,
    "!include_dir_named": HubLoader.construct_include_dir_named,
    "!include_dir_merge_list": HubLoader.construct_include_dir_merge_list,
    "!include_dir_merge_named": HubLoader.construct_include_dir_merge_named,
    "!secret": HubLoader.construct_secret,
    "!env_var": HubLoader.construct_env_var,
    "!input": HubLoader.construct_input,
    # SafeLoader raises for unknown tags; a typo like `!incldue` should be one
    # error among many, not the end of the file.
    None: HubLoader.construct_unknown,
}
for _tag, _constructor in _CONSTRUCTORS.items():
    HubLoader.add_constructor(_tag, _constructor)
