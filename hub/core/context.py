"""The causal context carried by events and service calls."""

from __future__ import annotations

from typing import Any

from hub.core.ids import ulid

__all__ = ("Context",)


class Context:
    """Who or what caused something, so a trace can follow a chain.

    A button press creates a context; the automation it triggers creates a child
    (``parent_id`` = the press), and every service call and LINE message made by
    that run carries the child.  The id is created lazily: most events are never
    inspected, and a ULID costs more than the rest of an event.
    """

    __slots__ = ("_id", "parent_id", "user_id", "origin")

    def __init__(
        self,
        id: str | None = None,
        parent_id: str | None = None,
        user_id: str | None = None,
        origin: str | None = None,
    ) -> None:
        self._id = id
        self.parent_id = parent_id
        self.user_id = user_id
        self.origin = origin

    @property
    def id(self) -> str:
        """Return the context id, creating it on first use."""
        if self._id is None:
            self._id = ulid()
        return self._id

    def child(self, user_id: str | None = None) -> Context:
        """Return a new context caused by this one."""
        return Context(parent_id=self.id, user_id=user_id if user_id is not None else self.user_id)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {"id": self.id, "parent_id": self.parent_id, "user_id": self.user_id}

    def __repr__(self) -> str:
        return f"<Context {self.id} parent={self.parent_id} user={self.user_id}>"
