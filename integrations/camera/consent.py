"""The camera owner's consent: who agreed, to which share policy, when, and the exact text.

The programme promises owners that their images are never misused (DESIGN
§9); a camera linked from the browser is linked only with the owner's
recorded agreement.  Each record keeps the text exactly as it was shown (and
its SHA-256), so a later wording change never rewrites what someone agreed
to.  Records are only ever added (a new policy is a new record; the camera
page shows them newest first); the one exception is a record whose camera
was never saved, which the set-up flow deletes again.  Each standing record
is audited.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "CONSENT_MIGRATIONS",
    "Consent",
    "record_consent",
    "forget_consent",
    "audit_consent",
    "consents_for",
)

CONSENT_MIGRATIONS = (
    """
    CREATE TABLE camera_consents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera_id TEXT NOT NULL,
        policy TEXT NOT NULL,
        owner_name TEXT NOT NULL,
        owner_phone TEXT NOT NULL,
        agreed_by TEXT NOT NULL,
        agreed_at REAL NOT NULL,
        lang TEXT NOT NULL,
        text TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    );
    CREATE INDEX ix_camera_consents_camera ON camera_consents (camera_id, agreed_at);
    """,
)


@dataclass(frozen=True)
class Consent:
    """One consent record."""

    id: int
    camera_id: str
    policy: str
    owner_name: str
    owner_phone: str
    agreed_by: str
    agreed_at: float
    lang: str
    text: str
    text_sha256: str
    recorded_by: str

    def as_dict(self) -> dict[str, Any]:
        """Return the record as plain data."""
        return asdict(self)


async def record_consent(
    hub: Hub,
    *,
    camera_id: str,
    policy: str,
    owner_name: str,
    owner_phone: str,
    agreed_by: str,
    lang: str,
    text: str,
    recorded_by: str,
) -> Consent:
    """Store a consent record and return it (audit it with :func:`audit_consent` once it stands)."""
    now = hub.clock.time()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row_id = await hub.storage.execute(
        "INSERT INTO camera_consents (camera_id, policy, owner_name, owner_phone, agreed_by, agreed_at, "
        "lang, text, text_sha256, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (camera_id, policy, owner_name, owner_phone, agreed_by, now, lang, text, digest, recorded_by),
        urgent=True,
    )
    return Consent(
        int(row_id),
        camera_id,
        policy,
        owner_name,
        owner_phone,
        agreed_by,
        now,
        lang,
        text,
        digest,
        recorded_by,
    )


async def forget_consent(hub: Hub, consent_id: int) -> None:
    """Delete a record whose camera was never saved (the write after it was refused)."""
    await hub.storage.execute("DELETE FROM camera_consents WHERE id = ?", (consent_id,), urgent=True)


async def audit_consent(hub: Hub, consent: Consent, *, role: str = "", ip: str = "") -> None:
    """Write the consent to the audit log: who recorded whose agreement to which policy."""
    await hub.audit.log(
        consent.recorded_by,
        "camera.consent",
        f"camera.{consent.camera_id}",
        role=role,
        detail={
            "policy": consent.policy,
            "agreed_by": consent.agreed_by,
            "owner": consent.owner_name,
            "text_sha256": consent.text_sha256,
        },
        ip=ip,
    )


async def consents_for(hub: Hub, camera_id: str) -> list[Consent]:
    """Return a camera's consent records, newest first."""
    rows = await hub.storage.fetchall(
        "SELECT * FROM camera_consents WHERE camera_id = ? ORDER BY agreed_at DESC, id DESC", (camera_id,)
    )
    return [
        Consent(
            r["id"],
            r["camera_id"],
            r["policy"],
            r["owner_name"],
            r["owner_phone"],
            r["agreed_by"],
            r["agreed_at"],
            r["lang"],
            r["text"],
            r["text_sha256"],
            r["recorded_by"],
        )
        for r in rows
    ]
