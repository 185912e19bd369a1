"""The LINE set-up flow against the fake LINE API (validated against LINE's OpenAPI spec)."""

from __future__ import annotations

from integrations.line.testing import FAKE_SECRET
from tests.integrations.line.conftest import BIG6, PUBLIC_URL, deliver


async def test_refused_token_says_what_to_check_and_writes_nothing(
    make_hub, client_for, fake_line, config_dir
) -> None:
    hub = await make_hub(real_clock=True)
    before = (config_dir / "config.yaml").read_text()
    client = await client_for("admin", target=hub)
    form = {"token": "not-the-token", "secret": FAKE_SECRET, "api_base": fake_line.base_url}
    async with client.post("/setup/line/connect", data=form) as resp:
        text = await resp.text()
    assert resp.status == 422
    assert "LINE ไม่ยอมรับ Channel access token" in text
    assert [r.path for r in fake_line.requests] == ["/v2/bot/info"]
    assert fake_line.violations == []
    assert (config_dir / "config.yaml").read_text() == before
    assert not (config_dir / "secrets.yaml").exists()


async def test_malformed_secret_is_refused_before_asking_line(make_hub, client_for, fake_line) -> None:
    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    form = {"token": fake_line.token, "secret": "short", "api_base": fake_line.base_url}
    async with client.post("/setup/line/connect", data=form) as resp:
        assert resp.status == 422
        assert "Channel secret ต้องเป็นตัวอักษร" in await resp.text()
    assert fake_line.requests == []


async def test_verify_good_token_asks_bot_info(make_hub, fake_line) -> None:
    from integrations.line.setup_flow import verify_channel

    hub = await make_hub(real_clock=True)
    bot = await verify_channel(hub, fake_line.token, FAKE_SECRET, fake_line.base_url)
    assert bot["basic_id"] == "@123abcde" and bot["display_name"] == "SafetyHub Test Bot"
    assert fake_line.violations == []


async def test_running_line_shows_webhook_groups_and_sends_a_test(line_hub, fake_line, client_for) -> None:
    hub = await line_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    newcomer = fake_line.add_group("ร้านค้าซอย 3", {"U" + "e" * 32: "เจ๊หมวย"})
    assert await deliver(fake_line, hub, fake_line.event_join(newcomer)) == 200
    page = await (await client.get("/setup/line")).text()
    assert f"{PUBLIC_URL}/api/line/webhook" in page
    assert f'data-group-id="{newcomer}" data-alias=""' in page  # joined, waiting for a name
    assert f'data-group-id="{BIG6}" data-alias="big6"' in page
    async with client.post("/setup/line/test", data={"alias": "big6"}) as resp:
        assert resp.status == 200
        assert "ส่งการ์ดทดสอบเข้ากลุ่ม big6 แล้ว" in await resp.text()
    pushes = fake_line.pushes
    assert pushes and pushes[-1].to == BIG6 and "big6" in pushes[-1].messages[0]["text"]
    assert fake_line.violations == []


async def test_connect_writes_secrets_and_names_groups(make_hub, client_for, fake_line, config_dir) -> None:
    from hub.bootstrap import load

    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    form = {"token": fake_line.token, "secret": FAKE_SECRET, "api_base": fake_line.base_url}
    async with client.post("/setup/line/connect", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    ui_line = (config_dir / "ui" / "line.yaml").read_text(encoding="utf-8")
    assert fake_line.token not in ui_line and FAKE_SECRET not in ui_line
    assert "!secret" in ui_line
    assert fake_line.token in (config_dir / "secrets.yaml").read_text(encoding="utf-8")
    loaded = load(config_dir / "config.yaml")
    assert not loaded.errors
    assert loaded.blocks["line"].channel_access_token.get_secret_value() == fake_line.token
    assert loaded.blocks["line"].api_base == fake_line.base_url
    # Set up live: the page now shows the bot and its webhook URL, and a join is listed.
    page = await (await client.get("/setup/line?notice=connected")).text()
    assert "SafetyHub Test Bot" in page and "/api/line/webhook" in page
    group = fake_line.add_group("ภาคี Big 6 ตลาดสด", {"U" + "a" * 32: "สมชาย"})
    assert await deliver(fake_line, hub, fake_line.event_join(group)) == 200
    page = await (await client.get("/setup/line")).text()
    assert f'data-group-id="{group}" data-alias=""' in page


async def test_a_joined_group_is_named_into_line_groups(line_hub, fake_line, client_for, config_dir) -> None:
    from hub.bootstrap import load

    hub = await line_hub(real_clock=True, groups={"big6": BIG6})
    client = await client_for("admin", target=hub)
    newcomer = fake_line.add_group("ตาสับปะรด ซอย 5", {"U" + "f" * 32: "ลุงมี"})
    assert await deliver(fake_line, hub, fake_line.event_join(newcomer)) == 200
    # A bad alias and one already used are refused, with nothing written.
    for alias, other, message in (
        ("other", "Big Six!", "ชื่อเรียกต้องขึ้นต้นด้วย"),
        ("big6", "", "ใช้กับกลุ่มอื่นแล้ว"),
    ):
        form = {"group_id": newcomer, "alias": alias, "other": other}
        async with client.post("/setup/line/name", data=form) as resp:
            assert resp.status == 422 and message in await resp.text()
    assert not (config_dir / "ui" / "line.yaml").exists()
    form = {"group_id": newcomer, "alias": "pineapple_eyes"}
    async with client.post("/setup/line/name", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    loaded = load(config_dir / "config.yaml")
    assert not loaded.errors
    assert loaded.blocks["line"].groups == {"big6": BIG6, "pineapple_eyes": newcomer}
    # The hand-written token stays in config.yaml: the UI file holds only what differs.
    ui_line = (config_dir / "ui" / "line.yaml").read_text(encoding="utf-8")
    assert "channel_access_token" not in ui_line and newcomer in ui_line
