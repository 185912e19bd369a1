"""``safetyhub station ...``: broker accounts, ACL and mosquitto.conf for a station.

These run outside the station process (like ``user add``): they read the
config, write the broker's files, register the hub in the station database
(the running station picks it up by itself), and ask a running broker to
reload.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ("station_group",)


def _load(config: Path) -> tuple[Any, Any, Path]:
    """Return (station config, core config, config dir) or exit with the errors."""
    from hub.bootstrap import load
    from integrations.station.config import StationConfig

    loaded = load(config)
    if loaded.errors:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    cfg = loaded.blocks.get("station")
    if not isinstance(cfg, StationConfig) or loaded.core is None:
        raise click.ClickException(f"{config}: no station: block (this command is for the station role)")
    return cfg, loaded.core, loaded.config_dir


def _data_dir(core: Any, config_dir: Path) -> Path:
    data_dir = Path(core.data_dir)
    return data_dir if data_dir.is_absolute() else config_dir / data_dir


async def _register(database: Any, data_dir: Path, hub_id: str, name: str, *, remove: bool = False) -> bool:
    from integrations.station.runtime import make_store

    store = make_store(database, data_dir)
    await store.open()
    try:
        if remove:
            return await store.unregister_hub(hub_id)
        return await store.register_hub(hub_id, name, time.time())
    finally:
        await store.close()


config_option = click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.yaml"),
    show_default=True,
    help="the station's config file",
)


@click.group("station")
def station_group() -> None:
    """Station role: hub accounts, ACL and the broker's config."""


@station_group.command("add-hub")
@click.argument("hub_id")
@config_option
@click.option("--name", default="", help="the hub's display name at the station")
@click.option(
    "--password-stdin", is_flag=True, help="read the hub's password from stdin instead of generating one"
)
@click.option(
    "--ca-file",
    default="ccoc-ca.pem",
    show_default=True,
    help="the CA file name to put in the printed federation block ('' for none)",
)
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def add_hub(hub_id: str, config: Path, name: str, password_stdin: bool, ca_file: str, reload: bool) -> None:
    """Create HUB_ID's broker account and ACL, and print its federation: block."""
    from integrations.federation.protocol import NAME_RE
    from integrations.station.broker import BrokerFiles, federation_block, new_password

    if not NAME_RE.match(hub_id):
        raise click.ClickException(f"{hub_id!r} is not a hub id: use a-z, 0-9 and '-' (the hub's hub.id)")
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir)
    if hub_id == files.station_user:
        raise click.ClickException(f"{hub_id!r} is the station's own broker account")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else new_password()
    if len(password) < 12:
        raise click.ClickException("the password must have at least 12 characters")
    files.ensure_station_user()
    replaced = hub_id in files.hubs()
    files.set_user(hub_id, password)
    asyncio.run(_register(cfg.database, _data_dir(core, config_dir), hub_id, name))
    click.echo(f"Hub {hub_id} {'updated (new password)' if replaced else 'added'} at station {cfg.id}.")
    click.echo(f"  password file: {files.passwd} (PBKDF2-SHA512, mosquitto format)")
    click.echo(f"  ACL:           {files.acl} (only ssz/v1/{cfg.id}/{hub_id}/#)")
    pid = files.reload() if reload else None
    if pid is not None:
        click.echo(f"  broker:        reloaded (SIGHUP to pid {pid})")
    else:
        click.echo(f"  broker:        reload it with: kill -HUP $(cat {files.pid_file})")
    click.echo("")
    click.echo("Paste into the hub's config.yaml:")
    click.echo("")
    click.echo(federation_block(cfg, hub_id, ca_file=ca_file or None))
    click.echo("and into the hub's secrets.yaml:")
    click.echo("")
    click.echo(f'federation_password: "{password}"')


@station_group.command("remove-hub")
@click.argument("hub_id")
@config_option
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def remove_hub(hub_id: str, config: Path, reload: bool) -> None:
    """Revoke HUB_ID's broker account (its history at the station stays)."""
    from integrations.station.broker import BrokerFiles

    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir)
    existed = files.remove_user(hub_id)
    registered = asyncio.run(_register(cfg.database, _data_dir(core, config_dir), hub_id, "", remove=True))
    if not existed and not registered:
        raise click.ClickException(f"no hub {hub_id!r} at station {cfg.id}")
    pid = files.reload() if reload else None
    click.echo(
        f"Hub {hub_id} removed from station {cfg.id}" + (f"; broker reloaded (pid {pid})." if pid else ".")
    )


@station_group.command("broker-config")
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="where to write mosquitto.conf (default: <broker_dir>/mosquitto.conf; '-' prints it)",
)
@click.option(
    "--run-as",
    default=None,
    help="the OS user mosquitto drops to (default when run as root: root, so it can read its files)",
)
@click.option("--log-file", is_flag=True, help="log to <broker_dir>/mosquitto.log instead of stderr")
def broker_config(config: Path, out: Path | None, run_as: str | None, log_file: bool) -> None:
    """Write the station broker's mosquitto.conf (TLS, persistence, passwords, ACL, no anonymous)."""
    from integrations.station.broker import BrokerFiles, mosquitto_conf

    cfg, _core, config_dir = _load(config)
    if run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        # Started as root, mosquitto 2 drops to the user "mosquitto", which cannot read the
        # root-owned password file or write the persistence folder we create: it exits.
        run_as = "root"
        click.echo(
            "note: running as root, so mosquitto.conf says `user root`; to drop privileges, "
            "pass --run-as mosquitto and chown the broker folder to that user",
            err=True,
        )
    files = BrokerFiles(cfg, config_dir)
    files.dir.mkdir(parents=True, exist_ok=True)
    files.data.mkdir(parents=True, exist_ok=True)
    files.ensure_station_user()
    if not files.acl.exists():
        files.write_acl()
    if not files.passwd.exists():
        from integrations.station.broker import write_passwd

        write_passwd(files.passwd, {})
    text = mosquitto_conf(files, run_as=run_as, log_file=log_file)
    if out is not None and str(out) == "-":
        click.echo(text, nl=False)
        return
    target = out or files.conf
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
    click.echo(f"run the broker with: mosquitto -c {target}")
    if not cfg.password:
        click.echo(
            "note: station.password is not set, so the station's own account was not written", err=True
        )
