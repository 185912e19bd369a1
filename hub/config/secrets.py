"""Process-wide registry of secret values, and redaction of them from logs.

Every value the loader resolves through `!secret` is registered here, so a
password that ends up in an exception text, a URL or a debug line is replaced
by ``***`` before any handler writes it.  :func:`redact` also finds a secret
as JSON writes it inside a string, so stored rows (the recorder, traces) and
API bodies are masked with the same call.
"""

from __future__ import annotations

import json
import logging
import re
import threading

__all__ = (
    "MASK",
    "RedactSecretsFilter",
    "SecretRegistry",
    "clear_secrets",
    "redact",
    "register_secret",
    "secret_values",
)

MASK = "***"

# Shorter values would mask ordinary words and numbers all over the logs
# ("on", "123") while protecting nothing worth protecting.
MIN_SECRET_LENGTH = 4


class SecretRegistry:
    """A set of secret strings with a cached regular expression that finds them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        # Config may be reloaded from an executor thread while the loop logs.
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None:
                maskable = [value for value in self._values if len(value) >= MIN_SECRET_LENGTH]
                if not maskable:
                    return None
                # As written, and as JSON writes it inside a string (quotes, backslashes,
                # control characters escaped; non-ASCII escaped or not): stored rows and API
                # bodies are JSON, and a secret must be masked there too.
                forms = set(maskable)
                for value in maskable:
                    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
                    forms.add(json.dumps(value)[1:-1])
                maskable = list(forms)
                # Longest first, so a secret that contains another is masked whole.
                maskable.sort(key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(value) for value in maskable))
            return self._pattern

    def active(self) -> bool:
        """Is there anything long enough to mask?"""
        return self._compiled() is not None

    def redact(self, text: str) -> str:
        pattern = self._compiled()
        return text if pattern is None else pattern.sub(MASK, text)


_REGISTRY = SecretRegistry()


def register_secret(value: str) -> None:
    """Remember `value` as secret so that logs never show it."""
    _REGISTRY.register(value)


def secret_values() -> frozenset[str]:
    """Every value registered so far."""
    return _REGISTRY.values()


def clear_secrets() -> None:
    """Forget all secrets (for tests and full config reloads)."""
    _REGISTRY.clear()


def redact(text: str) -> str:
    """Return `text` with every registered secret (4+ characters) replaced by ``***``."""
    return _REGISTRY.redact(text)


class RedactSecretsFilter(logging.Filter):
    """Mask registered secrets in log records; it never drops a record.

    Attach it to *handlers*: a filter on a logger does not see records that
    propagate up from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _REGISTRY.active():
            return True  # leave the record (and its lazy formatting) untouched
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A bad format string: leave formatting (and its error report) to
            # the handler, but still mask the raw parts it will print.
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True
        # Freeze the formatted, masked text: masking args one by one could miss
        # a secret split across several of them, or hidden in an object's repr.
        # Handlers after this one therefore see args=None.
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback text in exc_text; fill it in
            # first so the cached copy is the masked one.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
