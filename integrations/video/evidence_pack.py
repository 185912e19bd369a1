"""The signed evidence pack: one zip a court can check offline (DESIGN §12).

Layout::

    manifest.json        the station's manifest (canonical JSON): format, station, hub, request,
                         windows, approvals, audit entries, export, and ``files``: path, size,
                         SHA-256 and kind of every other file in the pack
    manifest.sig         the station's Ed25519 signature of manifest.json's exact bytes (base64)
    hub/manifest.json    the hub's part, exactly as the hub signed it: the request as the hub
                         received it, its decision and approvals, each clip's SHA-256, its audit
    hub/manifest.sig     the hub's Ed25519 signature of hub/manifest.json (base64)
    clips/<camera>/<item>.mp4        the clips, cut by the hub on keyframes (no transcode)
    snapshots/<camera>/<id>.jpg      the camera's snapshots stored at the station for the window
    keys/station.pem, keys/hub.pem   the public keys, for convenience (the manifest carries them too)

Every entry is stored uncompressed, so a changed byte in the archive is a
changed byte of one file, which :func:`verify_pack` names.  Verification needs
only this module and ``cryptography``: no hub, no network.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from integrations.video.evidence import EvidenceKey, PublicKey, canonical, parse_public_key, sha256_hex

__all__ = (
    "FORMAT",
    "HUB_FORMAT",
    "PackFile",
    "Problem",
    "VerifyReport",
    "write_pack",
    "verify_pack",
    "MANIFEST",
    "MANIFEST_SIG",
    "HUB_MANIFEST",
    "HUB_MANIFEST_SIG",
    "clip_path",
    "hub_manifest_bytes",
    "file_sha256",
    "sha256_hex",
)

FORMAT = "safetyhub-evidence/1"
HUB_FORMAT = "safetyhub-hub-footage/1"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
HUB_MANIFEST = "hub/manifest.json"
HUB_MANIFEST_SIG = "hub/manifest.sig"
_CHUNK = 1024 * 1024
#: A fixed timestamp for every zip entry: the pack's times are in the signed manifest, and a
#: zip header date (local time, 2-second resolution) would only be another thing to explain.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)

ProblemKind = Literal["changed", "added", "removed", "signature", "unreadable"]


@dataclass(frozen=True)
class PackFile:
    """One file to put in a pack: its path inside, where its bytes come from, and what it is."""

    path: str
    kind: str
    source: Path | None = None
    data: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _entry(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _copy_in(zf: zipfile.ZipFile, item: PackFile) -> tuple[int, str]:
    """Write one file into the archive, hashing it on the way; return (size, SHA-256)."""
    digest = hashlib.sha256()
    size = 0
    with zf.open(_entry(item.path), "w", force_zip64=True) as out:
        if item.data is not None:
            out.write(item.data)
            digest.update(item.data)
            size = len(item.data)
        elif item.source is not None:
            with item.source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        else:
            raise ValueError(f"{item.path}: no bytes given")
    return size, digest.hexdigest()


def write_pack(
    dest: IO[bytes] | Path,
    *,
    manifest: dict[str, Any],
    files: Iterable[PackFile],
    station_key: EvidenceKey,
) -> dict[str, Any]:
    """Write a pack: ``files``, then the manifest listing them (with their hashes) and its signature.

    ``manifest`` is everything but ``files`` and ``format``, which are added
    here from what was actually written.  Returns the manifest as signed.
    """
    listed: list[dict[str, Any]] = []
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        seen: set[str] = set()
        for item in files:
            if item.path in seen or item.path in (MANIFEST, MANIFEST_SIG):
                raise ValueError(f"{item.path}: named twice in the pack")
            seen.add(item.path)
            size, digest = _copy_in(zf, item)
            listed.append({"path": item.path, "kind": item.kind, "size": size, "sha256": digest, **item.meta})
        signed = {**manifest, "format": FORMAT, "files": listed}
        body = canonical(signed)
        zf.writestr(_entry(MANIFEST), body)
        zf.writestr(_entry(MANIFEST_SIG), station_key.sign_b64(body) + "\n")
    return signed


# -- verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack, about one file."""

    path: str
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path} ({self.detail})"


@dataclass
class VerifyReport:
    """What :func:`verify_pack` found."""

    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    station: dict[str, Any] = field(default_factory=dict)
    hub: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    #: Whether the station key was given from outside (``--key``) rather than read from the pack.
    key_given: bool = False

    @property
    def ok(self) -> bool:
        """Return whether the pack is intact and both signatures hold."""
        return not self.problems

    def add(self, path: str, kind: ProblemKind, detail: str) -> None:
        """Record a problem once per file and kind."""
        if not any(p.path == path and p.kind == kind for p in self.problems):
            self.problems.append(Problem(path, kind, detail))

    def names(self) -> list[str]:
        """Return the files named by problems, in order, each once."""
        return list(dict.fromkeys(p.path for p in self.problems))


def _read_all(zf: zipfile.ZipFile, report: VerifyReport) -> tuple[dict[str, str], dict[str, bytes]]:
    """Hash every entry; keep the small JSON/signature files; note entries the zip itself finds damaged."""
    hashes: dict[str, str] = {}
    small: dict[str, bytes] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        digest = hashlib.sha256()
        keep = info.filename in (MANIFEST, MANIFEST_SIG, HUB_MANIFEST, HUB_MANIFEST_SIG)
        buf = bytearray()
        try:
            with zf.open(info) as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    if keep:
                        buf += chunk
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
            # The archive's own CRC caught the change before any hash could.
            report.add(info.filename, "changed", f"its bytes do not match the archive's checksum: {err}")
            continue
        hashes[info.filename] = digest.hexdigest()
        if keep:
            small[info.filename] = bytes(buf)
    return hashes, small


def _key_of(doc: Any) -> PublicKey | None:
    if isinstance(doc, dict) and isinstance(doc.get("public"), str):
        try:
            return parse_public_key(doc["public"])
        except ValueError:
            return None
    return None


def verify_pack(
    path: Path | IO[bytes], *, station_key: PublicKey | None = None, hub_key: PublicKey | None = None
) -> VerifyReport:
    """Check a pack offline: both signatures, and every file against the signed hashes.

    Without ``station_key`` the key inside the pack is used, which proves the
    pack is whole but not *who* made it: give the station's published key
    (``--key``) for that.  Every changed, added or removed file is named.
    """
    report = VerifyReport(key_given=station_key is not None)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        report.add(str(path), "unreadable", f"not a readable zip archive: {err}")
        return report
    with zf:
        hashes, small = _read_all(zf, report)
    raw = small.get(MANIFEST)
    if raw is None:
        if MANIFEST not in {p.path for p in report.problems}:
            report.add(MANIFEST, "removed", "the pack has no manifest")
        return report
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except ValueError as err:
        report.add(MANIFEST, "changed", f"not valid JSON any more: {err}")
        return report
    report.station = dict(manifest.get("station") or {})
    report.hub = dict(manifest.get("hub") or {})
    report.request = dict(manifest.get("request") or {})
    # -- the station's signature over the whole manifest
    inside = _key_of(report.station.get("key"))
    key = station_key or inside
    sig = small.get(MANIFEST_SIG)
    if sig is None:
        if MANIFEST_SIG not in {p.path for p in report.problems}:
            report.add(MANIFEST_SIG, "removed", "the station's signature is missing")
    elif key is None:
        report.add(MANIFEST, "signature", "no station key to check the signature with")
    elif not key.verify_b64(sig.decode(errors="replace"), raw):
        report.add(MANIFEST, "signature", f"the station's signature (key {key.fingerprint}) does not match")
    if station_key is not None and inside is not None and inside.raw != station_key.raw:
        report.add(
            MANIFEST,
            "signature",
            f"the pack names station key {inside.fingerprint}, not the trusted key {station_key.fingerprint}",
        )
    # -- every file against the signed list
    listed: dict[str, dict[str, Any]] = {}
    for item in manifest.get("files") or []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            listed[item["path"]] = item
    damaged = {p.path for p in report.problems if p.kind == "changed"}
    for name, item in listed.items():
        if name in damaged:
            continue
        if name not in hashes:
            report.add(name, "removed", "listed in the manifest but not in the pack")
        elif hashes[name] != item.get("sha256"):
            report.add(
                name,
                "changed",
                f"SHA-256 {hashes[name][:16]}… is not the signed {str(item.get('sha256'))[:16]}…",
            )
    for name in hashes:
        if name not in listed and name not in (MANIFEST, MANIFEST_SIG):
            report.add(name, "added", "not listed in the signed manifest")
    report.files = len(listed)
    _verify_hub_part(report, small, hashes, hub_key or _key_of(report.hub.get("key")))
    return report


def _verify_hub_part(
    report: VerifyReport, small: dict[str, bytes], hashes: dict[str, str], key: PublicKey | None
) -> None:
    """Check the hub's signature of its manifest and that each clip is the one the hub hashed."""
    raw, sig = small.get(HUB_MANIFEST), small.get(HUB_MANIFEST_SIG)
    if raw is None or sig is None:
        return  # already named as removed or changed against the station's list
    if key is None:
        report.add(HUB_MANIFEST, "signature", "no hub key to check the hub's signature with")
        return
    if not key.verify_b64(sig.decode(errors="replace"), raw):
        report.add(HUB_MANIFEST, "signature", f"the hub's signature (key {key.fingerprint}) does not match")
        return
    try:
        hub_doc = json.loads(raw)
    except ValueError:
        report.add(HUB_MANIFEST, "changed", "not valid JSON")
        return
    for item in hub_doc.get("items") or []:
        name = f"clips/{item.get('camera')}/{item.get('id')}.mp4"
        if name in hashes and hashes[name] != item.get("sha256"):
            report.add(name, "changed", "not the clip the hub signed")
        elif name not in hashes and name not in {p.path for p in report.problems}:
            report.add(name, "removed", "the hub delivered this clip; it is not in the pack")


def clip_path(camera: str, item_id: str) -> str:
    """Return where a clip sits in a pack."""
    return f"clips/{camera}/{item_id}.mp4"


def hub_manifest_bytes(doc: dict[str, Any]) -> bytes:
    """Return the bytes a hub signs for its part (canonical JSON with the format stamped)."""
    return canonical({**doc, "format": HUB_FORMAT})


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
