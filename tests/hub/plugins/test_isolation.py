"""A broken plugin never takes the hub down; it is shown as failed with its reason."""

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from hub.cli import cli


def make_dropin(config_dir: Path, name: str, code: str, deps: list[str] | None = None) -> None:
    folder = config_dir / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(
        json.dumps({"domain": name, "name": name.title(), "version": "1.0.0", "dependencies": deps or []})
    )
    (folder / "__init__.py").write_text(textwrap.dedent(code))


GOOD = """
    from hub import hookimpl

    @hookimpl
    def setup(hub, config):
        hub.states.set("sensor.good", "ok")
"""


async def test_plugin_raising_at_import(make_hub, config_dir: Path) -> None:
    make_dropin(config_dir, "broken_import", "import nonexistent_module_xyz\n")
    make_dropin(config_dir, "good", GOOD)
    hub = await make_hub("broken_import:\ngood:\n")
    info = hub.plugins.get("broken_import")
    assert info.status == "failed" and info.stage == "import"
    assert "nonexistent_module_xyz" in info.error
    assert hub.states.get("sensor.good").state == "ok"
    assert any("broken_import" in str(e) and "failed to load" in str(e) for e in hub.config_errors)


async def test_plugin_raising_at_setup(make_hub, config_dir: Path, client_for) -> None:
    make_dropin(
        config_dir,
        "broken_setup",
        """
        from hub import hookimpl

        @hookimpl
        def setup(hub, config):
            raise RuntimeError("camera NVR unreachable")
    """,
    )
    make_dropin(config_dir, "needs_broken", GOOD.replace("sensor.good", "sensor.dep"), deps=["broken_setup"])
    make_dropin(config_dir, "good", GOOD)
    hub = await make_hub("broken_setup:\nneeds_broken:\ngood:\n")
    info = hub.plugins.get("broken_setup")
    assert info.status == "failed" and info.stage == "setup"
    assert "camera NVR unreachable" in info.error
    dep = hub.plugins.get("needs_broken")
    assert dep.status == "failed" and "broken_setup" in dep.error
    assert hub.states.get("sensor.good").state == "ok"
    # The API and the UI show it.
    client = await client_for("viewer", target=hub)
    body = await (await client.get("/api/plugins")).json()
    by_domain = {p["domain"]: p for p in body["plugins"]}
    assert by_domain["broken_setup"]["status"] == "failed"
    assert "camera NVR unreachable" in by_domain["broken_setup"]["error"]
    page = await (await client.get("/plugins")).text()
    assert "camera NVR unreachable" in page


async def test_plugin_raising_inside_a_hook(make_hub, config_dir: Path, client_for) -> None:
    make_dropin(
        config_dir,
        "broken_hook",
        """
        from hub import hookimpl

        @hookimpl
        def setup(hub, config):
            hub.states.set("sensor.broken_hook", "set up")

        @hookimpl
        def register_routes(hub):
            raise ValueError("route table bug")

        @hookimpl
        def nav_links(hub, user):
            raise ValueError("nav bug")
    """,
    )
    hub = await make_hub("broken_hook:\n")
    info = hub.plugins.get("broken_hook")
    # Set up fine; the hook errors are recorded, not fatal.
    assert info.status == "set_up"
    assert any("route table bug" in e for e in info.hook_errors)
    client = await client_for("viewer", target=hub)
    assert (await client.get("/api/health")).status == 200
    assert (await client.get("/")).status == 200  # nav_links raising does not break pages
    assert hub.states.get("sensor.broken_hook").state == "set up"


def test_misspelled_hook_is_rejected(config_dir: Path, load_config) -> None:
    make_dropin(
        config_dir,
        "typo",
        """
        from hub import hookimpl

        @hookimpl
        def setpu(hub, config):
            pass
    """,
    )
    loaded = load_config("typo:\n")
    info = loaded.host.get("typo")
    assert info.status == "failed" and "setpu" in info.error


def test_bad_manifest(config_dir: Path, load_config) -> None:
    folder = config_dir / "plugins" / "badman"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"domain": "other", "name": "x"}')
    (folder / "__init__.py").write_text("")
    loaded = load_config()
    assert "does not match folder" in loaded.host.get("badman").error


def test_plugins_list_shows_failures(config_dir: Path, load_config, monkeypatch) -> None:
    make_dropin(config_dir, "broken_import", "raise ImportError('missing libfoo')\n")
    load_config("broken_import:\n")  # writes config.yaml
    monkeypatch.chdir(config_dir)
    result = CliRunner().invoke(cli, ["plugins", "list", "-c", "config.yaml"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("broken_import"))
    assert "failed" in line and "missing libfoo" in line
    check = CliRunner().invoke(cli, ["check", "-c", "config.yaml"])
    assert check.exit_code == 1
    assert "missing libfoo" in check.output
