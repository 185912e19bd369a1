"""Keys that moved or went away: a warning naming the replacement, never a silent ignore.

A box in a shop keeps its ``config.yaml`` across upgrades.  When a release
renames a key, the old one must neither stop the hub ("unknown key") nor be
dropped without a word: ``safetyhub check`` and the start-up log say, at the
old key's file:line, what replaces it and since when, and the value is moved
to the new key when that is where it belongs and the new key is not set.

The table is declarative.  The core's entries are in :data:`DEPRECATIONS`;
a plugin adds its own with the ``config_deprecations`` hook (a list of
:class:`Deprecation`).  Paths are dotted keys; ``[]`` stands for every item
of a list (``sos[].battery_low``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hub.config.errors import ConfigError, ConfigWarning
from hub.config.nodes import NodeDict, position_of

__all__ = ("Deprecation", "DEPRECATIONS", "apply_deprecations")

_PART = re.compile(r"^[A-Za-z0-9_-]+(\[\])?$")


@dataclass(frozen=True)
class Deprecation:
    """One key that is no longer read where it was."""

    #: Where the key was: ``block.key.subkey``; ``[]`` after a part means every list item.
    old: str
    #: Where its value goes now (same notation), or None when nothing replaces it.
    new: str | None
    #: The first release that no longer reads ``old``.
    since: str
    #: Said after the replacement: what else changed, or what to do instead.
    note: str = ""
    #: Move the value to ``new`` (when ``new``'s block is there and ``new`` is not set).  False
    #: when the value means something else now and the admin must decide.
    move: bool = True

    def __post_init__(self) -> None:
        for path in (self.old, self.new):
            if path is not None and not all(_PART.match(p) for p in path.split(".")):
                raise ValueError(f"deprecation path {path!r}: dotted keys, [] for list items")
        if self.new is not None and self.new.count("[]") > self.old.count("[]"):
            raise ValueError(
                f"deprecation {self.old} → {self.new}: the new path has a list the old one lacks"
            )


#: The core's own table.  Add a row whenever a release renames or removes a key.
DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(
        "video.footage.station_url",
        "federation.station_url",
        since="0.2.0",
        note="one address for live video and footage uploads",
    ),
)


def _split(path: str) -> list[tuple[str, bool]]:
    return [(p.removesuffix("[]"), p.endswith("[]")) for p in path.split(".")]


def _matches(
    root: Any, parts: list[tuple[str, bool]], prefix: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], tuple[int, ...]]]:
    """Yield (loc, list indexes taken) for every place ``parts`` exists in ``root``."""
    if not parts:
        yield prefix, ()
        return
    (key, each), rest = parts[0], parts[1:]
    if not isinstance(root, dict) or key not in root:
        return
    child = root[key]
    if not each:
        yield from _matches(child, rest, (*prefix, key))
        return
    if not isinstance(child, list):
        return
    for index, item in enumerate(child):
        for loc, taken in _matches(item, rest, (*prefix, key, index)):
            yield loc, (index, *taken)


def _target(root: Any, parts: list[tuple[str, bool]], indexes: tuple[int, ...]) -> tuple[Any, str] | None:
    """Return (the mapping that should hold the new key, the key), if the new key's block exists.

    Mappings missing below the block are made (``station.supervision`` for
    ``station.supervision.check_interval``); a missing block is not, since
    it would need settings only the admin can give (``federation``'s broker).
    """
    node = root
    taken = iter(indexes)
    for depth, (key, each) in enumerate(parts[:-1]):
        if not isinstance(node, dict):
            return None
        if key not in node:
            if depth == 0 or each:
                return None
            node[key] = NodeDict()
        node = node[key]
        if each:
            index = next(taken, None)
            if not isinstance(node, list) or index is None or not 0 <= index < len(node):
                return None
            node = node[index]
    last, each = parts[-1]
    if each or not isinstance(node, dict):
        return None
    return node, last


def _show(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def apply_deprecations(raw: Any, table: Iterable[Deprecation], default_file: str) -> list[ConfigError]:
    """Warn about every deprecated key in ``raw`` and move values where the table says; return the warnings.

    Runs before validation, so an old key never fails a block as "unknown key".
    The old key is taken out of the tree whether or not its value moved: what
    the hub does with it is said in the warning, at the old key's line.
    """
    warnings: list[ConfigError] = []
    if not isinstance(raw, dict):
        return warnings
    for rule in table:
        old_parts = _split(rule.old)
        for loc, indexes in list(_matches(raw, old_parts)):
            file, line = position_of(raw, loc) or (default_file, None)
            holder = raw
            for part in loc[:-1]:
                holder = holder[part]
            value = holder[loc[-1]]
            if rule.new is None:
                said = f"is no longer read since {rule.since} and is ignored"
            else:
                target = _target(raw, _split(rule.new), indexes)
                new_at = rule.new
                if target is None:
                    said = (
                        f"is no longer read since {rule.since}: use {new_at} instead "
                        "(its block is not in this config, so the value is ignored)"
                    )
                elif target[1] in target[0]:
                    said = f"is no longer read since {rule.since}: {new_at} is set and is used instead"
                elif not rule.move:
                    said = f"is no longer read since {rule.since}: use {new_at} instead (not moved by itself)"
                else:
                    mapping, key = target
                    mapping[key] = value
                    if isinstance(mapping, NodeDict) and line is not None:
                        mapping.set_key_position(key, (file, line))
                    said = f"is no longer read since {rule.since}: use {new_at} instead (its value is used there)"
            del holder[loc[-1]]
            note = f"; {rule.note}" if rule.note else ""
            warnings.append(ConfigWarning(file, line, _show(loc), f"deprecated key: {said}{note}"))
    return warnings
