"""The set-up flows are mounted on every hub (before their blocks exist), for admins only, Thai first."""

from __future__ import annotations

import re

import pytest

from integrations.flows.common import STRINGS, FlowError, tr
from integrations.flows.const import FLOW_PAGES


def test_every_string_has_thai_and_english() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == {"th", "en"}, key
        assert entry["th"].strip() and entry["en"].strip(), key
        # Thai text is Thai: at least one Thai letter unless it is a product name or code.
        assert re.search(r"[\u0e00-\u0e7f]", entry["th"]) or entry["th"] == entry["en"], key
        # The same placeholders in both languages.
        assert set(re.findall(r"{(\w+)}", entry["th"])) == set(re.findall(r"{(\w+)}", entry["en"])), key


def test_tr_and_flow_error() -> None:
    assert tr("flow.id_taken", "en", id="gate") == "The id gate is already used; choose another"
    assert "gate" in FlowError("flow.id_taken", id="gate").text("th")
    assert tr("no.such.key", "th") == "no.such.key"


@pytest.mark.parametrize("lang", ["th", "en"])
async def test_pages_render_on_a_bare_hub(make_hub, client_for, lang: str) -> None:
    hub = await make_hub()
    client = await client_for("admin", target=hub)
    client.cookie_jar.update_cookies({"lang": lang})
    for path in FLOW_PAGES:
        async with client.get(path) as resp:
            assert resp.status == 200, path
            html = await resp.text()
        assert f'<html lang="{lang}">' in html
        assert "{{" not in html and "flow." not in html.replace("flow.py", "")
    page = await (await client.get("/setup/line")).text()
    assert 'id="line-verify"' in page and 'id="line-groups"' not in page  # no LINE yet: the token form


async def test_only_admins(make_hub, client_for) -> None:
    hub = await make_hub()
    operator = await client_for("operator", target=hub)
    for path in FLOW_PAGES:
        async with operator.get(path, allow_redirects=False) as resp:
            assert resp.status == 403, path
    async with operator.post("/setup/devices/permit", data={"minutes": "1"}) as resp:
        assert resp.status == 403


async def test_writer_refusals_become_thai_messages(tmp_path) -> None:
    from hub.config.ui_writer import ConfigConflict, ConfigRejected, IdCollision
    from integrations.flows.common import write

    async def refuse(err: Exception) -> str:
        raise err

    for err, key in (
        (ConfigConflict(), "flow.conflict"),
        (IdCollision(["ui/sos.yaml:3: sos: id 'gate' is already used here"], "gate"), "flow.id_taken"),
        (ConfigRejected(["config.yaml:4: sos[0].zigbee2mqtt: expected string"]), "flow.rejected"),
    ):
        with pytest.raises(FlowError) as caught:
            await write(refuse(err))
        assert caught.value.key == key
    assert "เปลี่ยนไปหลังจากที่คุณเปิดหน้านี้" in FlowError("flow.conflict").text("th")
    rejected = FlowError("flow.rejected", ["config.yaml:4: sos[0].zigbee2mqtt: expected string"])
    assert rejected.details == ["config.yaml:4: sos[0].zigbee2mqtt: expected string"]
