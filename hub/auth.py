"""Users, API tokens and login sessions.

Passwords are hashed with scrypt (stdlib, memory-hard).  Tokens and session
ids are random 256-bit values; only their SHA-256 is stored, so a copy of the
database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.core.context import Context
from hub.core.ids import ulid
from hub.core.services import ROLES

__all__ = (
    "ACCESS_CHANNEL",
    "AUTH_MIGRATIONS",
    "AUTH_PG_MIGRATIONS",
    "Auth",
    "AuthError",
    "LastAdmin",
    "TokenInfo",
    "UnknownAccess",
    "User",
    "hash_password",
    "verify_password",
    "role_at_least",
)

_LOGGER = logging.getLogger(__name__)

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SESSION_SECONDS = 12 * 3600  # one CCOC shift
MIN_PASSWORD = 8

#: The auth component's own migrations (numbered apart from the core's).
AUTH_MIGRATIONS: tuple[str, ...] = (
    # 1: tokens may expire; NULL keeps the long-lived tokens made before.
    "ALTER TABLE tokens ADD COLUMN expires_at REAL;",
)
#: Their twins for the shared PostgreSQL database (hub.storage_pg): REAL is 4 bytes there,
#: too coarse for a timestamp.
AUTH_PG_MIGRATIONS: tuple[str, ...] = ("ALTER TABLE tokens ADD COLUMN expires_at DOUBLE PRECISION;",)
#: The channel on which processes sharing the access tables say "access was taken back".
ACCESS_CHANNEL = "ssz_access"


def hash_password(password: str) -> str:
    """Return an encoded scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches ``encoded`` (constant time)."""
    try:
        algo, n, r, p, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if algo != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate.hex(), digest)


def role_at_least(role: str, needed: str) -> bool:
    """Return whether ``role`` is ``needed`` or more powerful."""
    try:
        return ROLES.index(role) >= ROLES.index(needed)
    except ValueError:
        return False


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    """A person or system that can log in."""

    id: str
    username: str
    role: str

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (never the hash)."""
        return {"id": self.id, "username": self.username, "role": self.role}


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed (never its value or hash)."""

    id: str
    name: str
    user_id: str
    username: str
    created_at: float
    expires_at: float | None
    last_used: float | None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return dict(self.__dict__)


class AuthError(ValueError):
    """A user or token request is invalid."""


class UnknownAccess(AuthError):
    """No such user or token."""


class LastAdmin(AuthError):
    """The change would leave the hub with no enabled admin."""


#: Called after a token, session or user is revoked, disabled, deleted or changes role.
AccessListener = Callable[[], None]


class Auth:
    """Users, tokens and sessions in the hub's database."""

    def __init__(self, storage: Any, time_fn: Callable[[], float] = time.time) -> None:
        self._db = storage
        self._time = time_fn
        self._migrated = False
        self._listeners: list[AccessListener] = []

    async def _ready(self) -> None:
        # Applied on first use, so every opener of the database (the hub, the
        # CLI, a test) gets the columns without having to register them.
        if not self._migrated:
            postgres = getattr(self._db, "dialect", "sqlite") == "postgresql"
            await self._db.apply_migrations("auth", AUTH_PG_MIGRATIONS if postgres else AUTH_MIGRATIONS)
            self._migrated = True

    def on_access_change(self, listener: AccessListener) -> Callable[[], None]:
        """Call ``listener`` whenever access is taken back; return an unsubscribe callable.

        Open streams use it to re-check their credential at once.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def heard_access_change(self) -> None:
        """Call this process's listeners: access was taken back here or by another process."""
        for listener in list(self._listeners):
            listener()

    async def _access_changed(self) -> None:
        self.heard_access_change()
        # Processes sharing the database (station workers, the CLI) re-check theirs too; the
        # change is committed, so a notice that cannot go only delays their streams' end
        # until their next keep-alive check.
        try:
            await self._db.notify(ACCESS_CHANNEL)
        except Exception as err:  # noqa: BLE001 - the change itself is done
            _LOGGER.warning("could not tell the other processes that access was taken back: %s", err)

    async def has_users(self) -> bool:
        """Return whether any user exists (onboarding is needed when not)."""
        return await self._db.fetchone("SELECT 1 FROM users LIMIT 1") is not None

    async def add_user(self, username: str, password: str, role: str) -> User:
        """Create a user; raise AuthError on bad input."""
        username = username.strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise AuthError("username must be 1–64 characters without spaces")
        if role not in ROLES:
            raise AuthError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must be at least {MIN_PASSWORD} characters")
        if await self._db.fetchone("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise AuthError(f"user {username!r} already exists")
        user = User(ulid(), username, role)
        await self._db.execute(
            "INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (user.id, username, role, hash_password(password), self._time()),
        )
        return user

    async def users(self) -> list[User]:
        """Return all enabled users."""
        rows = await self._db.fetchall(
            "SELECT id, username, role FROM users WHERE disabled = 0 ORDER BY username"
        )
        return [User(r["id"], r["username"], r["role"]) for r in rows]

    async def actor(self, context: Context) -> str:
        """Name who made a call: the user's name, else the context's origin, else ``automation``."""
        user = await self.get_user(context.user_id) if context.user_id else None
        return user.username if user is not None else (context.origin or "automation")

    async def get_user(self, user_id: str) -> User | None:
        """Return the user with this id."""
        row = await self._db.fetchone(
            "SELECT id, username, role FROM users WHERE id = ? AND disabled = 0", (user_id,)
        )
        return User(row["id"], row["username"], row["role"]) if row else None

    async def user_by_name(self, username: str) -> User | None:
        """Return the user with this name."""
        row = await self._db.fetchone(
            "SELECT id, username, role FROM users WHERE username = ? AND disabled = 0", (username,)
        )
        return User(row["id"], row["username"], row["role"]) if row else None

    async def check_password(self, username: str, password: str) -> User | None:
        """Return the user if the password is right."""
        row = await self._db.fetchone(
            "SELECT id, username, role, password_hash FROM users WHERE username = ? AND disabled = 0",
            (username,),
        )
        if row is None:
            # Same cost as a real check, so timing does not reveal usernames.
            verify_password(password, hash_password("x" * MIN_PASSWORD))
            return None
        if not verify_password(password, row["password_hash"]):
            return None
        return User(row["id"], row["username"], row["role"])

    async def all_users(self) -> list[dict[str, Any]]:
        """Return every user, disabled ones too, for the admin's list."""
        rows = await self._db.fetchall(
            "SELECT id, username, role, disabled, created_at FROM users ORDER BY username"
        )
        return [
            {
                "id": r["id"],
                "username": r["username"],
                "role": r["role"],
                "disabled": bool(r["disabled"]),
                "created_at": r["created_at"],
            }
            for r in rows
        ]

    async def find_user(self, name_or_id: str) -> dict[str, Any] | None:
        """Return a user (disabled or not) by name or id."""
        for user in await self.all_users():
            if name_or_id in (user["id"], user["username"]):
                return user
        return None

    async def _require(self, user_id: str) -> dict[str, Any]:
        found = await self.find_user(user_id)
        if found is None:
            raise UnknownAccess(f"no user {user_id!r}")
        return found

    async def _guard_last_admin(self, user: dict[str, Any], doing: str) -> None:
        """Refuse to leave the hub with no enabled admin: nobody could manage it any more."""
        if user["role"] != "admin" or user["disabled"]:
            return
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
            (user["id"],),
        )
        if row is None or not row["n"]:
            raise LastAdmin(f"{user['username']} is the last admin and cannot be {doing}")

    async def set_role(self, user_id: str, role: str) -> dict[str, Any]:
        """Change a user's role (not the last admin's); return the user as it was."""
        if role not in ROLES:
            raise AuthError(f"role must be one of {', '.join(ROLES)}")
        user = await self._require(user_id)
        if role != "admin":
            await self._guard_last_admin(user, "demoted")
        await self._db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user["id"]))
        await self._access_changed()
        return user

    async def disable_user(self, user_id: str) -> dict[str, Any]:
        """Disable a user (not the last admin) and end their sessions and tokens."""
        user = await self._require(user_id)
        await self._guard_last_admin(user, "disabled")
        await self._db.execute("UPDATE users SET disabled = 1 WHERE id = ?", (user["id"],))
        await self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
        await self._db.execute("DELETE FROM tokens WHERE user_id = ?", (user["id"],))
        await self._access_changed()
        return user

    async def enable_user(self, user_id: str) -> dict[str, Any]:
        """Let a disabled user log in again (their old tokens stay revoked)."""
        user = await self._require(user_id)
        await self._db.execute("UPDATE users SET disabled = 0 WHERE id = ?", (user["id"],))
        return user

    async def set_password(self, user_id: str, password: str) -> dict[str, Any]:
        """Give a user a new password and end their sessions (a reset by an admin)."""
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must be at least {MIN_PASSWORD} characters")
        user = await self._require(user_id)
        await self._db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (hash_password(password), user["id"])
        )
        await self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
        await self._access_changed()
        return user

    async def delete_user(self, user_id: str) -> dict[str, Any]:
        """Delete a user (not the last admin), their sessions and tokens."""
        user = await self._require(user_id)
        await self._guard_last_admin(user, "deleted")
        await self._db.execute("DELETE FROM sessions WHERE user_id = ?", (user["id"],))
        await self._db.execute("DELETE FROM tokens WHERE user_id = ?", (user["id"],))
        await self._db.execute("DELETE FROM users WHERE id = ?", (user["id"],))
        await self._access_changed()
        return user

    # -- tokens ----------------------------------------------------------------

    async def create_token(self, user: User, name: str, expires_in: float | None = None) -> str:
        """Create an API token; the clear value is returned once.

        ``expires_in``: seconds until it stops working; None for a long-lived one.
        """
        value, _info = await self.issue_token(user, name, expires_in)
        return value

    async def issue_token(
        self, user: User, name: str, expires_in: float | None = None
    ) -> tuple[str, TokenInfo]:
        """Like :meth:`create_token`, and return the token's listing (its id) too."""
        if expires_in is not None and expires_in <= 0:
            raise AuthError("a token's lifetime must be positive")
        await self._ready()
        token = "shub_" + secrets.token_urlsafe(32)
        now = self._time()
        expires_at = None if expires_in is None else now + expires_in
        token_id = ulid()
        await self._db.execute(
            "INSERT INTO tokens (id, user_id, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (token_id, user.id, name, _sha(token), now, expires_at),
        )
        return token, TokenInfo(token_id, name, user.id, user.username, now, expires_at, None)

    async def user_for_token(self, token: str) -> User | None:
        """Return the user a bearer token belongs to (None once revoked or expired)."""
        await self._ready()
        row = await self._db.fetchone(
            "SELECT u.id, u.username, u.role, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ? AND u.disabled = 0",
            (_sha(token),),
        )
        if row is None or (row["expires_at"] is not None and row["expires_at"] <= self._time()):
            return None
        return User(row["id"], row["username"], row["role"])

    async def tokens(self, user_id: str | None = None) -> list[TokenInfo]:
        """List tokens (all, or one user's), newest first."""
        await self._ready()
        where, params = ("WHERE t.user_id = ?", (user_id,)) if user_id else ("", ())
        rows = await self._db.fetchall(
            "SELECT t.id, t.name, t.user_id, u.username, t.created_at, t.expires_at, t.last_used "
            f"FROM tokens t JOIN users u ON u.id = t.user_id {where} ORDER BY t.created_at DESC",
            params,
        )
        return [
            TokenInfo(
                r["id"],
                r["name"] or "",
                r["user_id"],
                r["username"],
                r["created_at"],
                r["expires_at"],
                r["last_used"],
            )
            for r in rows
        ]

    async def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token by id: it fails at once, on open streams too."""
        for info in await self.tokens():
            if info.id == token_id:
                await self._db.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
                await self._access_changed()
                return info
        raise UnknownAccess(f"no token {token_id!r}")

    # -- sessions ----------------------------------------------------------------

    async def create_session(self, user: User) -> tuple[str, str]:
        """Start a login session; return (session id, CSRF token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = self._time()
        await self._db.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (_sha(sid), user.id, csrf, now, now + SESSION_SECONDS),
        )
        return sid, csrf

    async def session(self, sid: str) -> tuple[User, str] | None:
        """Return (user, csrf) for a live session."""
        row = await self._db.fetchone(
            "SELECT u.id, u.username, u.role, s.csrf, s.expires_at FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND u.disabled = 0",
            (_sha(sid),),
        )
        if row is None or row["expires_at"] < self._time():
            return None
        return User(row["id"], row["username"], row["role"]), row["csrf"]

    async def end_session(self, sid: str) -> None:
        """Log out."""
        await self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (_sha(sid),))
