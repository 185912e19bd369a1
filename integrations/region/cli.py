"""``safetyhub region ...``: station accounts, ACL and mosquitto.conf for a region's broker.

The station tier's broker admin (``integrations.station.broker``) one tier up:
the same password file format, the same ACL rebuilt whole from it, the same
mosquitto.conf, with the region's topic root and kinds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from integrations.region.const import DOWN_KINDS, REGION_ROOT, UP_KINDS
from integrations.station.broker import Tier

__all__ = ("region_group", "REGION_TIER", "region_link_block")

#: What a region's broker admits: stations under ``ssz/v1/region/<region>/<station>/``.
REGION_TIER = Tier(
    root=REGION_ROOT,
    up=UP_KINDS,
    down=DOWN_KINDS,
    owner="region",
    member="Station",
    command="safetyhub region add-station",
    default_user="region",
)


def _load(config: Path) -> tuple[Any, Any, Path]:
    from hub.bootstrap import load
    from integrations.region.config import RegionConfig

    loaded = load(config)
    if loaded.errors:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    cfg = loaded.blocks.get("region")
    if not isinstance(cfg, RegionConfig) or loaded.core is None:
        raise click.ClickException(f"{config}: no region: block (this command is for the region role)")
    return cfg, loaded.core, loaded.config_dir


def _store_path(core: Any, cfg: Any, config_dir: Path) -> Path:
    data_dir = Path(core.data_dir)
    data_dir = data_dir if data_dir.is_absolute() else config_dir / data_dir
    path = Path(cfg.database.path)
    return path if path.is_absolute() else data_dir / path


async def _register(path: Path, station_id: str, name: str, *, remove: bool = False) -> bool:
    from integrations.region.store import RegionStore

    store = RegionStore(path)
    await store.open()
    try:
        if remove:
            return await store.unregister_station(station_id)
        return await store.register_station(station_id, name, time.time())
    finally:
        await store.close()


def region_link_block(cfg: Any, station_id: str, *, ca_file: str | None) -> str:
    """Return the ``region_link:`` block a station pastes into its config.yaml."""
    lines = [
        "region_link:",
        f"  region: {cfg.id}",
        f"  broker: {cfg.public_broker}",
        f"  username: {station_id}",
        "  password: !secret region_password",
    ]
    if ca_file and cfg.public_broker.startswith("mqtts://"):
        lines.append(f"  ca_file: {ca_file}   # the region's CA certificate, copied beside this file")
    return "\n".join(lines) + "\n"


config_option = click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.yaml"),
    show_default=True,
    help="the region's config file",
)


@click.group("region")
def region_group() -> None:
    """Region role: station accounts, ACL and the broker's config."""


@region_group.command("add-station")
@click.argument("station_id")
@config_option
@click.option("--name", default="", help="the station's display name at the region")
@click.option("--password-stdin", is_flag=True, help="read the station's password from stdin")
@click.option(
    "--ca-file", default="region-ca.pem", show_default=True, help="CA file name in the printed block"
)
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def add_station(
    station_id: str, config: Path, name: str, password_stdin: bool, ca_file: str, reload: bool
) -> None:
    """Create STATION_ID's broker account and ACL, and print its region_link: block."""
    from integrations.federation.protocol import NAME_RE
    from integrations.station.broker import BrokerFiles, new_password

    if not NAME_RE.match(station_id):
        raise click.ClickException(
            f"{station_id!r} is not a station id: use a-z, 0-9 and '-' (the station's station.id)"
        )
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    if station_id == files.station_user:
        raise click.ClickException(f"{station_id!r} is the region's own broker account")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else new_password()
    if len(password) < 12:
        raise click.ClickException("the password must have at least 12 characters")
    files.ensure_station_user()
    replaced = station_id in files.hubs()
    files.set_user(station_id, password)
    asyncio.run(_register(_store_path(core, cfg, config_dir), station_id, name))
    click.echo(
        f"Station {station_id} {'updated (new password)' if replaced else 'added'} at region {cfg.id}."
    )
    click.echo(f"  password file: {files.passwd} (PBKDF2-SHA512, mosquitto format)")
    click.echo(f"  ACL:           {files.acl} (only {REGION_ROOT}/{cfg.id}/{station_id}/#)")
    pid = files.reload() if reload else None
    if pid is not None:
        click.echo(f"  broker:        reloaded (SIGHUP to pid {pid})")
    else:
        click.echo(f"  broker:        reload it with: kill -HUP $(cat {files.pid_file})")
    click.echo("")
    click.echo("Paste into the station's config.yaml:")
    click.echo("")
    click.echo(region_link_block(cfg, station_id, ca_file=ca_file or None))
    click.echo("and into the station's secrets.yaml:")
    click.echo("")
    click.echo(f'region_password: "{password}"')


@region_group.command("remove-station")
@click.argument("station_id")
@config_option
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def remove_station(station_id: str, config: Path, reload: bool) -> None:
    """Revoke STATION_ID's broker account (its history at the region stays)."""
    from integrations.station.broker import BrokerFiles

    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    existed = files.remove_user(station_id)
    registered = asyncio.run(_register(_store_path(core, cfg, config_dir), station_id, "", remove=True))
    if not existed and not registered:
        raise click.ClickException(f"no station {station_id!r} at region {cfg.id}")
    pid = files.reload() if reload else None
    click.echo(
        f"Station {station_id} removed from region {cfg.id}"
        + (f"; broker reloaded (pid {pid})." if pid else ".")
    )


@region_group.command("broker-config")
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="where to write mosquitto.conf ('-' prints it)",
)
@click.option(
    "--run-as", default=None, help="the OS user mosquitto drops to (root by default when run as root)"
)
@click.option("--log-file", is_flag=True, help="log to <broker_dir>/mosquitto.log instead of stderr")
def broker_config(config: Path, out: Path | None, run_as: str | None, log_file: bool) -> None:
    """Write the region broker's mosquitto.conf (TLS, persistence, passwords, ACL, no anonymous)."""
    from integrations.station.broker import BrokerFiles, mosquitto_conf, write_passwd

    cfg, _core, config_dir = _load(config)
    if run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        run_as = "root"
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    files.dir.mkdir(parents=True, exist_ok=True)
    files.data.mkdir(parents=True, exist_ok=True)
    files.ensure_station_user()
    if not files.passwd.exists():
        write_passwd(files.passwd, {})
    files.write_acl()
    text = mosquitto_conf(files, run_as=run_as, log_file=log_file)
    if out is not None and str(out) == "-":
        click.echo(text, nl=False)
        return
    target = out or files.conf
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
    click.echo(f"run the broker with: mosquitto -c {target}")
