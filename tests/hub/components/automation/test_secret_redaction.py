"""A ``!secret`` inside an automation is shown and stored nowhere (issue 15 item 13).

Not in the automation config API, its traces, its page, nor the recorder; logs were
already covered.  The secret contains a quote and a backslash so its JSON-escaped form
is exercised too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

SECRET = 'door-4721"x\\yzzy'
AUTOMATION = """\
automation:
  - id: door
    alias: Door code
    variables:
      code: !secret door_code
    trigger: {platform: event, event_type: open_door}
    action:
      - event: door_opened
        event_data: {code: !secret door_code, note: "code {{ code }}"}
      - variables: {again: "{{ code }}"}
"""


async def test_a_secret_in_an_automation_is_redacted_everywhere(
    make_hub: Any, config_dir: Path, client_for: Any
) -> None:
    (config_dir / "secrets.yaml").write_text(
        "door_code: " + '"' + SECRET.replace("\\", "\\\\").replace('"', '\\"') + '"\n', encoding="utf-8"
    )
    hub = await make_hub(AUTOMATION)
    opened: list[Any] = []
    hub.bus.listen("door_opened", opened.append)
    hub.bus.fire("open_door", {})
    await hub.bus.drained()
    from tests.hub.components.automation.conftest import manager

    auto = manager(hub)

    async def done() -> bool:
        return bool(opened and await auto.traces_of("door"))

    for _ in range(500):
        if await done():
            break
        await asyncio.sleep(0.01)
    assert opened and opened[0].data["code"] == SECRET  # the automation itself still gets the value
    await hub.storage.flush()

    viewer = await client_for("viewer", target=hub)
    shown = {
        "config API": await (await viewer.get("/api/automations/door")).text(),
        "list API": await (await viewer.get("/api/automations")).text(),
        "traces API": await (await viewer.get("/api/automations/door/traces")).text(),
        "page": await (await viewer.get("/automations/door")).text(),
    }
    rows = await hub.storage.fetchall("SELECT data FROM events WHERE event_type = 'door_opened'")
    assert rows, "the event was recorded"
    shown["recorder"] = " ".join(r["data"] for r in rows)
    traces = await hub.storage.fetchall("SELECT data FROM automation_traces")
    assert traces
    shown["stored traces"] = " ".join(r["data"] for r in traces)
    for where, text in shown.items():
        for form in (SECRET, SECRET.replace("\\", "\\\\").replace('"', '\\"')):
            assert form not in text, f"the secret shows in the {where}"
    assert "***" in shown["config API"] and "***" in shown["recorder"]
