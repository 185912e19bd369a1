"""Merge the blocks the web UI wrote with the hand-written ones.

The web UI never edits a file a person wrote.  It owns one file per block under
``ui/`` beside config.yaml (``ui/sos.yaml``, ``ui/hub.yaml``), and config.yaml
includes them all with one line that the UI appends once::

    ui: !include_dir_named ui

`merge_ui_blocks` then folds ``ui:`` into the top level, the way Home
Assistant folds *packages* into its config:

- a block only the UI wrote is taken as it is;
- a **list** block (``sos:``, ``light:``, ``onvif:``, ``automation:``) is the
  hand-written items followed by the UI's; ids stay unique across both (the
  loader's usual duplicate-id error then names the UI file's line);
- a **mapping** block (``hub:``, ``line:``) is merged key by key, nested
  mappings too; where both set the same key the UI's value is used and
  ``check`` prints a warning naming both lines, so a hand edit that has no
  effect is never a mystery;
- a list in one and a mapping in the other is an error.

A config written by hand in this shape loads exactly the same way.
"""

from __future__ import annotations

from typing import Any

from hub.config.errors import ConfigError, ConfigWarning, format_path
from hub.config.nodes import Loc, NodeDict, NodeList, position

__all__ = ("UI_DIR", "UI_KEY", "merge_ui_blocks")

#: The top-level key that includes the UI's folder, and the folder's name.
UI_KEY = "ui"
UI_DIR = "ui"


def _where(node: Any, fallback: tuple[str, int | None]) -> tuple[str, int | None]:
    found = position(node)
    return found if found is not None else fallback


def _key_where(mapping: Any, key: Any, fallback: tuple[str, int | None]) -> tuple[str, int | None]:
    if isinstance(mapping, NodeDict):
        found = mapping.key_position(key)
        if found is not None:
            return found
    return _where(mapping.get(key) if isinstance(mapping, dict) else None, fallback)


def _merge_mapping(hand: dict[Any, Any], ui: dict[Any, Any], loc: Loc, errors: list[ConfigError]) -> NodeDict:
    merged = NodeDict(hand)
    if isinstance(hand, NodeDict):
        merged._file, merged._line = hand._file, hand._line
        for key in hand:
            pos = hand.key_position(key)
            if pos is not None:
                merged.set_key_position(key, pos)
    for key, value in ui.items():
        ui_pos = _key_where(ui, key, ("", None))
        if key in hand and isinstance(hand[key], dict) and isinstance(value, dict):
            merged[key] = _merge_mapping(hand[key], value, (*loc, key), errors)
        else:
            if key in hand:
                file, line = _key_where(hand, key, ("", None))
                there = f"{ui_pos[0]}:{ui_pos[1]}" if ui_pos[1] else ui_pos[0]
                errors.append(
                    ConfigWarning(
                        file,
                        line,
                        format_path((*loc, key)),
                        f"also set by the web UI in {there}; the web UI's value is used",
                    )
                )
            merged[key] = value
        if ui_pos[1] is not None:
            merged.set_key_position(key, (ui_pos[0], ui_pos[1]))
    return merged


def _merge_list(hand: list[Any], ui: list[Any]) -> NodeList:
    merged = NodeList()
    if isinstance(hand, NodeList):
        merged._file, merged._line = hand._file, hand._line
    for source in (hand, ui):
        for index, item in enumerate(source):
            pos = source.item_position(index) if isinstance(source, NodeList) else None
            if pos is not None:
                merged.set_item_position(len(merged), pos)
            merged.append(item)
    return merged


def merge_ui_blocks(raw: Any, errors: list[ConfigError]) -> Any:
    """Return `raw` with its ``ui:`` blocks merged in (see the module docstring)."""
    if not isinstance(raw, dict) or UI_KEY not in raw:
        return raw
    ui = raw[UI_KEY]
    label = _key_where(raw, UI_KEY, ("config.yaml", None))
    merged = NodeDict()
    if isinstance(raw, NodeDict):
        merged._file, merged._line = raw._file, raw._line
    for key, value in raw.items():
        if key == UI_KEY:
            continue
        merged[key] = value
        if isinstance(raw, NodeDict) and (pos := raw.key_position(key)) is not None:
            merged.set_key_position(key, pos)
    if ui is None:
        return merged  # an empty folder, or its error is already reported
    if not isinstance(ui, dict):
        errors.append(ConfigError(label[0], label[1], UI_KEY, "expected `!include_dir_named ui`"))
        return merged
    for key, block in ui.items():
        where = _key_where(ui, key, label)
        if block is None:
            continue  # an empty file adds nothing
        if key not in merged or merged[key] is None:
            merged[key] = block
            if where[1] is not None:
                merged.set_key_position(key, (where[0], where[1]))
            continue
        hand = merged[key]
        if isinstance(hand, list) and isinstance(block, list):
            merged[key] = _merge_list(hand, block)
        elif isinstance(hand, dict) and isinstance(block, dict):
            merged[key] = _merge_mapping(hand, block, (key,), errors)
        else:
            hand_where = _key_where(merged, key, label)
            errors.append(
                ConfigError(
                    where[0],
                    where[1],
                    str(key),
                    f"cannot merge with the block in {hand_where[0]}:{hand_where[1]}: "
                    "one is a list and the other is not",
                )
            )
    return merged
