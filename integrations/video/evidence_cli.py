"""``safetyhub evidence verify PACK.zip [--key PUB]``: check an evidence pack offline.

Exits 0 when the pack is whole and both signatures hold; 1 otherwise, naming
every changed, added or removed file; 2 when the key given cannot be read.
It opens no hub, no database and no network connection, so it runs on a
court's laptop with only SafetyHub (or just ``cryptography``) installed.
"""

from __future__ import annotations

from pathlib import Path

import click

from integrations.video.evidence import PublicKey, parse_public_key
from integrations.video.evidence_pack import verify_pack

__all__ = ("evidence_group",)


def _read_key(value: str | None) -> PublicKey | None:
    if value is None:
        return None
    path = Path(value)
    text = path.read_text(encoding="utf-8") if path.is_file() else value
    try:
        return parse_public_key(text)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


@click.group("evidence")
def evidence_group() -> None:
    """Evidence packs of footage requests (signed zips)."""


@evidence_group.command("verify")
@click.argument("pack", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--key",
    "key",
    help="the station's public key (a file or the base64/PEM text, from /api/station/keys); "
    "without it the key inside the pack is used, which proves integrity but not origin",
)
@click.option("--hub-key", "hub_key", help="the hub's public key, if you hold it from the owner")
def verify(pack: Path, key: str | None, hub_key: str | None) -> None:
    """Check PACK.zip: signatures and every file's SHA-256; name every changed, added or removed file."""
    station_key = _read_key(key)
    report = verify_pack(pack, station_key=station_key, hub_key=_read_key(hub_key))
    request = report.request
    station = report.station.get("id", "?")
    hub = report.hub.get("id", "?")
    if report.ok:
        click.echo(f"OK: {pack.name}: {report.files} files intact")
        click.echo(
            f"  station {station} signed it (key {(report.station.get('key') or {}).get('fingerprint', '?')})"
        )
        click.echo(
            f"  hub {hub} signed its part (key {(report.hub.get('key') or {}).get('fingerprint', '?')})"
        )
        if request:
            click.echo(
                f"  request {request.get('id')}: case {request.get('case_number') or '-'}, "
                f"cameras {', '.join(request.get('cameras') or [])}"
            )
        if not report.key_given:
            click.echo(
                "  note: checked with the key inside the pack; pass --key with the station's published "
                "key to prove who signed it"
            )
        return
    click.echo(
        f"FAILED: {pack.name}: {len(report.names())} file(s) do not match the signed manifest", err=True
    )
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    raise SystemExit(1)
