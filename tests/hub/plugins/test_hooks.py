"""One test per hookspec (``test_hook_<name>``), through one drop-in plugin that implements every hook.

The way datasette keeps its hooks honest: ``test_contract.py`` fails when a hookspec has no
``test_hook_<name>`` here (or elsewhere under tests/), no implementer, or no entry in
docs/plugins.md.  Each test drives the hook through the hub, as a plugin author relies on it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from tests.hub.plugins.test_isolation import make_dropin

REPO = Path(__file__).resolve().parents[3]

EVERY_HOOK = """
    from pathlib import Path

    from aiohttp import web
    from pydantic import BaseModel, ConfigDict

    from hub import hookimpl
    from hub.components.automation.types import PlatformModel
    from hub.config import ConfigError
    from hub.http.routes import Route
    from hub.components.incident import IncidentRows

    HERE = Path(__file__).parent
    calls = []


    class Block(BaseModel):
        model_config = ConfigDict(extra="forbid")
        greeting: str = "hello"
        forbidden_word: str = ""


    @hookimpl
    def config_schema():
        return Block


    @hookimpl
    def config_deprecations():
        from hub.config.deprecations import Deprecation

        return [Deprecation("every_hook.salutation", "every_hook.greeting", since="0.2.0")]


    @hookimpl
    def config_check(loaded):
        block = loaded.blocks.get("every_hook")
        if block is not None and block.forbidden_word and block.forbidden_word in block.greeting:
            return [ConfigError(loaded.file_label, None, "every_hook.greeting", "contains the forbidden word")]
        return None


    @hookimpl
    def storage_migrations():
        return ["CREATE TABLE every_hook_rows (entry_id INTEGER PRIMARY KEY, incident_id TEXT)"]


    @hookimpl
    def setup(hub, config):
        calls.append(("setup", config.greeting))
        hub.states.set("sensor.every_hook", config.greeting)
        hub.services.register("every_hook", "ring", lambda call: calls.append(("ring", call.data["times"])), RingSchema)


    @hookimpl
    def hub_started(hub):
        calls.append(("hub_started", hub.state.value))


    @hookimpl
    def shutdown(hub):
        (Path(hub.config_dir) / "every_hook_shutdown").write_text("done")


    async def _page(request):
        from hub.http.templating import render

        return render(request, "every_hook.html", word="ทดสอบ")


    @hookimpl
    def register_routes(hub):
        return [Route("GET", "/every_hook", _page, role="operator", summary="test page", api=False)]


    @hookimpl
    def template_dirs():
        return [HERE / "templates"]


    @hookimpl
    def static_dirs():
        return {"every_hook": HERE / "static"}


    @hookimpl
    def nav_links(hub, user):
        return [{"href": "/every_hook", "label_th": "ทุกฮุก", "label_en": "Every hook", "role": "operator"}]


    @hookimpl
    def streamed_events(hub):
        return ["every_hook_ping"]


    class PingConfig(PlatformModel):
        word: str


    class PingTrigger:
        schema = PingConfig

        def attach(self, hub, config, fire, info):
            def on_ping(event):
                if event.data.get("word") == config.word:
                    fire({"word": config.word}, event.context)

            return hub.bus.listen("every_hook_ping", on_ping)


    class AllowConfig(PlatformModel):
        allow: bool


    class AllowCondition:
        schema = AllowConfig

        def build(self, hub, config):
            return lambda variables: config.allow


    @hookimpl
    def register_trigger_platforms():
        return {"every_hook_ping": PingTrigger()}


    @hookimpl
    def register_condition_platforms():
        return {"every_hook_allow": AllowCondition()}


    @hookimpl
    def register_commands(cli):
        import click

        @cli.command("every-hook-hello")
        def hello():
            "Say hello from a plugin."
            click.echo("hello from every_hook")


    @hookimpl
    def incident_written(hub, incident, entry):
        return IncidentRows(
            [("INSERT INTO every_hook_rows (entry_id, incident_id) VALUES (?, ?)", (entry.id, incident.id))],
            lambda: calls.append(("committed", entry.id)),
        )


    @hookimpl
    def registry_info(hub):
        return {"sirens": 2, "password": "never-leaves"}


    @hookimpl
    async def health_info(hub):
        return {"siren_ok": True}


    @hookimpl
    def kpi_slots(hub, month):
        return [{"key": "every_hook_drills", "label_th": "ซ้อม", "label_en": "Drills", "value": 3, "unit": ""}]


    class RingSchema(BaseModel):
        model_config = ConfigDict(extra="forbid")
        times: int = 1


    @hookimpl
    def service_schemas():
        return {"every_hook.ring": RingSchema}


    @hookimpl
    def config_entities(loaded):
        return ["sensor.every_hook"] if loaded.blocks.get("every_hook") is not None else None


    @hookimpl
    def timeline_attachments(hub, user, entry):
        if entry.kind != "every_hook":
            return None
        return [{"text": f"bell {a}", "href": f"/every_hook#{a}", "withheld": user.role == "viewer"} for a in entry.attachments]
"""


def _plugin(config_dir: Path) -> None:
    make_dropin(config_dir, "every_hook", EVERY_HOOK)
    folder = config_dir / "plugins" / "every_hook"
    (folder / "templates").mkdir()
    (folder / "templates" / "every_hook.html").write_text(
        '{% extends "base.html" %}{% block content %}<p id="word">{{ word }}</p>{% endblock %}',
        encoding="utf-8",
    )
    (folder / "static").mkdir()
    (folder / "static" / "every_hook.css").write_text("p { color: red; }", encoding="utf-8")


@pytest.fixture
async def every(make_hub: Any, config_dir: Path) -> Any:
    _plugin(config_dir)
    return await make_hub("every_hook: {greeting: สวัสดี}\n")


def _calls(hub: Any) -> list[Any]:
    return hub.plugins.get("every_hook").module.calls


def test_hook_config_schema(load_config: Any, config_dir: Path) -> None:
    _plugin(config_dir)
    loaded = load_config("every_hook: {greeting: hi, colour: red}\n")
    assert any("every_hook.colour" in str(e) and "config.yaml:" in str(e) for e in loaded.errors)


def test_hook_config_deprecations(load_config: Any, config_dir: Path) -> None:
    _plugin(config_dir)
    loaded = load_config("every_hook:\n  salutation: สวัสดีครับ\n")
    assert loaded.errors == []
    assert loaded.blocks["every_hook"].greeting == "สวัสดีครับ"
    assert [str(w) for w in loaded.warnings if "every_hook" in str(w)] == [
        "warning: config.yaml:10: every_hook.salutation: deprecated key: is no longer read since 0.2.0: "
        "use every_hook.greeting instead (its value is used there)"
    ]


def test_hook_config_check(load_config: Any, config_dir: Path) -> None:
    _plugin(config_dir)
    loaded = load_config("every_hook: {greeting: bad words, forbidden_word: bad}\n")
    assert [str(e) for e in loaded.errors if "forbidden" in str(e)] != []


async def test_hook_storage_migrations(every: Any) -> None:
    row = await every.storage.fetchone("SELECT COUNT(*) AS n FROM every_hook_rows")
    assert row["n"] == 0


async def test_hook_setup(every: Any) -> None:
    assert ("setup", "สวัสดี") in _calls(every)
    assert every.states.get("sensor.every_hook").state == "สวัสดี"


async def test_hook_hub_started(every: Any) -> None:
    calls = _calls(every)
    assert ("hub_started", "running") in calls
    assert calls.index(("setup", "สวัสดี")) < calls.index(("hub_started", "running"))


async def test_hook_shutdown(every: Any, config_dir: Path) -> None:
    await every.stop()
    assert (config_dir / "every_hook_shutdown").read_text() == "done"


async def test_hook_register_routes(every: Any, client_for: Any) -> None:
    viewer = await client_for("viewer", target=every)
    assert (await viewer.get("/every_hook")).status == 403
    operator = await client_for("operator", target=every)
    assert (await operator.get("/every_hook")).status == 200


async def test_hook_template_dirs(every: Any, client_for: Any) -> None:
    operator = await client_for("operator", target=every)
    page = await (await operator.get("/every_hook")).text()
    assert '<p id="word">ทดสอบ</p>' in page and '<html lang="th">' in page  # the site's layout


async def test_hook_static_dirs(every: Any, client_for: Any) -> None:
    anon = await client_for(anonymous=True, target=every)
    resp = await anon.get("/static/every_hook/every_hook.css")
    assert resp.status == 200 and "color: red" in await resp.text()


async def test_hook_nav_links(every: Any, client_for: Any) -> None:
    operator = await client_for("operator", target=every)
    assert 'href="/every_hook"' in await (await operator.get("/every_hook")).text()
    viewer = await client_for("viewer", target=every)
    assert 'href="/every_hook"' not in await (await viewer.get("/")).text()


async def test_hook_streamed_events(every: Any, client_for: Any) -> None:
    viewer = await client_for("viewer", target=every)
    async with viewer.get("/api/stream") as resp:
        while not (await resp.content.readuntil(b"\n\n")).startswith(b"retry:"):
            pass  # the greeting: the client is subscribed after it
        await asyncio.sleep(0.1)  # let the server side resume past the greeting's write
        every.bus.fire("not_streamed", {"x": 1})
        every.bus.fire("every_hook_ping", {"word": "เสียง"})
        chunk = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    assert chunk.startswith(b"event: every_hook_ping") and "เสียง".encode() in chunk


async def _automation_hub(make_hub: Any, config_dir: Path, allow: bool) -> Any:
    _plugin(config_dir)
    return await make_hub(
        f"""
every_hook: {{}}
automation:
  - id: pinged
    trigger: {{platform: every_hook_ping, word: ช่วยด้วย}}
    condition: {{condition: every_hook_allow, allow: {str(allow).lower()}}}
    action: {{event: every_hook_done, event_data: {{word: "{{{{ trigger.word }}}}"}}}}
""",
        web=False,
    )


async def test_hook_register_trigger_platforms(make_hub: Any, config_dir: Path) -> None:
    hub = await _automation_hub(make_hub, config_dir, allow=True)
    done: list[Any] = []
    hub.bus.listen("every_hook_done", done.append)
    hub.bus.fire("every_hook_ping", {"word": "อื่น"})
    hub.bus.fire("every_hook_ping", {"word": "ช่วยด้วย"})
    await hub.block_till_done()
    assert [e.data["word"] for e in done] == ["ช่วยด้วย"]


async def test_hook_register_condition_platforms(make_hub: Any, config_dir: Path) -> None:
    hub = await _automation_hub(make_hub, config_dir, allow=False)
    done: list[Any] = []
    hub.bus.listen("every_hook_done", done.append)
    hub.bus.fire("every_hook_ping", {"word": "ช่วยด้วย"})
    await hub.block_till_done()
    assert done == []


async def test_hook_register_condition_platforms_incident(make_hub: Any, clock: FakeClock) -> None:
    """The core's own implementer: ``condition: incident``."""
    hub = await make_hub(
        """
automation:
  - id: only_during_sos
    trigger: {platform: event, event_type: doorbell}
    condition: {condition: incident, kind: [sos], status: [open]}
    action: {event: doorbell_during_sos}
""",
        web=False,
    )
    seen: list[Any] = []
    hub.bus.listen("doorbell_during_sos", seen.append)
    hub.bus.fire("doorbell")
    await hub.block_till_done()
    assert seen == []
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="gate")
    hub.bus.fire("doorbell")
    await hub.block_till_done()
    assert len(seen) == 1
    await hub.data[INCIDENT_RUNTIME].ack(inc.id, by="officer")
    hub.bus.fire("doorbell")
    await hub.block_till_done()
    assert len(seen) == 1  # acknowledged: no longer "open"


def test_hook_register_commands(config_dir: Path) -> None:
    _plugin(config_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
    run = subprocess.run(
        [sys.executable, "-m", "hub.cli", "every-hook-hello"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=config_dir,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello from every_hook"


async def test_hook_incident_written(every: Any) -> None:
    inc = await every.data[INCIDENT_RUNTIME].open("sos", title="gate")
    rows = await every.storage.fetchall("SELECT entry_id, incident_id FROM every_hook_rows")
    entry = await every.storage.fetchone("SELECT id FROM incident_timeline WHERE incident_id = ?", (inc.id,))
    assert [(r["entry_id"], r["incident_id"]) for r in rows] == [(entry["id"], inc.id)]
    assert ("committed", entry["id"]) in _calls(every)


async def test_hook_registry_info(every: Any) -> None:
    from integrations.federation.collect import build_registry

    body = await build_registry(every, "test-station")
    assert body["plugins"]["every_hook"] == {"sirens": 2}  # credentials are scrubbed


async def test_hook_health_info(every: Any) -> None:
    from integrations.federation.collect import build_health

    body = await build_health(every, {})
    assert body["info"]["every_hook"] == {"siren_ok": True}


async def test_hook_kpi_slots(every: Any) -> None:
    from integrations.federation.kpi_report import collect_slots

    # What the hub sends its station (kpi_month): the station never runs the plugins itself.
    slots = await collect_slots(every, "2026-11")
    mine = [s for s in slots if s["id"] == "every_hook_drills"]
    assert mine and mine[0]["value"] == 3 and mine[0]["source"] == "every_hook"


def test_hook_service_schemas(load_config: Any, config_dir: Path) -> None:
    _plugin(config_dir)
    loaded = load_config(
        "every_hook: {}\n"
        "automation:\n"
        "  - id: a\n"
        "    trigger: {platform: event, event_type: x}\n"
        "    action:\n"
        "      - {action: every_hook.ring, data: {times: 2}}\n"
        "      - {action: every_hook.ring, data: {loud: true}}\n"
        "      - {action: every_hook.rang}\n"
    )
    errors = [str(e) for e in loaded.errors]
    assert any("action[1]" in e and "loud" in e for e in errors), errors
    assert any("action[2]" in e and "every_hook.rang" in e for e in errors), errors
    assert not any("action[0]" in e for e in errors)


def test_hook_config_entities(load_config: Any, config_dir: Path) -> None:
    _plugin(config_dir)
    automation = (
        "automation:\n"
        "  - id: a\n"
        "    trigger: {platform: state, entity_id: sensor.every_hook}\n"
        "    action: {event: y}\n"
    )
    assert not any("sensor.every_hook" in str(e) for e in load_config("every_hook: {}\n" + automation).errors)
    # The domain is this plugin's: a sensor it does not declare is a mistake.
    missing = load_config("every_hook: {}\n" + automation.replace("sensor.every_hook", "sensor.every_hooks"))
    assert any("sensor.every_hooks" in str(e) for e in missing.errors)


async def test_hook_timeline_attachments(every: Any, client_for: Any) -> None:
    incidents = every.data[INCIDENT_RUNTIME]
    res = await every.services.call("incident", "open", {"kind": "sos", "title": "ทดสอบ"})
    await incidents.note(res["incident_id"], "rang", by="every_hook", kind="every_hook", attachments=["b1"])
    operator = await client_for("operator", target=every)
    page = await (await operator.get(f"/incidents/{res['incident_id']}")).text()
    assert "bell b1" in page and "/every_hook#b1" in page
