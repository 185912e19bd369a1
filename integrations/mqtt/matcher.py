"""Topic routing: one matcher for every subscriber in the hub.

A thousand buttons each subscribing ``zigbee2mqtt/<name>`` must not cost a
thousand filter comparisons per message.  Exact topics live in a dict (one
lookup); wildcard filters live in a trie walked level by level, so a message
costs O(topic levels) whatever the number of subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ("TopicRouter", "validate_filter", "validate_topic", "filter_matches")

T = TypeVar("T")


def validate_filter(topic_filter: str) -> None:
    """Raise ValueError unless ``topic_filter`` is a valid MQTT subscription filter."""
    if not topic_filter or len(topic_filter.encode()) > 65535:
        raise ValueError("topic filter must be 1..65535 bytes")
    if "\x00" in topic_filter:
        raise ValueError("topic filter contains NUL")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(f"'#' must be a whole, last level in {topic_filter!r}")
        if "+" in level and level != "+":
            raise ValueError(f"'+' must be a whole level in {topic_filter!r}")


def validate_topic(topic: str) -> None:
    """Raise ValueError unless ``topic`` is a valid topic to publish to."""
    if not topic or len(topic.encode()) > 65535:
        raise ValueError("topic must be 1..65535 bytes")
    if "+" in topic or "#" in topic or "\x00" in topic:
        raise ValueError(f"topic {topic!r} must not contain wildcards or NUL")


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Return whether ``topic`` matches ``topic_filter`` (used for single checks and tests)."""
    router: TopicRouter[bool] = TopicRouter()
    router.add(topic_filter, True)
    return bool(router.match(topic))


class _Node(Generic[T]):
    __slots__ = ("children", "plus", "hash_items", "items")

    def __init__(self) -> None:
        self.children: dict[str, _Node[T]] = {}
        self.plus: _Node[T] | None = None
        #: Items of a filter ending in ``#`` at this node.
        self.hash_items: list[T] = []
        #: Items of a filter ending exactly here.
        self.items: list[T] = []

    def empty(self) -> bool:
        return not (self.children or self.plus or self.hash_items or self.items)


class TopicRouter(Generic[T]):
    """Map topic filters to items; ``match(topic)`` returns every item whose filter matches."""

    def __init__(self) -> None:
        self._exact: dict[str, list[T]] = {}
        self._root: _Node[T] = _Node()
        self._wildcards = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._exact.values()) + self._wildcards

    def add(self, topic_filter: str, item: T) -> Callable[[], None]:
        """Route ``topic_filter`` to ``item``; return a callable that removes this route."""
        validate_filter(topic_filter)
        if "+" not in topic_filter and "#" not in topic_filter:
            self._exact.setdefault(topic_filter, []).append(item)
            return lambda: self._remove_exact(topic_filter, item)
        node = self._root
        levels = topic_filter.split("/")
        path: list[tuple[_Node[T], str]] = []
        for level in levels:
            if level == "#":
                node.hash_items.append(item)
                break
            path.append((node, level))
            if level == "+":
                if node.plus is None:
                    node.plus = _Node()
                node = node.plus
            else:
                node = node.children.setdefault(level, _Node())
        else:
            node.items.append(item)
        self._wildcards += 1
        is_hash = levels[-1] == "#"
        end = node

        def remove() -> None:
            bucket = end.hash_items if is_hash else end.items
            for i, existing in enumerate(bucket):
                if existing is item:
                    del bucket[i]
                    self._wildcards -= 1
                    break
            else:
                return
            # Prune empty branches so a churn of devices does not leak nodes.
            child = end
            for parent, level in reversed(path):
                if not child.empty():
                    break
                if level == "+":
                    parent.plus = None
                else:
                    parent.children.pop(level, None)
                child = parent

        return remove

    def _remove_exact(self, topic: str, item: T) -> None:
        items = self._exact.get(topic)
        if not items:
            return
        for i, existing in enumerate(items):
            if existing is item:
                del items[i]
                break
        if not items:
            del self._exact[topic]

    def match(self, topic: str) -> list[T]:
        """Return the items of every filter matching ``topic`` (exact ones first)."""
        exact = self._exact.get(topic)
        if not self._wildcards:
            return list(exact) if exact else []
        found: list[T] = list(exact) if exact else []
        levels = topic.split("/")
        # MQTT §4.7.2: a filter starting with a wildcard never matches a $-topic.
        self._walk(self._root, levels, 0, found, topic.startswith("$"))
        return found

    def _walk(self, node: _Node[T], levels: list[str], index: int, found: list[T], dollar: bool) -> None:
        if node.hash_items and not (dollar and index == 0):
            # "a/#" also matches "a" itself: the '#' sits one level below.
            found.extend(node.hash_items)
        if index == len(levels):
            found.extend(node.items)
            return
        child = node.children.get(levels[index])
        if child is not None:
            self._walk(child, levels, index + 1, found, dollar)
        if node.plus is not None and not (dollar and index == 0):
            self._walk(node.plus, levels, index + 1, found, dollar)
