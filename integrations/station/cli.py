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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from integrations.station.broker import STATION_TIER, BrokerFiles, Tier

__all__ = (
    "station_group",
    "load_role",
    "role_config_option",
    "check_member_id",
    "create_member_account",
    "report_member_added",
    "report_member_removed",
    "write_broker_config",
)


_F = TypeVar("_F", bound=Callable[..., Any])


def _load(config: Path) -> tuple[Any, Any, Path]:
    """Return (station config, core config, config dir) or exit with the errors."""
    from integrations.station.config import StationConfig

    return load_role(config, "station", StationConfig)


def load_role(config: Path, block: str, model: type[Any]) -> tuple[Any, Any, Path]:
    """Return (``block``'s config, core config, config dir) or exit with the errors.

    Shared by the broker-admin commands of every tier that runs a broker (station, region).
    """
    from hub.bootstrap import load

    loaded = load(config)
    if loaded.errors:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    cfg = loaded.blocks.get(block)
    if not isinstance(cfg, model) or loaded.core is None:
        raise click.ClickException(f"{config}: no {block}: block (this command is for the {block} role)")
    return cfg, loaded.core, loaded.config_dir


def check_member_id(member_id: str, tier: Tier) -> None:
    """Refuse an account name that is not a valid id of the tier's members (hubs, stations)."""
    from integrations.federation.protocol import NAME_RE

    word = tier.member.lower()
    if not NAME_RE.match(member_id):
        raise click.ClickException(
            f"{member_id!r} is not a {word} id: use a-z, 0-9 and '-' (the {word}'s {word}.id)"
        )


def create_member_account(files: BrokerFiles, member_id: str, *, password_stdin: bool) -> tuple[str, bool]:
    """Write ``member_id``'s broker account and rebuild the ACL; return (password, replaced)."""
    from integrations.station.broker import new_password

    if member_id == files.station_user:
        raise click.ClickException(f"{member_id!r} is the {files.tier.owner}'s own broker account")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else new_password()
    if len(password) < 12:
        raise click.ClickException("the password must have at least 12 characters")
    files.ensure_station_user()
    replaced = member_id in files.hubs()
    files.set_user(member_id, password)
    return password, replaced


def report_member_added(
    files: BrokerFiles,
    member_id: str,
    *,
    replaced: bool,
    reload: bool,
    block: str,
    secret: str,
    password: str,
) -> None:
    """Print what ``add-hub``/``add-station`` did and the block and secret the member pastes."""
    tier, owner_id = files.tier, files.cfg.id
    word = tier.member.lower()
    click.echo(
        f"{tier.member} {member_id} {'updated (new password)' if replaced else 'added'} "
        f"at {tier.owner} {owner_id}."
    )
    click.echo(f"  password file: {files.passwd} (PBKDF2-SHA512, mosquitto format)")
    click.echo(f"  ACL:           {files.acl} (only {tier.root}/{owner_id}/{member_id}/#)")
    pid = files.reload() if reload else None
    if pid is not None:
        click.echo(f"  broker:        reloaded (SIGHUP to pid {pid})")
    else:
        click.echo(f"  broker:        reload it with: kill -HUP $(cat {files.pid_file})")
    click.echo("")
    click.echo(f"Paste into the {word}'s config.yaml:")
    click.echo("")
    click.echo(block)
    click.echo(f"and into the {word}'s secrets.yaml:")
    click.echo("")
    click.echo(f'{secret}: "{password}"')


def report_member_removed(
    files: BrokerFiles, member_id: str, *, existed: bool, registered: bool, reload: bool
) -> None:
    """Fail if ``member_id`` was unknown; else reload the broker and say so."""
    tier, owner_id = files.tier, files.cfg.id
    if not existed and not registered:
        raise click.ClickException(f"no {tier.member.lower()} {member_id!r} at {tier.owner} {owner_id}")
    pid = files.reload() if reload else None
    click.echo(
        f"{tier.member} {member_id} removed from {tier.owner} {owner_id}"
        + (f"; broker reloaded (pid {pid})." if pid else ".")
    )


def write_broker_config(
    files: BrokerFiles, out: Path | None, *, run_as: str | None, log_file: bool, rewrite_acl: bool
) -> bool:
    """Create the broker's folders and files and write (or print, ``out`` ``-``) mosquitto.conf.

    Return whether a file was written.  ``rewrite_acl`` rebuilds an existing ACL too.
    """
    from integrations.station.broker import mosquitto_conf, write_passwd

    files.dir.mkdir(parents=True, exist_ok=True)
    files.data.mkdir(parents=True, exist_ok=True)
    files.ensure_station_user()
    if rewrite_acl or not files.acl.exists():
        files.write_acl()
    if not files.passwd.exists():
        write_passwd(files.passwd, {})
    text = mosquitto_conf(files, run_as=run_as, log_file=log_file)
    if out is not None and str(out) == "-":
        click.echo(text, nl=False)
        return False
    target = out or files.conf
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
    click.echo(f"run the broker with: mosquitto -c {target}")
    return True


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


def role_config_option(role: str) -> Callable[[_F], _F]:
    """Return the ``-c/--config`` option of a broker-admin command group (``role``: station, region)."""
    return click.option(
        "-c",
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        default=Path("config.yaml"),
        show_default=True,
        help=f"the {role}'s config file",
    )


config_option = role_config_option("station")


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
    from integrations.station.broker import federation_block

    check_member_id(hub_id, STATION_TIER)
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir)
    password, replaced = create_member_account(files, hub_id, password_stdin=password_stdin)
    asyncio.run(_register(cfg.database, _data_dir(core, config_dir), hub_id, name))
    report_member_added(
        files,
        hub_id,
        replaced=replaced,
        reload=reload,
        block=federation_block(cfg, hub_id, ca_file=ca_file or None),
        secret="federation_password",
        password=password,
    )


@station_group.command("remove-hub")
@click.argument("hub_id")
@config_option
@click.option("--reload/--no-reload", default=True, show_default=True, help="SIGHUP a running broker")
def remove_hub(hub_id: str, config: Path, reload: bool) -> None:
    """Revoke HUB_ID's broker account (its history at the station stays)."""
    cfg, core, config_dir = _load(config)
    files = BrokerFiles(cfg, config_dir)
    existed = files.remove_user(hub_id)
    registered = asyncio.run(_register(cfg.database, _data_dir(core, config_dir), hub_id, "", remove=True))
    report_member_removed(files, hub_id, existed=existed, registered=registered, reload=reload)


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
    if not write_broker_config(files, out, run_as=run_as, log_file=log_file, rewrite_acl=False):
        return
    if not cfg.password:
        click.echo(
            "note: station.password is not set, so the station's own account was not written", err=True
        )
