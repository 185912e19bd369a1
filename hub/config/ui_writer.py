"""The web UI's config writer: YAML stays the source of truth.

What an admin creates in the browser is written to YAML files the UI owns, one
per block under ``ui/`` beside config.yaml (``ui/sos.yaml``), which config.yaml
includes with one line the writer appends once (``ui: !include_dir_named ui``;
the merge rule is in `hub.config.ui_merge`).  Everything else is left byte for
byte: config.yaml gains only that line, and secrets.yaml only the entries the
UI made (``ui_<block>_<id>_<field>: "..."``), referenced as ``!secret`` from the
UI's file, so a password never sits in ``ui/*.yaml``, a log or the audit log.

Every write:

1. is checked against the etag the admin's form was opened with (a stale one
   raises `ConfigConflict`: "changed since you opened it");
2. refuses an id that a hand-written or UI item already uses (`IdCollision`);
3. is validated by ``safetyhub check``'s own code path (`hub.bootstrap.load`) on
   the files as they *would* be, read from an in-memory overlay; any error,
   including one a person typed into config.yaml by hand, raises
   `ConfigRejected` with ``file:line: key.path: message`` errors and nothing is
   written;
4. is saved file by file with a temp file and a rename, in an order where each
   intermediate state still loads (secrets, then the UI file, then the include
   line);
5. is audited, then applied to the running hub (`hub.reload`); what could not be
   applied live is in `UIConfig.restart_needed` (block -> reason) until a restart.

For the setup pages: items come back with ``_editable`` (False: written by hand, change
it in that file), ``_source`` ("file:line") and ``_secrets`` (paths of secret fields,
whose values are never returned); ``_``-keys are ignored on the way in.  ``secrets``
maps a field's dotted path (``password``, ``owner.pin``) to its value; a field left out
on update keeps its stored secret.  Every write takes ``actor=`` (the user name, for the
audit log).  `UIConfig.problems` lists ``check``'s errors now (a config broken by hand).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hub.config.errors import ConfigWarning
from hub.config.nodes import NodeList, position
from hub.config.secrets import register_secret, secret_values
from hub.config.ui_merge import UI_DIR, UI_KEY
from hub.config.yaml_loader import load_yaml
from hub.config.yaml_tags import SECRETS_FILE, absolute

if TYPE_CHECKING:
    from hub.audit import AuditLog
    from hub.bootstrap import LoadedConfig

__all__ = (
    "META_KEYS",
    "ConfigConflict",
    "ConfigRejected",
    "IdCollision",
    "SecretRef",
    "UIConfig",
)

_LOGGER = logging.getLogger(__name__)

#: Keys the writer adds to the items it returns; stripped from what it is given.
#: ``_editable``: written by the UI (True) or by hand (False); ``_source``: "file:line";
#: ``_secrets``: dotted paths of fields that hold a secret (their values are never returned).
META_KEYS = ("_editable", "_source", "_secrets")

_BLOCK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSAFE = re.compile(r"[^a-z0-9_]+")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_INCLUDE_LINE = re.compile(rb"(?m)^ui:[ \t]*!include_dir_named[ \t]+ui/?[ \t]*(#.*)?$")
_INCLUDE_TEXT = (
    b"\n# Blocks made in the web UI are in ui/*.yaml and merge with the ones above (docs/setup.md).\n"
    b"ui: !include_dir_named ui\n"
)
_HEADER = (
    "# Written by the SafetyHub web UI. It merges with the `{block}:` block of config.yaml.\n"
    "# Hand edits here are kept, comments are not: write comments in config.yaml.\n"
)


class ConfigConflict(Exception):
    """The block changed since the form was opened (a stale etag): nothing was saved."""


class ConfigRejected(Exception):
    """The write would leave an invalid config (or the config is invalid already).

    ``errors`` are ``safetyhub check``'s lines, ``file:line: key.path: message``.
    """

    def __init__(self, errors: list[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("\n".join(self.errors))


class IdCollision(ConfigRejected):
    """The item's id is already used in the block (by hand or by the UI)."""

    def __init__(self, errors: list[str], item_id: str) -> None:
        super().__init__(errors)
        self.item_id = item_id


@dataclass(frozen=True)
class SecretRef:
    """A ``!secret NAME`` reference in a UI file."""

    name: str


class _UILoader(yaml.SafeLoader):
    """Reads a UI file keeping ``!secret`` as a reference: the writer rewrites the file."""


def _construct_secret(loader: _UILoader, node: yaml.Node) -> SecretRef:
    return SecretRef(str(loader.construct_scalar(node)).strip())  # type: ignore[arg-type]


_UILoader.add_constructor("!secret", _construct_secret)


class _UIDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &anchors: a person reads these files

    def choose_scalar_style(self) -> str:
        # PyYAML quotes every scalar with an explicit tag; `!secret name` reads better bare.
        event = self.event
        if isinstance(event, yaml.ScalarEvent) and event.tag == "!secret" and _PLAIN_NAME.match(event.value):
            return ""
        return str(super().choose_scalar_style())


def _represent_secret(dumper: _UIDumper, ref: SecretRef) -> yaml.Node:
    return dumper.represent_scalar("!secret", ref.name)


_UIDumper.add_representer(SecretRef, _represent_secret)


def _plain(value: Any) -> Any:
    """Positioned loader nodes → plain dicts, lists and strings (SecretRefs kept)."""
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, str) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _public(value: Any, secrets: list[str], path: str = "", *, hand: bool = False) -> Any:
    """Drop secret values (UI references, or hand values known to be secrets); list their paths."""
    return _drop_secrets(value, secrets, path, secret_values() if hand else frozenset())


def _drop_secrets(value: Any, secrets: list[str], path: str, known: frozenset[str]) -> Any:
    if isinstance(value, SecretRef) or (isinstance(value, str) and value in known):
        secrets.append(path)
        return None
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if isinstance(child, SecretRef) or (isinstance(child, str) and child in known):
                secrets.append(child_path)
                continue
            out[key] = _drop_secrets(child, secrets, child_path, known)
        return out
    if isinstance(value, list):
        return [_drop_secrets(item, secrets, f"{path}[{i}]", known) for i, item in enumerate(value)]
    return value


def _strip_meta(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_meta(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(value, list):
        return [_strip_meta(v) for v in value]
    return value


def _where(node: Any, fallback: str) -> str:
    found = position(node)
    return f"{found[0]}:{found[1]}" if found else fallback


def _item_id(item: Any) -> str | None:
    ident = item.get("id") if isinstance(item, dict) else None
    return str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None


def _get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _secret_paths(data: Any, path: str = "") -> dict[str, SecretRef]:
    found: dict[str, SecretRef] = {}
    if isinstance(data, dict):
        for key, child in data.items():
            child_path = f"{path}.{key}" if path else str(key)
            if isinstance(child, SecretRef):
                found[child_path] = child
            else:
                found.update(_secret_paths(child, child_path))
    return found


def _diff(hand: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """What of `wanted` differs from the hand-written mapping (only that goes to the UI file)."""
    if not isinstance(hand, dict):
        return wanted
    out: dict[str, Any] = {}
    for key, value in wanted.items():
        if key not in hand:
            out[key] = value
        elif isinstance(value, dict) and isinstance(hand[key], dict):
            inner = _diff(hand[key], value)
            if inner:
                out[key] = inner
        elif _plain(hand[key]) != value:
            out[key] = value
    return out


# -- secrets.yaml: edited in place, one entry at a time -----------------------------------


def _secret_entries(text: str, file: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # noqa: S506 - compose only, SafeLoader
    except yaml.YAMLError as err:
        raise ConfigRejected([f"{file}: invalid YAML: {err}"]) from err
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise ConfigRejected([f"{file}:1: expected a block mapping of names to values"])
    return {str(k.value): (k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode)}


def set_secret_text(text: str, name: str, value: str, file: str = SECRETS_FILE) -> str:
    """Return secrets.yaml's text with `name` set to `value`; every other byte kept."""
    quoted = json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    entries = _secret_entries(text, file)
    if name in entries:
        _key, node = entries[name]
        return text[: node.start_mark.index] + quoted + text[node.end_mark.index :]
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}{name}: {quoted}\n"


def remove_secret_text(text: str, name: str, file: str = SECRETS_FILE) -> str:
    """Return secrets.yaml's text without the entry `name` (whole lines only)."""
    entries = _secret_entries(text, file)
    if name not in entries:
        return text
    key, node = entries[name]
    start = text.rfind("\n", 0, key.start_mark.index) + 1
    if node.end_mark.index > 0 and text[node.end_mark.index - 1] == "\n":
        end = node.end_mark.index  # a block scalar ends at the start of the next line
    else:
        end = text.find("\n", node.end_mark.index)
        end = len(text) if end < 0 else end + 1
    if text[start : key.start_mark.index].strip() or text[node.end_mark.index : end].split("#")[0].strip():
        return text  # shares a line with something else: leave it (an unused secret is harmless)
    return text[:start] + text[end:]


# -- state of one block ---------------------------------------------------------------------


@dataclass
class _State:
    block: str
    config_bytes: bytes
    secrets_bytes: bytes | None
    ui_bytes: bytes | None
    hand: Any  # the hand-written block (positioned nodes), or None
    hand_has_ui_key: bool
    ui_data: Any  # the UI file's data (SecretRefs kept), or None
    load_errors: list[str]
    etag: str

    def ui_list(self, ui_file: str) -> list[Any]:
        if self.ui_data is None:
            return []
        if not isinstance(self.ui_data, list):
            raise ConfigRejected([f"{ui_file}:1: {self.block}: expected a list"])
        return list(self.ui_data)


def _etag(hand: Any, ui_bytes: bytes | None) -> str:
    secrets: list[str] = []
    seen = _public(_plain(hand), secrets, hand=True)
    digest = hashlib.sha256(json.dumps(seen, sort_keys=True, default=str, ensure_ascii=False).encode())
    digest.update(b"\0" + (ui_bytes if ui_bytes is not None else b"-"))
    return digest.hexdigest()[:24]


def _atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to a temp file beside `path` and rename it over: readers see old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: Called after a saved write with (block, the validated config); returns why a restart
#: is needed, or None when the running hub follows the change already.
Applier = Callable[[str, "LoadedConfig"], Awaitable[str | None]]


class UIConfig:
    """Reads and writes the blocks the web UI owns; reachable as ``hub.ui_config``."""

    def __init__(
        self,
        config_path: Path,
        *,
        audit: Callable[[], AuditLog | None] | None = None,
        overrides: dict[str, Any] | None = None,
        apply: Applier | None = None,
    ) -> None:
        self.config_path = absolute(Path(config_path))
        self.config_dir = self.config_path.parent
        self.ui_dir = self.config_dir / UI_DIR
        self.secrets_path = self.config_dir / SECRETS_FILE
        self._audit = audit
        self._overrides = overrides
        self._apply = apply
        self._lock = asyncio.Lock()
        #: Block -> why the running hub still needs a restart to follow what was saved.
        self.restart_needed: dict[str, str] = {}

    # -- paths and reading -------------------------------------------------------------

    def ui_file(self, block: str) -> Path:
        """The file the UI owns for `block` (``ui/sos.yaml``)."""
        if not _BLOCK_NAME.match(block) or block == UI_KEY:
            raise ConfigRejected([f"{block!r}: not a block name"])
        return self.ui_dir / f"{block}.yaml"

    def _display(self, path: Path) -> str:
        try:
            return path.relative_to(self.config_dir).as_posix()
        except ValueError:
            return path.name

    def _read(self, block: str) -> _State:
        ui_path = self.ui_file(block)
        try:
            config_bytes = self.config_path.read_bytes()
        except FileNotFoundError as err:
            raise ConfigRejected([f"{self.config_path.name}: file not found"]) from err
        try:
            secrets_bytes: bytes | None = self.secrets_path.read_bytes()
        except FileNotFoundError:
            secrets_bytes = None
        try:
            ui_bytes: bytes | None = ui_path.read_bytes()
        except FileNotFoundError:
            ui_bytes = None
        errors: list[Any] = []
        raw = load_yaml(self.config_path, errors=errors)
        hand = raw.get(block) if isinstance(raw, dict) else None
        ui_data: Any = None
        if ui_bytes is not None:
            try:
                ui_data = yaml.load(ui_bytes.decode("utf-8"), Loader=_UILoader)  # noqa: S506 - a SafeLoader
            except (yaml.YAMLError, UnicodeDecodeError) as err:
                mark = getattr(err, "problem_mark", None)
                line = f":{mark.line + 1}" if mark is not None else ""
                raise ConfigRejected(
                    [f"{self._display(ui_path)}{line}: the web UI cannot read this file: {err}"]
                ) from err
        return _State(
            block=block,
            config_bytes=config_bytes,
            secrets_bytes=secrets_bytes,
            ui_bytes=ui_bytes,
            hand=hand,
            hand_has_ui_key=isinstance(raw, dict) and UI_KEY in raw,
            ui_data=ui_data,
            load_errors=[str(e) for e in errors if not isinstance(e, ConfigWarning)],
            etag=_etag(hand, ui_bytes),
        )

    async def _state(self, block: str) -> _State:
        return await asyncio.get_running_loop().run_in_executor(None, self._read, block)

    def _hand_items(self, state: _State) -> list[dict[str, Any]]:
        hand = state.hand
        if hand is None:
            return []
        if not isinstance(hand, list):
            raise ConfigRejected([f"{_where(hand, self.config_path.name)}: {state.block}: expected a list"])
        out: list[dict[str, Any]] = []
        known = secret_values()
        for index, item in enumerate(hand):
            secrets: list[str] = []
            public = _drop_secrets(_plain(item), secrets, "", known)
            if not isinstance(public, dict):
                public = {"value": public}
            pos = hand.item_position(index) if isinstance(hand, NodeList) else None
            found = position(item) or pos
            source = f"{found[0]}:{found[1]}" if found else self.config_path.name
            out.append({**public, "_editable": False, "_source": source, "_secrets": secrets})
        return out

    def _ui_items(self, state: _State) -> list[dict[str, Any]]:
        ui_path = self.ui_file(state.block)
        lines = _item_lines(state.ui_bytes)
        out: list[dict[str, Any]] = []
        for index, item in enumerate(state.ui_list(self._display(ui_path))):
            secrets: list[str] = []
            public = _public(item, secrets)
            if not isinstance(public, dict):
                public = {"value": public}
            line = lines[index] if index < len(lines) else None
            source = f"{self._display(ui_path)}:{line}" if line else self._display(ui_path)
            out.append({**public, "_editable": True, "_source": source, "_secrets": secrets})
        return out

    # -- the public interface ----------------------------------------------------------------

    async def list_items(self, block: str) -> tuple[list[dict[str, Any]], str]:
        """Return the items of a list block (hand-written first, then the UI's) and its etag."""
        state = await self._state(block)
        return self._hand_items(state) + self._ui_items(state), state.etag

    async def get_block(self, block: str) -> tuple[dict[str, Any] | list[Any] | None, str]:
        """Return a block as it loads (hand-written merged with the UI's) and its etag.

        A list block comes back as `list_items` does.  A mapping block is merged;
        secret fields are left out and their dotted paths listed under ``_secrets``,
        and the keys the UI file sets under ``_ui_keys``.
        """
        state = await self._state(block)
        if isinstance(state.hand, list) or isinstance(state.ui_data, list):
            return self._hand_items(state) + self._ui_items(state), state.etag
        if state.hand is None and state.ui_data is None:
            return None, state.etag
        secrets: list[str] = []
        hand = _public(_plain(state.hand), secrets, hand=True) if isinstance(state.hand, dict) else {}
        ui = _public(state.ui_data, secrets) if isinstance(state.ui_data, dict) else {}
        merged = _deep_merge(hand, ui)
        merged["_secrets"] = sorted(set(secrets))
        merged["_ui_keys"] = sorted(str(k) for k in ui)
        return merged, state.etag

    async def problems(self) -> list[str]:
        """Return what ``safetyhub check`` says of the config now (errors only)."""
        loaded = await asyncio.get_running_loop().run_in_executor(None, self._validate, {})
        return _error_lines(loaded, self.config_path.name)

    async def add_item(
        self,
        block: str,
        item: dict[str, Any],
        *,
        etag: str | None = None,
        secrets: dict[str, str] | None = None,
        actor: str = "web",
    ) -> str:
        """Append `item` to list block `block`; return the block's new etag."""
        async with self._lock:
            state = await self._state(block)
            _check_etag(state, etag)
            ui_name = self._display(self.ui_file(block))
            items = state.ui_list(ui_name)
            new = _strip_meta(dict(item))
            ident = self._require_id(block, new)
            self._refuse_collision(state, ident, None)
            new, named = self._with_secrets(block, ident, new, secrets, old=None)
            items.append(new)
            return await self._save(state, items, "config.item_add", f"{block}/{ident}", actor, named)

    async def update_item(
        self,
        block: str,
        item_id: str,
        item: dict[str, Any],
        *,
        etag: str,
        secrets: dict[str, str] | None = None,
        actor: str = "web",
    ) -> str:
        """Replace the UI's item `item_id` (it may be renamed); secrets not re-entered are kept."""
        async with self._lock:
            state = await self._state(block)
            _check_etag(state, etag)
            items = state.ui_list(self._display(self.ui_file(block)))
            index = self._ui_index(state, items, item_id)
            new = _strip_meta(dict(item))
            new.setdefault("id", item_id)
            ident = self._require_id(block, new)
            self._refuse_collision(state, ident, item_id)
            old = items[index]
            new, named = self._with_secrets(block, ident, new, secrets, old=old)
            items[index] = new
            return await self._save(state, items, "config.item_update", f"{block}/{item_id}", actor, named)

    async def remove_item(self, block: str, item_id: str, *, etag: str, actor: str = "web") -> str:
        """Remove the UI's item `item_id` and the secrets only it used."""
        async with self._lock:
            state = await self._state(block)
            _check_etag(state, etag)
            items = state.ui_list(self._display(self.ui_file(block)))
            index = self._ui_index(state, items, item_id)
            del items[index]
            return await self._save(state, items, "config.item_remove", f"{block}/{item_id}", actor, {})

    async def set_block(
        self,
        block: str,
        data: dict[str, Any],
        *,
        etag: str | None,
        secrets: dict[str, str] | None = None,
        actor: str = "web",
    ) -> str:
        """Set mapping block `block` to `data`.

        Only what differs from the hand-written block is written to the UI file, so
        an unchanged hand-written value stays the one in force.  A secret not given
        again keeps its earlier value.
        """
        async with self._lock:
            state = await self._state(block)
            _check_etag(state, etag)
            if isinstance(state.hand, list):
                raise ConfigRejected(
                    [f"{_where(state.hand, self.config_path.name)}: {block}: is a list, not a mapping"]
                )
            wanted = _strip_meta(dict(data))
            for path in secrets or {}:
                _set_path(wanted, path, None)  # placeholder: replaced below
            new = _diff(state.hand, wanted)
            old = state.ui_data if isinstance(state.ui_data, dict) else None
            new, named = self._with_secrets(block, None, new, secrets, old=old)
            return await self._save(state, new, "config.block_set", block, actor, named)

    # -- helpers of the writes ------------------------------------------------------------------

    def _require_id(self, block: str, item: dict[str, Any]) -> str:
        ident = _item_id(item)
        if not ident:
            raise ConfigRejected([f"{self._display(self.ui_file(block))}: {block}: an item needs an id"])
        return ident

    def _ui_index(self, state: _State, items: list[Any], item_id: str) -> int:
        for index, existing in enumerate(items):
            if _item_id(existing) == item_id:
                return index
        for item in self._hand_items(state):
            if _item_id(item) == item_id:
                raise ConfigRejected(
                    [
                        f"{item['_source']}: {state.block}: '{item_id}' is written by hand; change it in that file"
                    ]
                )
        raise ConfigRejected(
            [f"{self._display(self.ui_file(state.block))}: {state.block}: no item '{item_id}'"]
        )

    def _refuse_collision(self, state: _State, ident: str, replacing: str | None) -> None:
        if ident == replacing:
            return
        for item in self._hand_items(state) + self._ui_items(state):
            if _item_id(item) == ident:
                raise IdCollision(
                    [
                        f"{item['_source']}: {state.block}: id '{ident}' is already used here; ids must be unique"
                    ],
                    ident,
                )

    def _with_secrets(
        self,
        block: str,
        ident: str | None,
        data: dict[str, Any],
        secrets: Mapping[str, str] | None,
        *,
        old: Any,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Point each secret field at a ``!secret``; keep the old references not given again.

        A password or token given as a plain field (``password: ...``) is moved to
        secrets.yaml too: a secret never lands in a UI file, whoever called.
        Returns the data and the secrets to write, by their name in secrets.yaml.
        """
        ui_name = self._display(self.ui_file(block))
        secrets = {**_plain_secrets(data), **(secrets or {})}
        for path, ref in _secret_paths(old).items():
            if path not in (secrets or {}) and _get_path(data, path) is None:
                _set_path(data, path, ref)
        named: dict[str, str] = {}
        for path, value in (secrets or {}).items():
            if not isinstance(value, str) or not value:
                raise ConfigRejected([f"{ui_name}: {block}.{path}: a secret cannot be empty"])
            parts = [block, *([ident] if ident else []), path]
            name = "ui_" + _UNSAFE.sub("_", "_".join(parts).lower()).strip("_")
            _set_path(data, path, SecretRef(name))
            named[name] = value
        return data, named

    def _validate(self, overlay: Mapping[Path, bytes]) -> LoadedConfig:
        from hub.bootstrap import load

        return load(self.config_path, config_dir=self.config_dir, overrides=self._overrides, overlay=overlay)

    async def _save(
        self,
        state: _State,
        ui_data: Any,
        action: str,
        target: str,
        actor: str,
        named: Mapping[str, str],
    ) -> str:
        block = state.block
        ui_path = self.ui_file(block)
        ui_text = _HEADER.format(block=block) + yaml.dump(
            _plain(ui_data), Dumper=_UIDumper, allow_unicode=True, sort_keys=False, default_flow_style=False
        )
        overlay: dict[Path, bytes] = {ui_path: ui_text.encode("utf-8")}

        secrets_name = self._display(self.secrets_path)
        new_secrets = secrets_text = (state.secrets_bytes or b"").decode("utf-8")
        for name, value in named.items():
            register_secret(value)  # masked in every log line from now on
            new_secrets = set_secret_text(new_secrets, name, value, secrets_name)
        for name in _all_refs(state.ui_data) - _all_refs(ui_data):
            if name.startswith("ui_"):
                new_secrets = remove_secret_text(new_secrets, name, secrets_name)
        if new_secrets != secrets_text:
            overlay[self.secrets_path] = new_secrets.encode("utf-8")

        config_bytes = state.config_bytes
        if state.hand_has_ui_key:
            if not _INCLUDE_LINE.search(config_bytes):
                raise ConfigRejected(
                    [
                        f"{self.config_path.name}: ui: the web UI needs exactly `ui: !include_dir_named ui` here"
                    ]
                )
        else:
            if config_bytes and not config_bytes.endswith(b"\n"):
                config_bytes += b"\n"
            config_bytes += _INCLUDE_TEXT
            overlay[self.config_path] = config_bytes

        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(None, self._validate, overlay)
        errors = _error_lines(loaded, self.config_path.name)
        if errors:
            await self._audit_write(
                actor, action, target, block, result="rejected", detail={"errors": len(errors)}
            )
            raise ConfigRejected(errors)
        await loop.run_in_executor(None, self._commit, state, overlay)
        await self._audit_write(
            actor,
            action,
            target,
            block,
            detail={"file": self._display(ui_path), "secrets": len(named)},
        )
        _LOGGER.info("Config: %s %s written to %s by %s", action, target, self._display(ui_path), actor)
        if self._apply is not None:
            reason = await self._apply(block, loaded)
            if reason is None:
                self.restart_needed.pop(block, None)
            else:
                self.restart_needed[block] = reason
        # The hand-written part is unchanged (`_commit` checked the files): no need to re-read.
        return _etag(state.hand, overlay[ui_path])

    def _commit(self, state: _State, overlay: Mapping[Path, bytes]) -> None:
        """Write the staged files; refuse if a file changed on disk since it was read."""
        on_disk = {
            self.config_path: state.config_bytes,
            self.secrets_path: state.secrets_bytes,
            self.ui_file(state.block): state.ui_bytes,
        }
        for path, before in on_disk.items():
            try:
                now: bytes | None = path.read_bytes()
            except FileNotFoundError:
                now = None
            if now != before:
                raise ConfigConflict(f"{self._display(path)} changed while saving")
        # secrets first and the include line last: each step on its own still loads.
        order = [self.secrets_path, self.ui_file(state.block), self.config_path]
        for path in order:
            if path in overlay:
                mode = 0o600 if path == self.secrets_path and state.secrets_bytes is None else None
                _atomic_write(path, overlay[path], mode)

    async def _audit_write(
        self,
        actor: str,
        action: str,
        target: str,
        block: str,
        *,
        result: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        audit = self._audit() if self._audit is not None else None
        if audit is None:
            return
        await audit.log(
            actor, action, target, detail={"block": block, **(detail or {})}, source="web", result=result
        )


def _plain_secrets(data: Any, path: str = "") -> dict[str, str]:
    """Dotted paths of plain strings under secret-looking keys (``password``, ``*_token``)."""
    from hub.audit import is_secret_key

    found: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and value and is_secret_key(key):
                found[child] = value
            elif isinstance(value, dict):
                found.update(_plain_secrets(value, child))
    return found


def _check_etag(state: _State, etag: str | None) -> None:
    if etag is not None and etag != state.etag:
        raise ConfigConflict(f"{state.block} changed since it was opened")


def _all_refs(data: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(data, SecretRef):
        found.add(data.name)
    elif isinstance(data, dict):
        for value in data.values():
            found |= _all_refs(value)
    elif isinstance(data, list):
        for value in data:
            found |= _all_refs(value)
    return found


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _item_lines(ui_bytes: bytes | None) -> list[int]:
    """The 1-based line of each item of a UI list file."""
    if not ui_bytes:
        return []
    try:
        root = yaml.compose(ui_bytes.decode("utf-8"), Loader=_UILoader)  # noqa: S506 - compose only
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    if not isinstance(root, yaml.SequenceNode):
        return []
    return [node.start_mark.line + 1 for node in root.value]


def _error_lines(loaded: LoadedConfig, main: str) -> list[str]:
    ordered = sorted(loaded.errors, key=lambda e: (e.file != main, e.file, e.line or 0))
    return [str(e) for e in ordered]
