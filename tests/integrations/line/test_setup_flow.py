"""The LINE set-up flow against the fake LINE API (validated against LINE's OpenAPI spec)."""

from __future__ import annotations

from hub.testing_line import FAKE_SECRET
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


async def test_line_routes_exist_before_line_is_set_up(make_hub, client_for) -> None:
    """The flow adds ``line:`` without a restart, so the webhook route must already be there."""
    hub = await make_hub()
    client = await client_for("admin", target=hub)
    async with client.post("/api/line/webhook", data=b"{}") as resp:
        assert resp.status == 503
    page = await (await client.get("/setup/line")).text()
    assert 'id="line-verify"' in page and 'id="line-groups"' not in page
