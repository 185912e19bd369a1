"""The evidence pack format and ``safetyhub evidence verify``: offline, naming every changed file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from integrations.video.evidence import EvidenceKey, parse_public_key
from integrations.video.evidence_pack import (
    HUB_MANIFEST,
    HUB_MANIFEST_SIG,
    MANIFEST,
    PackFile,
    hub_manifest_bytes,
    sha256_hex,
    verify_pack,
    write_pack,
)

CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40
SNAP = b"\xff\xd8\xff\xe0" + b"snap" * 100 + b"\xff\xd9"


def _pack(tmp_path: Path) -> tuple[Path, EvidenceKey, EvidenceKey]:
    station, hub = EvidenceKey.generate(), EvidenceKey.generate()
    hub_doc = hub_manifest_bytes(
        {
            "hub": "talat-sot-01",
            "request": {"id": "01JD0000000000000000000000", "case_number": "123/2569"},
            "items": [
                {"id": "a" * 24, "camera": "camera.gate", "sha256": sha256_hex(CLIP), "size": len(CLIP)}
            ],
        }
    )
    files = [
        PackFile(HUB_MANIFEST, "hub_manifest", data=hub_doc),
        PackFile(HUB_MANIFEST_SIG, "hub_signature", data=hub.sign_b64(hub_doc).encode()),
        PackFile(f"clips/camera.gate/{'a' * 24}.mp4", "clip", data=CLIP),
        PackFile("snapshots/camera.gate/01.jpg", "snapshot", data=SNAP),
    ]
    manifest = {
        "station": {"id": "angthong", "key": station.public.as_dict()},
        "hub": {"id": "talat-sot-01", "key": hub.public.as_dict()},
        "request": {
            "id": "01JD0000000000000000000000",
            "case_number": "123/2569",
            "cameras": ["camera.gate"],
        },
    }
    dest = tmp_path / "pack.zip"
    write_pack(dest, manifest=manifest, files=files, station_key=station)
    return dest, station, hub


def _rewrite(
    src: Path, dest: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None
) -> None:
    """Copy a pack, replacing (bytes) or dropping (None) entries, with valid zip checksums."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                replacement = change[info.filename]
                if replacement is not None:
                    zout.writestr(info, replacement)
                continue
            zout.writestr(info, zin.read(info))
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def test_intact_pack_verifies_with_the_published_key(tmp_path: Path) -> None:
    """A fresh pack passes, with the key inside and with the station's key given from outside."""
    pack, station, hub = _pack(tmp_path)
    report = verify_pack(pack)
    assert report.ok, report.problems
    assert report.files == 4  # hub manifest and its signature, the clip, the snapshot
    assert verify_pack(pack, station_key=station.public, hub_key=hub.public).ok
    manifest = json.loads(zipfile.ZipFile(pack).read(MANIFEST))
    assert {f["path"]: f["sha256"] for f in manifest["files"]}[
        f"clips/camera.gate/{'a' * 24}.mp4"
    ] == sha256_hex(CLIP)


def test_one_byte_changed_in_the_archive_names_the_clip(tmp_path: Path) -> None:
    """Flip one byte of the clip inside the zip file: verify names exactly that file."""
    pack, _station, _hub = _pack(tmp_path)
    raw = bytearray(pack.read_bytes())
    where = raw.find(bytes(range(256)) * 2)
    raw[where + 100] ^= 0x01
    pack.write_bytes(bytes(raw))
    report = verify_pack(pack)
    assert not report.ok
    assert report.names() == [f"clips/camera.gate/{'a' * 24}.mp4"]


def test_changed_added_and_removed_files_are_all_named(tmp_path: Path) -> None:
    """A re-zipped pack (valid checksums) with a changed snapshot, a removed clip and an added file."""
    pack, _station, _hub = _pack(tmp_path)
    bad = tmp_path / "bad.zip"
    _rewrite(
        pack,
        bad,
        {"snapshots/camera.gate/01.jpg": SNAP[:-3] + b"X\xff\xd9", f"clips/camera.gate/{'a' * 24}.mp4": None},
        add={"notes.txt": b"planted"},
    )
    report = verify_pack(bad)
    kinds = {(p.kind, p.path) for p in report.problems}
    assert ("changed", "snapshots/camera.gate/01.jpg") in kinds
    assert ("removed", f"clips/camera.gate/{'a' * 24}.mp4") in kinds
    assert ("added", "notes.txt") in kinds


def test_a_rewritten_manifest_fails_the_station_signature(tmp_path: Path) -> None:
    """Whoever edits the manifest (to match a changed clip) breaks the station's signature."""
    pack, station, _hub = _pack(tmp_path)
    manifest = json.loads(zipfile.ZipFile(pack).read(MANIFEST))
    manifest["request"]["case_number"] = "999/2569"
    bad = tmp_path / "bad.zip"
    _rewrite(pack, bad, {MANIFEST: json.dumps(manifest).encode()})
    report = verify_pack(bad)
    assert [(p.kind, p.path) for p in report.problems] == [("signature", MANIFEST)]


def test_a_pack_signed_by_another_station_fails_against_the_published_key(tmp_path: Path) -> None:
    """A forger can re-sign with a key of their own; only --key with the real station's key catches it."""
    pack, station, _hub = _pack(tmp_path)
    other = EvidenceKey.generate()
    with zipfile.ZipFile(pack) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    manifest["station"]["key"] = other.public.as_dict()
    from integrations.video.evidence import canonical

    body = canonical(manifest)
    bad = tmp_path / "forged.zip"
    _rewrite(pack, bad, {MANIFEST: body, "manifest.sig": other.sign_b64(body).encode()})
    assert verify_pack(bad).ok  # self-consistent...
    report = verify_pack(bad, station_key=station.public)
    assert not report.ok and report.names() == [MANIFEST]


def test_the_hub_part_is_checked_on_its_own(tmp_path: Path) -> None:
    """A hub manifest changed by the station (even re-listed and re-signed by it) fails the hub's signature."""
    pack, station, hub = _pack(tmp_path)
    with zipfile.ZipFile(pack) as zf:
        hub_doc = json.loads(zf.read(HUB_MANIFEST))
        manifest = json.loads(zf.read(MANIFEST))
    hub_doc["request"]["case_number"] = "changed"
    new_hub = json.dumps(hub_doc).encode()
    for entry in manifest["files"]:
        if entry["path"] == HUB_MANIFEST:
            entry["sha256"], entry["size"] = sha256_hex(new_hub), len(new_hub)
    from integrations.video.evidence import canonical

    body = canonical(manifest)
    bad = tmp_path / "bad.zip"
    _rewrite(
        pack, bad, {HUB_MANIFEST: new_hub, MANIFEST: body, "manifest.sig": station.sign_b64(body).encode()}
    )
    report = verify_pack(bad, station_key=station.public)
    assert [(p.kind, p.path) for p in report.problems] == [("signature", HUB_MANIFEST)]


def test_public_key_forms() -> None:
    """PEM, base64, ed25519:base64 and the JSON of /api/station/keys all read as the same key."""
    key = EvidenceKey.generate().public
    for text in (key.pem, key.b64, f"ed25519:{key.b64}", json.dumps({"public": key.b64})):
        assert parse_public_key(text).raw == key.raw
    with pytest.raises(ValueError, match="32 bytes"):
        parse_public_key("AAAA")


def test_cli_verify_exits_nonzero_naming_the_file(tmp_path: Path) -> None:
    """``safetyhub evidence verify`` (the real command line, offline) accepts, then rejects after one byte."""
    pack, station, _hub = _pack(tmp_path)
    keyfile = tmp_path / "station.pem"
    keyfile.write_text(station.public.pem, encoding="utf-8")
    cmd = [sys.executable, "-m", "hub.cli", "evidence", "verify", str(pack), "--key", str(keyfile)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    tampered = tmp_path / "tampered.zip"
    shutil.copy(pack, tampered)
    raw = bytearray(tampered.read_bytes())
    raw[raw.find(b"snapsnap") + 3] ^= 0x20
    tampered.write_bytes(bytes(raw))
    cmd[5] = str(tampered)
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 1
    assert "snapshots/camera.gate/01.jpg" in bad.stderr
    assert "clips/" not in bad.stderr
