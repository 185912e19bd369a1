"""The Home Assistant support table: equal to the docs, and every ✔ item really there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.components.automation import ha_support
from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
from hub.testing import Mosquitto, mqtt_block

DOCS = Path(__file__).resolve().parents[4] / "docs" / "automations.md"
TABLES = {
    "Triggers": ha_support.TRIGGERS,
    "Conditions": ha_support.CONDITIONS,
    "Actions": ha_support.ACTIONS,
    "Services": ha_support.SERVICES,
    "Template functions and filters": ha_support.TEMPLATE_FUNCTIONS,
}


def _docs_tables() -> dict[str, dict[str, str | None]]:
    text = DOCS.read_text(encoding="utf-8").split("## Home Assistant support", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict[str, str | None]] = {}
    for section in text.split("#### ")[1:]:
        title, _, body = section.partition("\n")
        rows = re.findall(r"^\| `([^`]+)` \| (✔|✘) \| (.*?) \|$", body, re.M)
        tables[title.strip()] = {name: (None if mark == "✔" else why) for name, mark, why in rows}
    return tables


def test_docs_show_the_table() -> None:
    assert _docs_tables() == {title: dict(table) for title, table in TABLES.items()}


async def test_supported_triggers_conditions_and_services_exist(make_hub, mosquitto: Mosquitto) -> None:
    hub = await make_hub(
        mqtt_block(mosquitto)
        + """\
demo: {}
light:
  - {id: lamp, simulated: true}
  - {id: relay, simulated: true, kind: switch}
  - {id: siren, simulated: true, kind: siren}
input_boolean: {armed: {}}
input_number: {level: {min: 0, max: 10}}
input_select: {mode: {options: [a, b]}}
input_text: {note: {}}
input_datetime: {when: {has_date: true, has_time: true}}
timer: {t: {}}
counter: {c: {}}
""",
        real_clock=True,
    )
    registry = hub.data[AUTOMATION_RUNTIME].registry
    for name, why in ha_support.TRIGGERS.items():
        assert (name in registry.triggers) == (why is None), name
    for name, why in ha_support.CONDITIONS.items():
        if name not in ("and", "or", "not"):
            assert (name in registry.conditions) == (why is None), name
    services = hub.services.services()
    for name, why in ha_support.SERVICES.items():
        domain, service = name.split(".")
        if service == "<target>":
            continue
        assert (service in services.get(domain, {})) == (why is None), name


async def test_supported_template_functions_exist(hub) -> None:
    env = hub.templates.env
    for name, why in ha_support.TEMPLATE_FUNCTIONS.items():
        there = name in env.globals or name in env.filters or name in env.tests
        assert there == (why is None), name


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "trigger: {platform: tag, tag_id: x}\n    action: {event: y}",
            "the tag trigger is Home Assistant's",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    condition: {condition: zone, entity_id: person.a, zone: zone.home}",
            "zone conditions are not supported",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    action: {scene: scene.night}",
            "scenes are not supported",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    action: {action: media_player.play_media}",
            "media_player.play_media is Home Assistant's",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    action: {action: script.turn_on}",
            "no scripts: use an automation",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    action: {event: y, event_data: {n: \"{{ area_name('light.a') }}\"}}",
            "the template function area_name is Home Assistant's",
        ),
        (
            "trigger: {platform: event, event_type: x}\n    condition: \"{{ 'a' | shuffle }}\"\n    action: {event: y}",
            "the template function shuffle is Home Assistant's",
        ),
    ],
)
def test_check_names_unsupported_ha_features(load_config, snippet: str, message: str) -> None:
    loaded = load_config(f"automation:\n  - id: a\n    {snippet}\n")
    errors = [str(e) for e in loaded.errors]
    assert any(message in e and ha_support.DOCS in e for e in errors), errors
