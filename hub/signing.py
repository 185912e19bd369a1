"""Signed, expiring links (snapshot links for LINE cards, patrol check-ins, polls).

A link carries ``exp`` (UNIX seconds) and ``sig`` = HMAC-SHA256 over the path
and the expiry with a key that never leaves the hub.  The key is made once and
kept in the database, so links stay valid across restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

__all__ = ("Signer", "KV_KEY")

KV_KEY = "signing_key"


class Signer:
    """Signs and verifies ``path?exp=…&sig=…`` links."""

    def __init__(self, key: bytes, time_fn: Callable[[], float]) -> None:
        if len(key) < 16:
            raise ValueError("signing key too short")
        self._key = key
        self._time = time_fn

    @staticmethod
    def new_key() -> bytes:
        """Return a fresh random key."""
        return secrets.token_bytes(32)

    def _sig(self, path: str, exp: int, extra: str = "") -> str:
        mac = hmac.new(self._key, f"{path}\n{exp}\n{extra}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def sign(self, path: str, ttl: float, extra: str = "") -> str:
        """Return ``path`` with ``exp`` and ``sig`` query parameters."""
        exp = int(self._time() + ttl)
        query = {"exp": str(exp), "sig": self._sig(path, exp, extra)}
        return f"{path}?{urlencode(query)}"

    def verify(self, path: str, exp: str | None, sig: str | None, extra: str = "") -> bool:
        """Return whether the signature is right and the link has not expired."""
        if not exp or not sig:
            return False
        try:
            exp_i = int(exp)
        except ValueError:
            return False
        if exp_i < self._time():
            return False
        return hmac.compare_digest(self._sig(path, exp_i, extra), sig)
