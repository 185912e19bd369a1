"""One running SafetyHub per data folder, and a way for others to know it is running.

``Hub.start`` takes an exclusive lock on ``<data_dir>/safetyhub.lock`` (``flock``; released by
the kernel when the process ends, even by SIGKILL, so a crash never leaves a stale lock).
``safetyhub restore`` and a second hub on the same folder check it and refuse.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ("LOCK_NAME", "RunLock", "RunLockHeld", "holder")

LOCK_NAME = "safetyhub.lock"


class RunLockHeld(RuntimeError):
    """Another SafetyHub runs on this data folder."""


class RunLock:
    """The lock a running hub holds on its data folder."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path) -> RunLock:
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(fd)
            pid = holder(data_dir)
            raise RunLockHeld(
                f"another SafetyHub is running on {data_dir}" + (f" (process {pid})" if pid else "")
            ) from err
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def holder(data_dir: Path) -> int | None:
    """The process id of the hub running on ``data_dir``, or None when none is."""
    path = data_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
