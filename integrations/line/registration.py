"""Linking Big 6 members to their LINE accounts with one-time registration codes.

An admin creates a code for a member (``POST /api/line/registration_codes`` or
the LINE page); the member adds the hub's LINE Official Account as a friend
(the ``follow`` event gets a reply asking for the code) and types the code in
the 1:1 chat.  The code is stored hashed, works once, and expires.

The Big 6 directory (and any other plugin) reads the links through these
functions, which need only the database, not a running LINE integration::

    from integrations.line.registration import linked_members, member_for_line_user, line_user_for_member

    for m in await linked_members(hub):            # every linked member
        print(m.member_ref, m.name, m.user_id, m.status)
    m = await member_for_line_user(hub, "U4af4980629…")   # who pressed "acknowledge"?
    user_id = await line_user_for_member(hub, "big6-police-03")  # None when not linked
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hub.core.throttle import Throttle
from hub.keys import HubKey
from integrations.line.const import CODE_ALPHABET, CODE_LENGTH, CODE_RE, MAX_CODE_FAILURES

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "LinkedMember",
    "code_throttle",
    "create_code",
    "linked_members",
    "line_user_for_member",
    "member_for_line_user",
    "normalize_code",
    "redeem_code",
    "set_member_status",
)

_FAILURE_WINDOW = 3600.0


@dataclass(frozen=True)
class LinkedMember:
    """A Big 6 member whose LINE account is linked to the hub."""

    user_id: str
    member_ref: str
    name: str
    sector: str
    display_name: str
    linked_at: float
    #: ``active``, or ``blocked`` once they block (unfollow) the Official Account.
    status: str

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return asdict(self)


def _member(row: Any) -> LinkedMember:
    return LinkedMember(
        row["user_id"],
        row["member_ref"],
        row["name"],
        row["sector"],
        row["display_name"],
        row["linked_at"],
        row["status"],
    )


def normalize_code(text: str) -> str | None:
    """Return the code in ``text`` as stored (``K7P29QXM``), or None if it is not shaped like one."""
    match = CODE_RE.match(text)
    if match is None:
        return None
    code = (match.group(1) + match.group(2)).upper()
    return code if all(c in CODE_ALPHABET for c in code) else None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_code(
    hub: Hub, *, member_ref: str, name: str, sector: str = "", created_by: str = "", ttl_hours: float = 72
) -> str:
    """Create a one-time code for a member and return it as people type it (``K7P2-9QXM``).

    Only its hash is stored: the code is shown once, to the admin who made it.
    """
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = hub.clock.time()
    await hub.storage.execute(
        "INSERT INTO line_codes (code_hash, member_ref, name, sector, created_at, expires_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (_hash(code), member_ref, name, sector, now, now + ttl_hours * 3600, created_by),
    )
    return f"{code[:4]}-{code[4:]}"


_FAILURES: HubKey[Throttle] = HubKey("line_code_failures")


def code_throttle(hub: Hub) -> Throttle:
    """Wrong codes per LINE user in the last hour: guessing is slowed down, not just logged."""
    throttle = hub.data.get(_FAILURES)
    if throttle is None:
        throttle = hub.data[_FAILURES] = Throttle(MAX_CODE_FAILURES, _FAILURE_WINDOW)
    return throttle


async def redeem_code(
    hub: Hub, user_id: str, code: str, display_name: str = ""
) -> tuple[str, LinkedMember | None]:
    """Link ``user_id`` with the member a code was made for.

    Return ``("linked", member)``, or ``("invalid" | "throttled", None)``.
    """
    failures = code_throttle(hub)
    now = hub.clock.time()
    if failures.blocked(user_id, now):
        return "throttled", None
    digest = _hash(code)
    # One statement claims the code, so two people racing with it cannot both win.
    claimed = await hub.storage.execute_rowcount(
        "UPDATE line_codes SET used_at = ?, used_by = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
        (now, user_id, digest, now),
    )
    if not claimed:
        failures.fail(user_id, now)
        return "invalid", None
    row = await hub.storage.fetchone("SELECT * FROM line_codes WHERE code_hash = ?", (digest,))
    assert row is not None
    await hub.storage.execute(
        "INSERT INTO line_members (user_id, member_ref, name, sector, display_name, linked_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 'active') ON CONFLICT(user_id) DO UPDATE SET member_ref = excluded.member_ref, "
        "name = excluded.name, sector = excluded.sector, display_name = excluded.display_name, "
        "linked_at = excluded.linked_at, status = 'active'",
        (user_id, row["member_ref"], row["name"], row["sector"], display_name, now),
    )
    member = await member_for_line_user(hub, user_id)
    return "linked", member


async def set_member_status(hub: Hub, user_id: str, status: str) -> bool:
    """Mark a linked member ``active`` or ``blocked``; return whether they were linked."""
    return bool(
        await hub.storage.execute_rowcount(
            "UPDATE line_members SET status = ? WHERE user_id = ?", (status, user_id)
        )
    )


async def linked_members(hub: Hub) -> list[LinkedMember]:
    """Return every linked member, by member reference."""
    rows = await hub.storage.fetchall("SELECT * FROM line_members ORDER BY member_ref, linked_at")
    return [_member(r) for r in rows]


async def member_for_line_user(hub: Hub, user_id: str) -> LinkedMember | None:
    """Return the member linked to a LINE user id, or None."""
    row = await hub.storage.fetchone("SELECT * FROM line_members WHERE user_id = ?", (user_id,))
    return _member(row) if row is not None else None


async def line_user_for_member(hub: Hub, member_ref: str) -> str | None:
    """Return the LINE user id of an active member, or None when not linked or blocked."""
    row = await hub.storage.fetchone(
        "SELECT user_id FROM line_members WHERE member_ref = ? AND status = 'active' ORDER BY linked_at DESC",
        (member_ref,),
    )
    return str(row["user_id"]) if row is not None else None
