"""Typed keys for state that plugins keep on the hub (like aiohttp's AppKey)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

__all__ = ("HubKey", "HubData")

T = TypeVar("T")


class HubKey(Generic[T]):
    """A key whose value type is known to the type checker."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<HubKey {self.name}>"


class HubData:
    """A typed mapping of :class:`HubKey` to values."""

    def __init__(self) -> None:
        self._data: dict[HubKey[Any], Any] = {}

    def __getitem__(self, key: HubKey[T]) -> T:
        return cast(T, self._data[key])

    def __setitem__(self, key: HubKey[T], value: T) -> None:
        self._data[key] = value

    def __contains__(self, key: HubKey[Any]) -> bool:
        return key in self._data

    def get(self, key: HubKey[T], default: T | None = None) -> T | None:
        """Return the value or ``default``."""
        return cast("T | None", self._data.get(key, default))

    def pop(self, key: HubKey[T], default: T | None = None) -> T | None:
        """Remove and return the value."""
        return cast("T | None", self._data.pop(key, default))
