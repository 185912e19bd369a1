"""Loaded YAML values that remember which file and line they came from.

Errors must name file and line (DESIGN §4), but PyYAML forgets positions once
it has built Python objects.  The loader therefore builds these subclasses and
stamps each with the file and 1-based line of its node.  Ints, floats, bools
and None cannot carry attributes, so a mapping also records where each of its
keys is, and a sequence where each item is: an error on a scalar value points
at its key (or item) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = (
    "Input",
    "Loc",
    "NodeDict",
    "NodeList",
    "NodeStr",
    "Position",
    "position",
    "position_of",
    "stamp",
)

Position: TypeAlias = tuple[str, int]
Loc: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True)
class Input:
    """A blueprint `!input NAME` reference, resolved later by the blueprint engine."""

    name: str


class NodeStr(str):
    """A string that knows its position."""

    _file: str = ""
    _line: int = 0


class NodeDict(dict[Any, Any]):
    """A mapping that knows its own position and the position of each key."""

    _file: str = ""
    _line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Positions, not bare lines: a merged mapping (include_dir_merge_named)
        # holds keys from several files.
        self._key_positions: dict[Any, Position] = {}

    def key_position(self, key: Any) -> Position | None:
        try:
            return self._key_positions.get(key)
        except TypeError:  # unhashable key: it cannot be in the mapping anyway
            return None

    def set_key_position(self, key: Any, pos: Position) -> None:
        self._key_positions[key] = pos


class NodeList(list[Any]):
    """A sequence that knows its own position and the position of each item."""

    _file: str = ""
    _line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._item_positions: dict[int, Position] = {}

    def item_position(self, index: int) -> Position | None:
        return self._item_positions.get(index)

    def set_item_position(self, index: int, pos: Position) -> None:
        self._item_positions[index] = pos


_Node = NodeDict | NodeList | NodeStr


def stamp(obj: _Node, file: str, line: int) -> None:
    """Record where `obj` was written."""
    obj._file = file
    obj._line = line


def position(obj: object) -> Position | None:
    """The (file, line) where `obj` was written, if it is a positioned node."""
    if isinstance(obj, NodeDict | NodeList | NodeStr) and obj._line > 0:
        return (obj._file, obj._line)
    return None


def _has_key(mapping: dict[Any, Any], key: Any) -> bool:
    try:
        return key in mapping
    except TypeError:
        return False


def position_of(root: Any, loc: Loc) -> Position | None:
    """Walk `root` along a pydantic-style `loc`; return the deepest position known.

    A positioned node reports its own line; a scalar reports its key's (or
    item's) line; a key that is missing reports the line of the mapping that
    should have held it.  Parts of `loc` that do not exist in the tree stop the
    walk, so the answer is always the closest thing the user actually wrote.
    """
    node = root
    best = position(root)
    for part in loc:
        if isinstance(node, dict) and _has_key(node, part):
            child = node[part]
            slot = node.key_position(part) if isinstance(node, NodeDict) else None
        elif (
            isinstance(node, list)
            and isinstance(part, int)
            and not isinstance(part, bool)
            and 0 <= part < len(node)
        ):
            child = node[part]
            slot = node.item_position(part) if isinstance(node, NodeList) else None
        else:
            break
        best = position(child) or slot or best
        node = child
    return best
