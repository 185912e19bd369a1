"""Config errors that name file, line and key path (DESIGN §4).

`safetyhub check` must list *every* problem, so loading and validation collect
`ConfigError` values instead of raising at the first one; `ConfigInvalid` is
raised only once collection is finished.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ("ConfigError", "ConfigInvalid", "format_path")


def format_path(loc: Iterable[str | int]) -> str:
    """Render a key path the way users write it: ``onvif[0].port``."""
    out: list[str] = []
    for part in loc:
        # bool is an int subclass, but a True/False key is a name, not an index.
        if isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else str(part))
    return "".join(out)


@dataclass(frozen=True)
class ConfigError:
    """One problem in the configuration.

    `file` is already in display form (relative to the config dir, or a bare
    name) so messages stay short and stable across machines.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ConfigWarning(ConfigError):
    """Something that works but is probably not what the admin meant.

    ``check`` prints it and still passes; a ``config_check`` hook returns it
    alongside errors.
    """

    def __str__(self) -> str:
        return f"warning: {super().__str__()}"


class ConfigInvalid(Exception):
    """The configuration has errors; `errors` holds all of them, in order."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: list[ConfigError] = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))
