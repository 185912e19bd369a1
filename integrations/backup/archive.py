"""The backup file: a zip whose every entry but the manifest is encrypted with a passphrase.

A backup holds the config folder (config, included files, blueprints, drop-in plugins,
``secrets.yaml``), each SQLite database of the data folder, copied with SQLite's online backup
API (a consistent snapshot while the hub writes), and optionally the recordings.  Everything in
it is private: LINE tokens, the signing key in the database, camera owners' footage.  So every
file is encrypted (AES-256-GCM in 1 MiB chunks, the key from the passphrase with scrypt) and a
stolen backup is not a stolen LINE channel.

``manifest.json`` stays readable: format, hub id, role, when, SafetyHub's version, the database
schema versions, and each file's size and SHA-256 (of the plain bytes, checked on restore).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import struct
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = (
    "FORMAT",
    "BackupError",
    "BackupInfo",
    "read_manifest",
    "restore_backup",
    "write_backup",
)

FORMAT = "safetyhub-backup/1"
CHUNK = 1 << 20
#: scrypt cost: about 0.1 s and 32 MiB here, enough to make guessing a passphrase slow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_CHECK = b"safetyhub backup passphrase check"
MIN_PASSPHRASE = 12


class BackupError(Exception):
    """A backup could not be written or is refused for restore; the message says why."""


@dataclass
class BackupInfo:
    path: Path
    files: int
    size: int
    manifest: dict[str, Any] = field(default_factory=dict)


def _key(passphrase: str, salt: bytes) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(
            f"the passphrase is too short ({len(passphrase)} characters; at least {MIN_PASSPHRASE})"
        )
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())


def _chunks(source: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    data = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        yield data, not following
        if not following:
            return
        data = following


def _encrypt(aead: AESGCM, name: str, source: IO[bytes], out: IO[bytes]) -> tuple[int, str]:
    """Write ``source`` as chunks; each chunk's AAD binds the file name, its index and "last"."""
    prefix = secrets.token_bytes(8)
    digest = hashlib.sha256()
    size = 0
    out.write(prefix)
    for index, (chunk, last) in enumerate(_chunks(source)):
        digest.update(chunk)
        size += len(chunk)
        nonce = prefix + struct.pack(">I", index)
        sealed = aead.encrypt(nonce, chunk, f"{name}\n{index}\n{int(last)}".encode())
        out.write(struct.pack(">I", len(sealed)))
        out.write(sealed)
    return size, digest.hexdigest()


def _decrypt(aead: AESGCM, name: str, source: IO[bytes], out: IO[bytes]) -> str:
    prefix = source.read(8)
    digest = hashlib.sha256()
    index = 0
    while True:
        head = source.read(4)
        if len(head) != 4:
            raise BackupError(f"{name}: cut short (the backup is incomplete)")
        sealed = source.read(struct.unpack(">I", head)[0])
        # The last chunk is sealed as last: a file cut at a chunk boundary does not decrypt.
        last = not source.peek(1)  # type: ignore[attr-defined]  # a ZipExtFile, which can peek
        try:
            plain = aead.decrypt(
                prefix + struct.pack(">I", index), sealed, f"{name}\n{index}\n{int(last)}".encode()
            )
        except InvalidTag as err:
            raise BackupError(
                f"{name}: does not decrypt (changed, cut short, or a different passphrase)"
            ) from err
        digest.update(plain)
        out.write(plain)
        index += 1
        if last:
            return digest.hexdigest()


def _sqlite_copy(db: Path, dest: Path) -> None:
    """SQLite's online backup: a consistent copy while the hub keeps writing (WAL readers never block)."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=1024)
        finally:
            dst.close()
    except sqlite3.OperationalError as err:
        if "disk" in str(err) or "full" in str(err):
            raise OSError(f"{db.name}: {err}") from err
        raise BackupError(f"{db.name} could not be read: {err}") from err
    except sqlite3.DatabaseError as err:
        raise BackupError(
            f"{db.name} is not a readable SQLite database ({err}): nothing was backed up"
        ) from err
    finally:
        src.close()


def _schema_versions(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT component, MAX(version) FROM schema_migrations GROUP BY component"
        ).fetchall()
    except sqlite3.DatabaseError:
        return {}
    finally:
        con.close()
    return {str(c): int(v) for c, v in rows}


def _config_files(config_dir: Path, data_dir: Path, backup_dir: Path | None) -> list[Path]:
    skip = {data_dir.resolve()}
    if backup_dir is not None:
        skip.add(backup_dir.resolve())
    found: list[Path] = []
    for path in sorted(config_dir.rglob("*")):
        resolved = path.resolve()
        if any(resolved == s or s in resolved.parents for s in skip):
            continue
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and not path.name.endswith((".db-wal", ".db-shm"))
        ):
            found.append(path)
    return found


def write_backup(
    *,
    config_dir: Path,
    data_dir: Path,
    dest: Path,
    passphrase: str,
    hub_id: str,
    role: str,
    version: str,
    recordings: bool = False,
    backup_dir: Path | None = None,
) -> BackupInfo:
    """Write a backup to ``dest`` (via a temporary file: a full disk leaves nothing half-written)."""
    salt = secrets.token_bytes(16)
    aead = AESGCM(_key(passphrase, salt))
    check_nonce = secrets.token_bytes(12)
    dest.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "hub_id": hub_id,
        "role": role,
        "created_at": time.time(),
        "version": version,
        "kdf": {"name": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "check": (check_nonce + aead.encrypt(check_nonce, _CHECK, b"check")).hex(),
        "databases": {},
        "files": {},
        "recordings": recordings,
    }
    fd, tmp_name = tempfile.mkstemp(prefix=".backup-", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="safetyhub-backup-") as scratch,
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive,
        ):

            def add(name: str, source: Path) -> None:
                with source.open("rb") as plain, archive.open(f"files/{name}", "w", force_zip64=True) as out:
                    size, sha = _encrypt(aead, name, plain, out)
                manifest["files"][name] = {"size": size, "sha256": sha}

            for path in _config_files(config_dir, data_dir, backup_dir):
                add("config/" + path.relative_to(config_dir).as_posix(), path)
            for db in sorted(data_dir.glob("*.db")):
                copy = Path(scratch) / db.name
                _sqlite_copy(db, copy)
                manifest["databases"][db.name] = _schema_versions(copy)
                add("data/" + db.name, copy)
            if recordings:
                for path in sorted((data_dir / "recordings").rglob("*")):
                    if path.is_file():
                        add("data/" + path.relative_to(data_dir).as_posix(), path)
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, dest)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"could not write {dest}: {err.strerror or err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupInfo(dest, len(manifest["files"]), dest.stat().st_size, manifest)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup, or BackupError naming why it is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read("manifest.json")
    except FileNotFoundError as err:
        raise BackupError(f"{path}: no such file") from err
    except (zipfile.BadZipFile, KeyError) as err:
        raise BackupError(f"{path} is not a SafetyHub backup (not a zip with manifest.json)") from err
    try:
        manifest = json.loads(raw)
    except ValueError as err:
        raise BackupError(f"{path}: manifest.json is not JSON") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(
            f"{path} is not a SafetyHub backup of a known format (format {got!r}, expected {FORMAT})"
        )
    return manifest


def restore_backup(path: Path, *, config_dir: Path, passphrase: str, force: bool = False) -> dict[str, Any]:
    """Unpack a backup into ``config_dir`` (data into its ``data/`` subfolder as the config says).

    Everything is decrypted and checked into a temporary folder first; only a backup that is
    whole goes into place, so a corrupt or foreign one overwrites nothing.
    """
    manifest = read_manifest(path)
    kdf = manifest.get("kdf") or {}
    try:
        aead = AESGCM(_key(passphrase, bytes.fromhex(str(kdf["salt"]))))
        check = bytes.fromhex(str(manifest["check"]))
    except (KeyError, ValueError) as err:
        raise BackupError(f"{path}: manifest has no usable key information") from err
    try:
        aead.decrypt(check[:12], check[12:], b"check")
    except InvalidTag as err:
        raise BackupError(f"{path}: wrong passphrase") from err
    files: dict[str, Any] = manifest.get("files") or {}
    if not force and config_dir.exists() and any(config_dir.iterdir()):
        raise BackupError(f"{config_dir} is not empty: restore into an empty folder, or use --force")
    config_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=config_dir))
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n[len("files/") :] for n in archive.namelist() if n.startswith("files/")}
            extra, missing = sorted(names - files.keys()), sorted(files.keys() - names)
            if extra or missing:
                raise BackupError(f"{path}: files added {extra or '[]'}, missing {missing or '[]'}")
            for name, meta in files.items():
                if ".." in Path(name).parts or name.startswith("/"):
                    raise BackupError(f"{path}: unsafe path {name!r}")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(f"files/{name}") as sealed, target.open("wb") as plain:
                    sha = _decrypt(aead, name, sealed, plain)
                if sha != meta.get("sha256"):
                    raise BackupError(f"{path}: {name} does not match its SHA-256")
        for item in (staging / "config").iterdir() if (staging / "config").exists() else ():
            _move(item, config_dir / item.name)
        data_target = _data_dir_of(config_dir)
        data_target.mkdir(parents=True, exist_ok=True)
        for item in (staging / "data").iterdir() if (staging / "data").exists() else ():
            _move(item, data_target / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _move(source: Path, target: Path) -> None:
    if target.is_dir() and source.is_dir():
        for child in source.iterdir():
            _move(child, target / child.name)
        return
    if target.exists():
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    shutil.move(str(source), str(target))


def _data_dir_of(config_dir: Path) -> Path:
    """Where the restored config keeps its data (``hub.data_dir``, relative to the config)."""
    from hub.config import load_config_file

    config = config_dir / "config.yaml"
    data_dir = "./data"
    if config.is_file():
        raw, _errors = load_config_file(config)
        hub = raw.get("hub") if isinstance(raw, dict) else None
        if isinstance(hub, dict) and isinstance(hub.get("data_dir"), str):
            data_dir = hub["data_dir"]
    path = Path(data_dir)
    return path if path.is_absolute() else config_dir / path
