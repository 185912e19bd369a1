"""Fixtures for the LINE tests: LINE's OpenAPI spec (kept outside the project) and a fake LINE API."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from integrations.line.testing import FakeLineApi

#: LINE's line-openapi files live beside the repository, never inside it.
SPEC_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "line-openapi"

BIG6 = "C" + "1" * 32
EYES = "C" + "2" * 32
POLICE = "C" + "3" * 32


@pytest.fixture(scope="session")
def line_spec_dir() -> Path:
    """The folder holding messaging-api.yml and webhook.yml; tests skip when it is absent."""
    if not (SPEC_DIR / "messaging-api.yml").is_file() or not (SPEC_DIR / "webhook.yml").is_file():
        pytest.skip(
            f"LINE's OpenAPI spec is not at {SPEC_DIR.resolve()} (line-openapi's messaging-api.yml and "
            "webhook.yml); the fake LINE API cannot validate requests without it"
        )
    return SPEC_DIR


@pytest_asyncio.fixture
async def fake_line(fake_line_factory, line_spec_dir) -> FakeLineApi:
    """A fake LINE API validating every request against LINE's spec, with three groups."""
    fake: FakeLineApi = await fake_line_factory(line_spec_dir)
    fake.add_group(
        "ภาคีเครือข่าย Big 6", {"U" + "a" * 32: "สมชาย ใจดี", "U" + "b" * 32: "สมหญิง รักษ์ถิ่น"}, group_id=BIG6
    )
    fake.add_group("ตาสับปะรด ตลาดสด", {"U" + "c" * 32: "ป้าแดง"}, group_id=EYES)
    fake.add_group("สายตรวจ สภ.", {"U" + "d" * 32: "ร.ต.ท. ยุทธ"}, group_id=POLICE)
    return fake


GROUPS = {"big6": BIG6, "pineapple_eyes": EYES}
PUBLIC_URL = "https://talat.example.org"


@pytest_asyncio.fixture
async def line_hub(make_hub, fake_line):
    """Start a hub whose ``line:`` block points at ``fake_line`` (Big 6 and ตาสับปะรด groups configured)."""
    from hub.testing import BASE_CONFIG

    async def _make(
        line_extra: str = "",
        *,
        groups: dict[str, str] | None = None,
        more: str = "",
        public_url: str | None = PUBLIC_URL,
        **kwargs,
    ):
        base = BASE_CONFIG
        if public_url is not None:
            base = base.replace(
                "web: {host: 127.0.0.1, port: 0}",
                f"web: {{host: 127.0.0.1, port: 0, public_url: '{public_url}'}}",
            )
        config = fake_line.config_yaml(GROUPS if groups is None else groups, line_extra) + more
        return await make_hub(config, base=base, **kwargs)

    return _make


def webhook_url(hub) -> str:
    """Return the hub's LINE webhook URL."""
    return hub.http.url + "/api/line/webhook"


async def deliver(fake, hub, *events, **kwargs) -> int:
    """Post signed events to the hub's webhook and wait until the hub has handled them."""
    status = await fake.post_webhook(webhook_url(hub), list(events), **kwargs)
    await hub.block_till_done()
    return status
