"""The ``safetyhub`` command line (DESIGN §11)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from hub.config import RedactSecretsFilter

__all__ = ("main", "cli")

DEMO_DIR = Path("safetyhub-data")


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _resolve_config(config: Path | None) -> tuple[Path, Path | None, bool]:
    """Return (config file, config dir override, is_demo)."""
    if config is not None:
        return config, None, False
    if Path("config.yaml").is_file():
        return Path("config.yaml"), None, False
    from integrations.demo.const import DEMO_CONFIG

    DEMO_DIR.mkdir(exist_ok=True)
    return DEMO_CONFIG, DEMO_DIR, True


@click.group()
@click.version_option(package_name="safetyhub")
def cli() -> None:
    """SafetyHub: a plugin-based hub for community safety (Smart Safety Zone 4.0)."""


config_option = click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config file (default ./config.yaml; without one, the embedded demo)",
)


@cli.command()
@config_option
@click.option("--host", help="override hub.web.host")
@click.option("--port", type=int, help="override hub.web.port (0 picks a free port)")
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
def run(config: Path | None, host: str | None, port: int | None, verbose: bool) -> None:
    """Run the hub until Ctrl-C or SIGTERM."""
    _setup_logging(verbose)
    path, cdir, demo = _resolve_config(config)
    if demo:
        click.echo(f"No config.yaml here: starting the embedded demo in ./{DEMO_DIR}/")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(path, cdir, host, port))


async def _run(path: Path, config_dir: Path | None, host: str | None, port: int | None) -> None:
    from hub.config import ConfigInvalid
    from hub.core.errors import StartupError
    from hub.hub import Hub
    from hub.runlock import RunLockHeld

    # The demo keeps its data in its own folder, whatever its config says.
    hub = Hub(path, config_dir=config_dir, data_dir=config_dir, web_host=host, web_port=port, exclusive=True)
    try:
        await hub.start()
    except ConfigInvalid as err:
        for e in err.errors:
            click.echo(str(e), err=True)
        raise SystemExit(1) from err
    except RunLockHeld as err:
        click.echo(str(err), err=True)
        raise SystemExit(1) from err
    except StartupError as err:
        # One line the admin can act on; what had started is already stopped again.
        click.echo(f"safetyhub: {err}", err=True)
        raise SystemExit(1) from err
    if hub.onboarding_code is not None and hub.http is not None:
        click.echo("")
        click.echo(f"  No users yet. Open {hub.http.url}/onboarding")
        click.echo(f"  One-time onboarding code: {hub.onboarding_code}")
        click.echo("")
    elif hub.http is not None:
        click.echo(f"SafetyHub {hub.id} at {hub.http.url}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    click.echo("Stopping…")
    await hub.stop()


_STARTER = """\
# SafetyHub config: written by `safetyhub init`.
# ตั้งค่าต่อได้ในเว็บ (ชื่อร้าน เขต แผนที่ อุปกรณ์ กล้อง LINE) ไม่ต้องแก้ไฟล์นี้
# Everything else is set up in the web UI, which writes ui/*.yaml and secrets.yaml
# beside this file and never changes what you write here (docs/setup.md).
hub:
  id: {hub_id}        # unique within your police station's zone; a-z, 0-9 and dashes
  name: {name}
  timezone: Asia/Bangkok
  language: th
  data_dir: ./data
  web: {{host: {host}, port: {port}}}
"""


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--id", "hub_id", help="the hub's id (a-z, 0-9, dashes); default: hub-<random>")
@click.option(
    "--name", default="SafetyHub", show_default=True, help="the hub's name (change it in the web UI)"
)
@click.option("--host", default="0.0.0.0", show_default=True, help="address the web UI listens on")
@click.option("--port", default=8123, show_default=True, type=int, help="port of the web UI")
def init(folder: Path, hub_id: str | None, name: str, host: str, port: int) -> None:
    """Start a new hub with no YAML to write: a starter config.yaml, then the web UI."""
    import re
    import secrets as random

    from hub.bootstrap import load

    hub_id = hub_id or f"hub-{random.token_hex(3)}"
    if not re.fullmatch(r"[a-z0-9-]+", hub_id):
        raise click.BadParameter("use a-z, 0-9 and dashes only", param_hint="--id")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    if path.exists():
        raise click.ClickException(
            f"{path} exists already: nothing written (run `safetyhub run` in {folder})"
        )
    path.write_text(
        _STARTER.format(hub_id=hub_id, name=json.dumps(name, ensure_ascii=False), host=host, port=port),
        encoding="utf-8",
    )
    secrets_file = folder / "secrets.yaml"
    if not secrets_file.exists():
        secrets_file.write_text(
            "# Secrets (passwords, tokens): the web UI adds its own here.\n", encoding="utf-8"
        )
        secrets_file.chmod(0o600)
    loaded = load(path)
    for err in loaded.errors:
        click.echo(str(err), err=True)
    if loaded.errors:
        raise SystemExit(1)
    click.echo(f"Wrote {path} (hub id {hub_id}).")
    click.echo("Next: safetyhub run" + ("" if folder == Path(".") else f"  (in {folder})"))
    click.echo(f"Then open http://<this machine>:{port}/onboarding with the one-time code it prints.")


@cli.command()
@config_option
@click.option("--schema", is_flag=True, help="print the JSON Schema of the whole config file")
def check(config: Path | None, schema: bool) -> None:
    """Validate the config, automations and blueprints; list every error."""
    from hub.bootstrap import json_schema, load
    from hub.plugins import PluginHost

    if schema:
        host = PluginHost(Path.cwd())
        load(None, host=host, import_all=True)
        click.echo(json.dumps(json_schema(host), indent=2, ensure_ascii=False))
        return
    path, cdir, demo = _resolve_config(config)
    loaded = load(path, config_dir=cdir)
    # Schema order is not reading order: show errors as the file reads.
    for err in sorted(loaded.errors, key=lambda e: (e.file != path.name, e.file, e.line or 0)):
        click.echo(str(err))
    for warning in sorted(loaded.warnings, key=lambda e: (e.file != path.name, e.file, e.line or 0)):
        click.echo(str(warning))
    failed = [p for p in loaded.host.plugins.values() if p.status == "failed"] if loaded.host else []
    for info in failed:
        if info.stage == "import" and not any(info.domain in str(e) for e in loaded.errors):
            click.echo(f"plugin {info.domain}: failed to load: {info.error}")
    if loaded.errors:
        click.echo(f"{len(loaded.errors)} error(s) in {path}", err=True)
        raise SystemExit(1)
    click.echo(f"{path}: OK")


async def _with_auth(config: Path | None, fn: Any) -> Any:
    """Open the hub's database and call ``fn(auth, audit)`` with its users and audit log."""
    from hub.audit import AuditLog
    from hub.auth import Auth
    from hub.bootstrap import load
    from hub.storage import Storage, StorageUnavailable
    from hub.storage_pg import SharedStorage, shared_database_url

    path, cdir, _ = _resolve_config(config)
    loaded = load(path, config_dir=cdir)
    if loaded.core is None:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    data_dir = Path(loaded.core.data_dir)
    if cdir is not None:
        data_dir = cdir
    elif not data_dir.is_absolute():
        data_dir = loaded.config_dir / data_dir
    try:
        url = shared_database_url(loaded)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    storage: Storage
    if url is not None:
        # Station workers share their users and audit log: one command serves them all.
        storage = SharedStorage(url)
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        storage = Storage(data_dir / "safetyhub.db")
    try:
        await storage.open()
    except StorageUnavailable as err:
        raise click.ClickException(str(err)) from err
    try:
        return await fn(Auth(storage), AuditLog(storage))
    finally:
        await storage.close()


@cli.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "operator", "viewer"]),
    default="viewer",
    show_default=True,
)
@config_option
def user_add(name: str, role: str, config: Path | None) -> None:
    """Add a user; the password comes from a prompt, or from stdin when piped."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    from hub.auth import AuthError

    async def add(auth: Any, audit: Any) -> Any:
        created = await auth.add_user(name, password, role)
        await audit.log(
            _cli_actor(), "user.add", created.id, detail={"user": name, "role": role}, source="cli"
        )
        return created

    try:
        created = asyncio.run(_with_auth(config, add))
    except AuthError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"user {created.username} ({created.role}) created")


def _cli_actor() -> str:  # noqa: N802 - reads like the constant it nearly is
    """Who ran the command, for the audit log: the operating-system account."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _access(config: Path | None, action: str, method: str, target: str, *args: Any) -> Any:
    """Run ``auth.<method>(target, *args)`` on a user or token and audit it (refusals too)."""
    from hub.auth import AuthError

    async def run(auth: Any, audit: Any) -> Any:
        found = await auth.find_user(target) if action.startswith("user.") else None
        target_id = found["id"] if found else target
        try:
            result = await getattr(auth, method)(target_id, *args)
        except AuthError as err:
            await audit.log(
                _cli_actor(), action, target_id, detail={"error": str(err)}, source="cli", result="refused"
            )
            raise
        await audit.log(_cli_actor(), action, target_id, detail={"args": list(args)}, source="cli")
        return result

    try:
        return asyncio.run(_with_auth(config, run))
    except AuthError as err:
        raise click.ClickException(str(err)) from err


def _when(ts: float | None) -> str:
    import datetime as dt

    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@user.command("list")
@config_option
def user_list(config: Path | None) -> None:
    """List every user with role and status."""

    async def run(auth: Any, audit: Any) -> Any:
        return await auth.all_users()

    for found in asyncio.run(_with_auth(config, run)):
        status = "disabled" if found["disabled"] else "enabled"
        click.echo(f"{found['username']:<24} {found['role']:<11} {status:<9} {found['id']}")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "supervisor", "operator", "viewer"]))
@config_option
def user_role(name: str, role: str, config: Path | None) -> None:
    """Change NAME's role (the last admin cannot be demoted)."""
    _access(config, "user.role", "set_role", name, role)
    click.echo(f"user {name} is now {role}")


@user.command("disable")
@click.argument("name")
@config_option
def user_disable(name: str, config: Path | None) -> None:
    """Disable NAME: their sessions and tokens end at once."""
    _access(config, "user.disable", "disable_user", name)
    click.echo(f"user {name} disabled; their sessions and tokens are revoked")


@user.command("enable")
@click.argument("name")
@config_option
def user_enable(name: str, config: Path | None) -> None:
    """Let a disabled user log in again (old tokens stay revoked)."""
    _access(config, "user.enable", "enable_user", name)
    click.echo(f"user {name} enabled")


@user.command("delete")
@click.argument("name")
@config_option
def user_delete(name: str, config: Path | None) -> None:
    """Delete NAME with their sessions and tokens (never the last admin)."""
    _access(config, "user.delete", "delete_user", name)
    click.echo(f"user {name} deleted")


@cli.group()
def token() -> None:
    """Manage API tokens."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _lifetime(_ctx: Any, _param: Any, value: str | None) -> float | None:
    """``--expires 30d`` / ``12h`` / ``90m`` / ``3600`` (seconds) → seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:])
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError as err:
        raise click.BadParameter(f"{value!r}: use a number with s, m, h or d (30d, 12h)") from err
    if not 0 < seconds <= 3650 * 86400:
        raise click.BadParameter(f"{value!r}: must be more than 0 and at most 3650 days")
    return seconds


@token.command("create")
@click.argument("username")
@click.option("--name", "label", default="cli", show_default=True, help="a label to recognise the token by")
@click.option("--expires", callback=_lifetime, help="lifetime such as 30d, 12h or 90m (default: never)")
@config_option
def token_create(username: str, label: str, expires: float | None, config: Path | None) -> None:
    """Create an API token for USERNAME and print it once."""

    async def create(auth: Any, audit: Any) -> str:
        found = await auth.user_by_name(username)
        if found is None:
            raise click.ClickException(f"no user {username!r}; add one with `safetyhub user add`")
        value, made = await auth.issue_token(found, label, expires_in=expires)
        await audit.log(
            _cli_actor(), "token.create", made.id, detail={"user": username, "name": label}, source="cli"
        )
        return str(value)

    click.echo(asyncio.run(_with_auth(config, create)))


@token.command("list")
@click.option("--user", "username", help="only this user's tokens")
@config_option
def token_list(username: str | None, config: Path | None) -> None:
    """List tokens: id, user, label, created, expires, last used (never the values)."""

    async def run(auth: Any, audit: Any) -> Any:
        found = await auth.find_user(username) if username else None
        if username and found is None:
            raise click.ClickException(f"no user {username!r}")
        return await auth.tokens(found["id"] if found else None)

    for info in asyncio.run(_with_auth(config, run)):
        click.echo(
            f"{info.id}  {info.username:<20} {info.name:<16} created {_when(info.created_at)}"
            f"  expires {_when(info.expires_at)}  last used {_when(info.last_used)}"
        )


@token.command("revoke")
@click.argument("token_id")
@config_option
def token_revoke(token_id: str, config: Path | None) -> None:
    """Revoke the token TOKEN_ID (from `token list`): it fails at once."""
    _access(config, "token.revoke", "revoke_token", token_id)
    click.echo(f"token {token_id} revoked")


@cli.group()
def plugins() -> None:
    """Inspect plugins."""


@plugins.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins_list(config: Path | None, as_json: bool) -> None:
    """List every plugin with its source and status (failed ones with the reason)."""
    from hub.bootstrap import load

    path, cdir, _ = _resolve_config(config)
    loaded = load(path, config_dir=cdir, import_all=True)
    assert loaded.host is not None
    infos = sorted(loaded.host.plugins.values(), key=lambda p: p.domain)
    for info in infos:
        if info.status == "loaded":
            info.status = "configured" if info.domain in loaded.blocks else "available"
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2, ensure_ascii=False))
        return
    for info in infos:
        line = f"{info.domain:<16} {info.source:<10} {info.status:<12}"
        if info.error:
            line += f" {info.stage}: {info.error}"
        click.echo(line.rstrip())


@cli.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "target",
    type=click.Path(path_type=Path, file_okay=False),
    help="where to create it (default ./plugins/NAME, a drop-in next to config.yaml)",
)
def new_plugin(name: str, target: Path | None) -> None:
    """Scaffold a working plugin: manifest, hooks, README and a passing test."""
    from hub.scaffold import ScaffoldError, scaffold

    try:
        folder = scaffold(name, target or Path("plugins") / name)
    except ScaffoldError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"created {folder}/ — run its test with: pytest {folder}")


#: Commands of the core itself: running them need not import every plugin.
CORE_COMMANDS = frozenset({"run", "check", "init", "user", "token", "plugins", "new-plugin", "service"})


def _add_core_groups() -> None:
    from hub.service import service_group

    cli.add_command(service_group)


_add_core_groups()


def _add_plugin_commands() -> None:
    from hub.bootstrap import _register_core
    from hub.plugins import PluginHost

    host = PluginHost(Path.cwd())
    _register_core(host)
    host.discover()
    host.hooks.register_commands(cli=cli)


def main() -> None:
    """Entry point of the ``safetyhub`` script."""
    if len(sys.argv) < 2 or sys.argv[1] not in CORE_COMMANDS:
        _add_plugin_commands()
    cli()


if __name__ == "__main__":
    main()
