"""``safetyhub region ...``: station accounts, ACL and mosquitto.conf for a region's broker.

The station tier's broker admin (``integrations.station.broker``) one tier up:
the same password file format, the same ACL rebuilt whole from it, the same
mosquitto.conf, with the region's topic root and kinds.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import click

from integrations.region.const import DOWN_KINDS, REGION_ROOT, UP_KINDS
from integrations.station.broker import BrokerFiles, Tier, uplink_block
from integrations.station.cli import (
    check_member_id,
    create_member_account,
    load_role,
    report_member_added,
    report_member_removed,
    role_config_option,
    write_broker_config,
)

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
    from integrations.region.config import RegionConfig

    return load_role(config, "region", RegionConfig)


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
    return uplink_block(
        "region_link", "region", "region_password", "region", cfg, station_id, ca_file=ca_file
    )


config_option = role_config_option("region")


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
    check_member_id(station_id, REGION_TIER)
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    password, replaced = create_member_account(files, station_id, password_stdin=password_stdin)
    asyncio.run(_register(_store_path(core, cfg, config_dir), station_id, name))
    report_member_added(
        files,
        station_id,
        replaced=replaced,
        reload=reload,
        block=region_link_block(cfg, station_id, ca_file=ca_file or None),
        secret="region_password",
        password=password,
    )


@region_group.command("remove-station")
@click.argument("station_id")
@config_option
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def remove_station(station_id: str, config: Path, reload: bool) -> None:
    """Revoke STATION_ID's broker account (its history at the region stays)."""
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    existed = files.remove_user(station_id)
    registered = asyncio.run(_register(_store_path(core, cfg, config_dir), station_id, "", remove=True))
    report_member_removed(files, station_id, existed=existed, registered=registered, reload=reload)


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
    cfg, _core, config_dir = _load(config)
    if run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        run_as = "root"
    files = BrokerFiles(cfg, config_dir, REGION_TIER)
    write_broker_config(files, out, run_as=run_as, log_file=log_file, rewrite_acl=True)
