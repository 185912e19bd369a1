"""Ed25519 evidence keys: made at first start, kept with the hub's other keys, used to sign packs.

A hub signs what it produced (the clips it cut and its part of the
manifest); the station signs the whole evidence pack.  Both keys live in the
database's ``kv`` table beside the link-signing key (``hub.signing``), so they
survive restarts and backups with the rest of the hub.  Only the public half
ever leaves: the hub's through its federation registry and ``/api/video/keys``,
the station's at ``/api/station/keys`` and inside every pack.

Signatures are over exact bytes (a manifest file as stored), never over a
re-serialised object, so a court's verifier needs nothing but the bytes and
the public key.  :func:`canonical` gives the bytes a stable form.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "KV_EVIDENCE_KEY",
    "EvidenceKey",
    "PublicKey",
    "canonical",
    "load_evidence_key",
    "parse_public_key",
    "sha256_hex",
)

#: Where the private key is kept (hex of the 32-byte Ed25519 seed), beside ``signing_key``.
KV_EVIDENCE_KEY = "evidence_ed25519"
ALGORITHM = "ed25519"


def canonical(obj: Any) -> bytes:
    """Return ``obj`` as canonical JSON bytes (sorted keys, no spaces, UTF-8, Thai kept readable)."""
    return json.dumps(
        obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in lower-case hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key, as raw bytes, with the forms people and files use."""

    raw: bytes

    @property
    def b64(self) -> str:
        """Return the key as standard base64 (44 characters)."""
        return base64.b64encode(self.raw).decode()

    @property
    def fingerprint(self) -> str:
        """Return a short id people can read out: the first 16 hex digits of SHA-256 of the key."""
        return sha256_hex(self.raw)[:16]

    @property
    def pem(self) -> str:
        """Return the key as a PEM SubjectPublicKeyInfo (what ``openssl`` reads)."""
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form used in manifests and key routes."""
        return {"alg": ALGORITHM, "public": self.b64, "fingerprint": self.fingerprint}

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Return whether ``signature`` is this key's signature of ``data``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify_b64(self, signature: str, data: bytes) -> bool:
        """Like :meth:`verify` with a base64 signature (a malformed one is simply wrong)."""
        try:
            sig = base64.b64decode(signature.strip(), validate=True)
        except ValueError:
            return False
        return len(sig) == 64 and self.verify(sig, data)


class EvidenceKey:
    """The private signing key of one hub or station."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = PublicKey(
            self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def generate(cls) -> EvidenceKey:
        """Return a fresh key."""
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return cls(seed)

    def seed_hex(self) -> str:
        """Return the private seed in hex, for the database only."""
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        ).hex()

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte signature of ``data``."""
        return self._key.sign(data)

    def sign_b64(self, data: bytes) -> str:
        """Return the signature of ``data`` in base64."""
        return base64.b64encode(self.sign(data)).decode()

    def __repr__(self) -> str:
        # Never the private half, even in a debugger or a log line.
        return f"<EvidenceKey {self.public.fingerprint}>"


async def load_evidence_key(hub: Hub) -> EvidenceKey:
    """Return this hub's (or station's) evidence key, making and storing it on first start."""
    row = await hub.storage.fetchone("SELECT value FROM kv WHERE key = ?", (KV_EVIDENCE_KEY,))
    if row is not None:
        return EvidenceKey(bytes.fromhex(row["value"]))
    key = EvidenceKey.generate()
    # INSERT OR IGNORE and read back: two callers at first start agree on one key.
    await hub.storage.execute(
        "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)", (KV_EVIDENCE_KEY, key.seed_hex())
    )
    row = await hub.storage.fetchone("SELECT value FROM kv WHERE key = ?", (KV_EVIDENCE_KEY,))
    assert row is not None
    return EvidenceKey(bytes.fromhex(row["value"]))


def parse_public_key(text: str) -> PublicKey:
    """Read a public key given as PEM, as base64 of the 32 raw bytes, or as ``ed25519:<base64>``.

    Raises ValueError naming what is wrong.
    """
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_public_key(text.encode())
        except ValueError as err:
            raise ValueError(f"not a PEM public key: {err}") from err
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return PublicKey(loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise ValueError(f"not a key file: {err}") from err
        if isinstance(doc, dict) and isinstance(doc.get("public"), str):
            return parse_public_key(doc["public"])
        raise ValueError('a JSON key file needs a "public" field')
    text = text.removeprefix(f"{ALGORITHM}:")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as err:
        raise ValueError(f"not base64: {err}") from err
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
    return PublicKey(raw)
