"""``safetyhub service install|status|uninstall``: run a hub or a station as a systemd service.

A hub lives on a small box in the back of a shop, and nobody logs in to it for months: it must
start at boot, restart after a crash, and run with as little power as possible.  The unit runs
SafetyHub as its own system user, with only its config and data folders writable, no new
privileges, no devices, no kernel tunables, and a restart policy.  For a station, ``--mosquitto``
adds a unit for the station's broker with the config ``safetyhub station`` generates.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ("UnitPlan", "hub_unit", "mosquitto_unit", "service_group")

UNIT = "safetyhub.service"
BROKER_UNIT = "safetyhub-mosquitto.service"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class UnitPlan:
    """What the units need to know about the installation."""

    role: str
    config: Path
    config_dir: Path
    data_dir: Path
    user: str
    python: str
    writable: tuple[Path, ...]
    broker_conf: Path | None = None


def hub_unit(plan: UnitPlan) -> str:
    """The ``safetyhub.service`` unit text."""
    after = "network-online.target" + (f" {BROKER_UNIT}" if plan.broker_conf else "")
    wants = "network-online.target" + (f" {BROKER_UNIT}" if plan.broker_conf else "")
    writable = " ".join(str(p) for p in dict.fromkeys(plan.writable))
    what = {"station": "station (CCOC)", "region": "region (command centre)"}.get(plan.role, "hub")
    return f"""\
# Written by `safetyhub service install`; `safetyhub service uninstall` removes it.
[Unit]
Description=SafetyHub {what} ({plan.config})
After={after}
Wants={wants}
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=exec
User={plan.user}
Group={plan.user}
WorkingDirectory={plan.config_dir}
ExecStart={plan.python} -m hub.cli run -c {plan.config}
Environment=PYTHONUNBUFFERED=1
# Restart after a crash or a kill, after a pause that a crash loop cannot shorten.
Restart=always
RestartSec=5
# A clean stop flushes queued writes and the federation outbox first.
TimeoutStopSec=30
KillSignal=SIGTERM

# Hardening: its own user, only its folders writable, nothing it does not need.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={writable}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
CapabilityBoundingSet=
SystemCallArchitectures=native
SystemCallFilter=@system-service
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def mosquitto_unit(plan: UnitPlan) -> str:
    """The station's broker as ``safetyhub-mosquitto.service`` (the conf from ``station add-hub``)."""
    assert plan.broker_conf is not None
    folder = plan.broker_conf.parent
    return f"""\
# Written by `safetyhub service install --mosquitto`; the broker of a SafetyHub station.
[Unit]
Description=Mosquitto for the SafetyHub station ({plan.broker_conf})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={plan.user}
Group={plan.user}
ExecStart=/usr/sbin/mosquitto -c {plan.broker_conf}
# `safetyhub station add-hub` sends SIGHUP to reload the passwords and ACL.
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={folder}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
CapabilityBoundingSet=
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def plan_for(config: Path, role: str | None, user: str, mosquitto: bool) -> UnitPlan:
    """Read the config (as ``check`` does) and work out the paths the units need."""
    from hub.bootstrap import load

    config = config.resolve()
    loaded = load(config)
    if loaded.core is None:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    from hub.bootstrap import role_of

    actual = role_of(loaded.blocks)
    role = role or actual
    if role in ("station", "region") and role != actual:
        raise click.ClickException(f"{config}: --role {role} needs a {role}: block")
    data_dir = Path(loaded.core.data_dir)
    data_dir = data_dir if data_dir.is_absolute() else loaded.config_dir / data_dir
    writable = [loaded.config_dir, data_dir.resolve()]
    backup = loaded.blocks.get("backup")
    if backup is not None:
        folder = Path(str(backup.dir))
        writable.append((folder if folder.is_absolute() else loaded.config_dir / folder).resolve())
    broker_conf = None
    if mosquitto:
        if role not in ("station", "region"):
            raise click.ClickException("--mosquitto is for a station: a hub uses its station's broker")
        from integrations.station.broker import BrokerFiles

        if role == "region":
            from integrations.region.cli import REGION_TIER

            broker_conf = BrokerFiles(loaded.blocks["region"], loaded.config_dir, REGION_TIER).conf
        else:
            broker_conf = BrokerFiles(loaded.blocks["station"], loaded.config_dir).conf
    return UnitPlan(
        role=role,
        config=config,
        config_dir=loaded.config_dir,
        data_dir=data_dir.resolve(),
        user=user,
        python=sys.executable,
        writable=tuple(writable),
        broker_conf=broker_conf,
    )


def _systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    return subprocess.run([exe, *args], capture_output=True, text=True, check=False)


def _ensure_user(user: str, home: Path) -> None:
    import pwd

    try:
        pwd.getpwnam(user)
        return
    except KeyError:
        pass
    exe = shutil.which("useradd")
    if exe is None:
        raise click.ClickException(f"user {user!r} does not exist and useradd is missing: create it first")
    subprocess.run(
        [exe, "--system", "--user-group", "--home-dir", str(home), "--shell", "/usr/sbin/nologin", user],
        check=True,
    )


@click.group("service")
def service_group() -> None:
    """Run SafetyHub as a systemd service (start at boot, restart after a crash)."""


@service_group.command("install")
@click.option(
    "-c",
    "--config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=Path("config.yaml"),
)
@click.option(
    "--role",
    type=click.Choice(["hub", "station", "region"]),
    help="default: region or station if the config has that block",
)
@click.option(
    "--user", default="safetyhub", show_default=True, help="the system user it runs as (created if missing)"
)
@click.option("--mosquitto", is_flag=True, help="also a unit for the station's (or region's) broker")
@click.option(
    "--unit-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_UNIT_DIR,
    show_default=True,
)
@click.option("--no-user", is_flag=True, help="do not create the user or change owners (it exists)")
@click.option("--no-start", is_flag=True, help="write the units only; do not enable or start them")
def install(
    config: Path, role: str | None, user: str, mosquitto: bool, unit_dir: Path, no_user: bool, no_start: bool
) -> None:
    """Write the systemd unit(s), create the user, and enable and start the service."""
    plan = plan_for(config, role, user, mosquitto)
    if not no_user:
        _ensure_user(user, plan.data_dir)
        plan.data_dir.mkdir(parents=True, exist_ok=True)
        for folder in plan.writable:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(folder, user, user)
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = [unit_dir / UNIT]
    (unit_dir / UNIT).write_text(hub_unit(plan), encoding="utf-8")
    if plan.broker_conf is not None:
        (unit_dir / BROKER_UNIT).write_text(mosquitto_unit(plan), encoding="utf-8")
        written.append(unit_dir / BROKER_UNIT)
    for path in written:
        click.echo(f"wrote {path}")
    if plan.broker_conf is not None and not plan.broker_conf.is_file():
        click.echo(f"the broker has no config yet: run `safetyhub station broker-config -c {plan.config}`")
    if no_start:
        click.echo(
            "start it with: systemctl daemon-reload && systemctl enable --now "
            + " ".join(p.name for p in written)
        )
        return
    if _systemctl("daemon-reload") is None:
        click.echo("systemctl is not here: start the units on a machine with systemd")
        return
    result = _systemctl("enable", "--now", *(p.name for p in reversed(written)))
    if result is not None and result.returncode != 0:
        raise click.ClickException(f"systemctl enable --now failed: {result.stderr.strip()}")
    click.echo(f"enabled and started {', '.join(p.name for p in written)}")


@service_group.command("status")
@click.option("--unit-dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_UNIT_DIR)
def status(unit_dir: Path) -> None:
    """Show whether the units are installed, enabled and running."""
    found = False
    for name in (UNIT, BROKER_UNIT):
        path = unit_dir / name
        if not path.is_file():
            continue
        found = True
        enabled = _systemctl("is-enabled", name)
        active = _systemctl("is-active", name)
        state = (
            "systemctl not available"
            if enabled is None or active is None
            else f"{enabled.stdout.strip() or 'unknown'}, {active.stdout.strip() or 'unknown'}"
        )
        click.echo(f"{name}: {path} ({state})")
    if not found:
        click.echo(f"not installed (no {UNIT} in {unit_dir})")
        raise SystemExit(3)  # as `systemctl status` says "not found"


@service_group.command("uninstall")
@click.option("--unit-dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_UNIT_DIR)
def uninstall(unit_dir: Path) -> None:
    """Stop, disable and remove the units (the config and data stay)."""
    names = [n for n in (UNIT, BROKER_UNIT) if (unit_dir / n).is_file()]
    if not names:
        click.echo(f"nothing to remove: no {UNIT} in {unit_dir}")
        return
    result = _systemctl("disable", "--now", *names)
    if result is not None and result.returncode != 0:
        click.echo(f"systemctl disable --now: {result.stderr.strip()}", err=True)
    for name in names:
        (unit_dir / name).unlink()
        click.echo(f"removed {unit_dir / name}")
    _systemctl("daemon-reload")
    click.echo("the config and data folders were kept")
