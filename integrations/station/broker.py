"""Mosquitto administration for a station: password file, ACL and mosquitto.conf.

The password file uses mosquitto 2.x's own format, written here without
needing ``mosquitto_passwd`` on the machine::

    user:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512 hash>

(mosquitto reads the iteration count from each line, so a higher count than
``mosquitto_passwd``'s 101 is accepted and makes a stolen file slower to
crack.  Not much higher: mosquitto checks passwords on its one thread, and
a thousand hubs reconnecting after a restart at 10,000 rounds each would
stall the broker for ten seconds.)  The ACL is rebuilt whole from the password file on every change, so
it can never drift from the accounts: the station account may read and
write everything under ``ssz/v1/<station>/``; each hub account may write only
its own upward kinds and read only its own ``ack`` and ``cmd``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from integrations.federation.const import DOWN_KINDS, TOPIC_ROOT, UP_KINDS
from integrations.station.config import ListenerConfig, LocalListenerConfig, StationConfig

__all__ = (
    "BrokerFiles",
    "BrokerOwner",
    "Tier",
    "STATION_TIER",
    "hash_password",
    "verify_password",
    "read_passwd",
    "write_passwd",
    "acl_text",
    "mosquitto_conf",
    "federation_block",
    "uplink_block",
    "new_password",
)

#: PBKDF2 rounds for new entries (mosquitto_passwd 2.0.11 uses 101); ~1 ms per login.
ITERATIONS = 1_000
_SALT_BYTES = 12


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """Return a mosquitto 2.x ``$7$`` password hash."""
    if not password:
        raise ValueError("empty password")
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against a ``$7$`` hash."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    iterations, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    return secrets.compare_digest(
        hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations), digest
    )


def new_password() -> str:
    """Return a fresh random password (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(24)


def read_passwd(path: Path) -> dict[str, str]:
    """Return ``{user: hash}`` from a mosquitto password file (missing file: empty)."""
    entries: dict[str, str] = {}
    if not path.is_file():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        user, _, encoded = line.partition(":")
        entries[user] = encoded
    return entries


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 (the file holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_passwd(path: Path, entries: dict[str, str]) -> None:
    """Write a mosquitto password file."""
    _write_private(path, "".join(f"{user}:{encoded}\n" for user, encoded in sorted(entries.items())))


@dataclass(frozen=True)
class Tier:
    """What one tier's broker admits: the topic root, the kinds going up and down, the words.

    A station's broker takes hubs under ``ssz/v1/<station>/<hub>/``; a region's takes
    stations under ``ssz/v1/region/<region>/<station>/`` with the same files and rules.
    """

    root: str = TOPIC_ROOT
    up: tuple[str, ...] = UP_KINDS
    down: tuple[str, ...] = DOWN_KINDS
    owner: str = "station"
    member: str = "Hub"
    command: str = "safetyhub station add-hub"
    default_user: str = "ccoc"


STATION_TIER = Tier()


def acl_text(station_id: str, station_user: str, hubs: list[str], tier: Tier = STATION_TIER) -> str:
    """Return the ACL: the station sees its prefix, each hub only its own topics."""
    prefix = f"{tier.root}/{station_id}"
    lines = [
        f"# ACL for {tier.owner} {station_id}; written by `{tier.command}`: do not edit by hand.",
        "",
        f"# The {tier.owner} ({station_user}) reads what its members send and writes acks and commands.",
        f"user {station_user}",
        f"topic readwrite {prefix}/#",
    ]
    for hub_id in sorted(hubs):
        lines += [
            "",
            f"# {tier.member} {hub_id}: its own prefix only, {prefix}/{hub_id}/#.",
            f"user {hub_id}",
        ]
        lines += [f"topic write {prefix}/{hub_id}/{kind}" for kind in tier.up]
        lines += [f"topic read {prefix}/{hub_id}/{kind}" for kind in tier.down]
    return "\n".join(lines) + "\n"


class BrokerOwner(Protocol):
    """The config keys the broker's files are made from (the ``station:`` or ``region:`` block)."""

    @property
    def id(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def broker_dir(self) -> str: ...
    @property
    def listener(self) -> ListenerConfig: ...
    @property
    def local_listener(self) -> LocalListenerConfig | None: ...
    @property
    def max_payload(self) -> int: ...
    @property
    def max_snapshot(self) -> int: ...
    @property
    def expected_hubs(self) -> int: ...
    @property
    def hub_window(self) -> int: ...
    @property
    def max_queued_messages(self) -> int: ...


class BrokerFiles:
    """The station broker's files under ``broker_dir``."""

    def __init__(self, cfg: BrokerOwner, config_dir: Path, tier: Tier = STATION_TIER) -> None:
        self.cfg = cfg
        self.tier = tier
        folder = Path(cfg.broker_dir)
        self.dir = (folder if folder.is_absolute() else config_dir / folder).resolve()
        self.config_dir = config_dir
        self.passwd = self.dir / "passwd"
        self.acl = self.dir / "acl"
        self.conf = self.dir / "mosquitto.conf"
        self.pid_file = self.dir / "mosquitto.pid"
        self.data = self.dir / "data"

    @property
    def station_user(self) -> str:
        """Return the station's own broker account."""
        return self.cfg.username or self.tier.default_user

    def hubs(self) -> list[str]:
        """Return the hub accounts in the password file."""
        return sorted(u for u in read_passwd(self.passwd) if u != self.station_user)

    def set_user(self, user: str, password: str) -> None:
        """Add or replace one account, then rebuild the ACL."""
        entries = read_passwd(self.passwd)
        entries[user] = hash_password(password)
        write_passwd(self.passwd, entries)
        self.write_acl()

    def remove_user(self, user: str) -> bool:
        """Remove one account and rebuild the ACL; return whether it existed."""
        entries = read_passwd(self.passwd)
        existed = entries.pop(user, None) is not None
        write_passwd(self.passwd, entries)
        self.write_acl()
        return existed

    def ensure_station_user(self) -> bool:
        """Make sure the station's own account matches the configured password; return whether it changed."""
        password = self.cfg.password
        if not password:
            return False
        current = read_passwd(self.passwd).get(self.station_user)
        if current is not None and verify_password(password, current):
            return False
        self.set_user(self.station_user, password)
        return True

    def write_acl(self) -> None:
        """Rebuild the ACL from the password file."""
        _write_private(self.acl, acl_text(self.cfg.id, self.station_user, self.hubs(), self.tier))

    def reload(self) -> int | None:
        """Ask a running broker to re-read passwd and acl (SIGHUP); return its pid, or None."""
        import signal

        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError):
            return None
        return pid

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else (self.config_dir / path).resolve()


def mosquitto_conf(files: BrokerFiles, *, run_as: str | None = None, log_file: bool = False) -> str:
    """Return a mosquitto.conf for the station (see ``docs/federation.md``)."""
    cfg = files.cfg
    ln = cfg.listener
    # A snapshot is the biggest message; allow it plus room for the envelope.
    size_limit = max(cfg.max_snapshot, cfg.max_payload) + 64 * 1024
    lines = [
        f"# Mosquitto for SafetyHub {files.tier.owner} {cfg.id}; written by `safetyhub {files.tier.owner} broker-config`.",
        f"# Run: mosquitto -c {files.conf}",
        "",
        "# One set of rules for every listener: per_listener_settings true breaks",
        "# persistent sessions in mosquitto >= 2.0.12 (eclipse-mosquitto#2618).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        "",
        "# Persistent sessions and queued QoS 1 messages survive a broker restart. The default",
        "# autosave is every 30 minutes, far too long for a power cut: save every 10 s.",
        "persistence true",
        f"persistence_location {files.data}/",
        "autosave_interval 10",
        f"pid_file {files.pid_file}",
        "",
        f"# Queue per client: {cfg.expected_hubs} members x {cfg.hub_window} in flight, doubled, so a",
        f"# {files.tier.owner} restart never drops an SOS behind telemetry (a full queue drops the NEWEST).",
        f"max_queued_messages {cfg.max_queued_messages}",
        "max_inflight_messages 1000",
        "# Hubs with persistent sessions that never return are forgotten after two weeks.",
        "persistent_client_expiration 14d",
        f"message_size_limit {size_limit}",
        "set_tcp_nodelay true",
        "",
    ]
    if log_file:
        lines += [f"log_dest file {files.dir / 'mosquitto.log'}"]
    else:
        lines += ["log_dest stderr"]
    lines += ["log_type error", "log_type warning", "log_type notice", "connection_messages true", ""]
    if run_as:
        lines += [f"user {run_as}", ""]
    lines += [
        f"# {files.tier.member}s connect here{' (TLS)' if not ln.plain else ' (PLAIN: test benches on loopback only)'}.",
        f"listener {ln.port} {ln.host}",
    ]
    if not ln.plain:
        assert ln.cert_file is not None and ln.key_file is not None
        lines += [
            f"certfile {files._path(ln.cert_file)}",
            f"keyfile {files._path(ln.key_file)}",
            "tls_version tlsv1.2",
        ]
        if ln.ca_file:
            lines += [f"cafile {files._path(ln.ca_file)}"]
        if ln.require_certificate:
            lines += ["require_certificate true"]
    if cfg.local_listener is not None:
        lines += [
            "",
            f"# The {files.tier.owner}'s own process, on loopback only.",
            f"listener {cfg.local_listener.port} {cfg.local_listener.host}",
        ]
    return "\n".join(lines) + "\n"


def uplink_block(
    block: str, parent_key: str, secret: str, owner: str, cfg: Any, member_id: str, *, ca_file: str | None
) -> str:
    """Return the block a member pastes to report to ``cfg`` (``federation:``, ``region_link:``).

    ``cfg`` is the owner's block (its ``id`` and ``public_broker``); ``secret`` names the
    password in the member's secrets.yaml.
    """
    lines = [
        f"{block}:",
        f"  {parent_key}: {cfg.id}",
        f"  broker: {cfg.public_broker}",
        f"  username: {member_id}",
        f"  password: !secret {secret}",
    ]
    # Only a TLS broker needs the CA: for mqtt:// the file would not exist at the member, and
    # it would retry forever on a certificate it never uses.
    if ca_file and cfg.public_broker.startswith("mqtts://"):
        lines.append(f"  ca_file: {ca_file}   # the {owner}'s CA certificate, copied beside this file")
    return "\n".join(lines) + "\n"


def federation_block(cfg: StationConfig, hub_id: str, *, ca_file: str | None) -> str:
    """Return the ``federation:`` block a hub pastes into its config.yaml."""
    return uplink_block(
        "federation", "station", "federation_password", "station", cfg, hub_id, ca_file=ca_file
    )
