"""The public poll over real HTTP: signed links, one answer per browser, throttling, results, events."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest_asyncio

from hub.core.clock import FakeClock
from hub.hub import Hub
from plugins.people_poll.const import RUNTIME as PEOPLE_POLL_RUNTIME
from plugins.people_poll.strings import date_label

BKK = ZoneInfo("Asia/Bangkok")
GOOD = {
    "fear_of_crime": "2",
    "trust_police": "4",
    "safe_at_night": "yes",
    "comment": "ไฟดับซอย 5 โทร 0812345678",
}


def at(month: int, day: int, hour: int = 12) -> float:
    return datetime(2026, month, day, hour, tzinfo=BKK).timestamp()


@pytest_asyncio.fixture
async def browsers() -> AsyncIterator[Callable[..., Any]]:
    """Fresh browsers (own cookie jar, no account) for a hub."""
    sessions: list[aiohttp.ClientSession] = []

    def _make(hub: Hub, headers: dict[str, str] | None = None) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(
            base_url=hub.http.url, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers or {}
        )
        sessions.append(session)
        return session

    yield _make
    for session in sessions:
        await session.close()


async def answer(
    session: aiohttp.ClientSession, link: str, form: dict[str, str] | None = None
) -> tuple[int, str]:
    """Open the link like a scanned QR, then send the form."""
    async with session.get(link) as resp:
        page = await resp.text()
    match = re.search(r'name="form_token" value="([^"]+)"', page)
    if match is None:
        return resp.status, page
    async with session.post(
        link, data={"form_token": html.unescape(match.group(1)), **(form or GOOD)}
    ) as resp:
        return resp.status, await resp.text()


def reason(page: str) -> str | None:
    match = re.search(r'data-reason="([^"]+)"', page)
    return match.group(1) if match else None


async def count(hub: Hub, table: str = "poll_responses") -> int:
    row = await hub.storage.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def test_one_answer_per_browser_per_month(make_hub: Any, browsers: Any) -> None:
    hub = await make_hub("people_poll:\n")
    link = hub.data[PEOPLE_POLL_RUNTIME].link()
    phone = browsers(hub)
    status, page = await answer(phone, link)
    assert status == 200 and 'id="poll-done"' in page
    # The same browser again: told it has answered; a crafted second POST is refused too.
    async with phone.get(link) as resp:
        assert reason(await resp.text()) == "already"
    token = next(c.value for c in phone.cookie_jar if c.key == "pp_form")
    async with phone.post(link, data={"form_token": token, **GOOD}) as resp:
        assert resp.status == 409
    assert await count(hub) == 1
    # Another phone on the same network answers for itself.
    assert (await answer(browsers(hub), link))[0] == 200
    assert await count(hub) == 2
    # Nothing about the sender is kept with an answer: only the month and the answers (comment scrubbed).
    rows = await hub.storage.fetchall("SELECT * FROM poll_responses")
    assert set(rows[0].keys()) == {"id", "month", "answers"}
    assert "0812345678" not in rows[0]["answers"] and "ไฟดับซอย 5" in rows[0]["answers"]


async def test_forged_and_expired_links_store_nothing(make_hub: Any, browsers: Any, clock: FakeClock) -> None:
    hub = await make_hub("people_poll:\n")
    mgr = hub.data[PEOPLE_POLL_RUNTIME]
    link = mgr.link()
    path, query = link.split("?")
    phone = browsers(hub)
    for bad in (
        f"{path}?{query[:-3]}xyz",
        path,
        f"/people_poll/m/2026-02?{query}",
        f"/people_poll/m/2026-13?{query}",
    ):
        status, page = await answer(phone, bad)
        assert (status, reason(page)) == (403, "link"), bad
        async with phone.post(bad, data=GOOD) as resp:
            assert resp.status == 403
    # Next month's link exists already but does not open before the 1st.
    status, page = await answer(phone, mgr.link("2026-02"))
    assert (status, reason(page)) == (403, "not_open")
    # January's link closes after January plus 3 days' grace.
    await clock.set_time(at(2, 3, 23))
    assert (await answer(browsers(hub), link))[0] == 200
    await clock.set_time(at(2, 4, 1))
    status, page = await answer(browsers(hub), link)
    assert (status, reason(page)) == (403, "link") and "หมดอายุ" in page
    assert await count(hub) == 1


async def test_cross_site_posts_are_refused(make_hub: Any, browsers: Any) -> None:
    hub = await make_hub("people_poll:\n")
    link = hub.data[PEOPLE_POLL_RUNTIME].link()
    # A page elsewhere can post the form, but cannot send our SameSite=Strict cookie.
    never_opened = browsers(hub)
    async with never_opened.post(link, data={"form_token": "guess", **GOOD}) as resp:
        assert resp.status == 403 and reason(await resp.text()) == "form"
    opened = browsers(hub)
    async with opened.get(link):
        pass
    async with opened.post(link, data={"form_token": "wrong", **GOOD}) as resp:
        assert resp.status == 403
    assert await count(hub) == 0


async def test_flood_from_one_client_is_throttled(make_hub: Any, browsers: Any, clock: FakeClock) -> None:
    hub = await make_hub("people_poll: {max_per_client_per_hour: 3, max_per_client_per_month: 4}\n")
    link = hub.data[PEOPLE_POLL_RUNTIME].link()
    # A script takes a form while it still can ...
    script = browsers(hub)
    async with script.get(link) as resp:
        match = re.search(r'name="form_token" value="([^"]+)"', await resp.text())
        assert match is not None
        token = match.group(1)
    results = [(await answer(browsers(hub), link))[0] for _ in range(3)]
    assert results == [200, 200, 200]
    # ... cookies cleared each time (new browsers), same address: the fourth is refused when the
    # page opens, and a flood posted straight at the form is refused too.
    async with browsers(hub).get(link) as resp:
        assert resp.status == 429 and reason(await resp.text()) == "throttled"
    for _ in range(20):
        async with script.post(link, data={"form_token": token, **GOOD}) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
            assert reason(await resp.text()) == "throttled"
    assert await count(hub) == 3
    # Refusals over the limit write nothing at all, so a flood cannot fill the disk.
    assert await count(hub, "poll_throttle") == 3
    # An hour later one more is allowed, then the month's limit holds.
    await clock.advance(3601)
    assert (await answer(browsers(hub), link))[0] == 200
    await clock.advance(3601)
    assert (await answer(browsers(hub), link))[0] == 429
    assert await count(hub) == 4
    # Only salted hashes of the address are kept, never the address.
    dump = [
        tuple(r)
        for t in ("poll_throttle", "poll_salts", "poll_responses")
        for r in await hub.storage.fetchall(f"SELECT * FROM {t}")
    ]
    assert "127.0.0.1" not in repr(dump)


async def test_bad_answers_come_back_with_the_form(make_hub: Any, browsers: Any) -> None:
    hub = await make_hub("people_poll:\n")
    link = hub.data[PEOPLE_POLL_RUNTIME].link()
    status, page = await answer(browsers(hub), link, {**GOOD, "trust_police": "", "comment": "ซอยเปลี่ยว"})
    assert status == 400 and 'id="poll-error"' in page and "เชื่อมั่นในการทำงานของตำรวจ" in page
    # What was filled in is kept on the form.
    assert 'value="2" checked' in page and "ซอยเปลี่ยว" in page
    assert (await answer(browsers(hub), link, {**GOOD, "fear_of_crime": "9"}))[0] == 400
    assert await count(hub) == 0


async def test_results_trend_events_and_purge(
    make_hub: Any, browsers: Any, client_for: Any, clock: FakeClock
) -> None:
    hub = await make_hub("people_poll:\n")
    opened: list[Any] = []
    published: list[Any] = []
    hub.bus.listen("people_poll_opened", opened.append)
    hub.bus.listen("people_poll_results", published.append)
    mgr = hub.data[PEOPLE_POLL_RUNTIME]
    await clock.set_time(at(1, 1, 9) + 1)
    await hub.block_till_done()
    assert [e.data["month"] for e in opened] == ["2026-01"]
    assert opened[0].data["path"].startswith("/people_poll/m/2026-01?exp=")
    jan = mgr.link()
    for form in (GOOD, {"fear_of_crime": "4", "trust_police": "2", "safe_at_night": "no"}):
        assert (await answer(browsers(hub), jan, form))[0] == 200
    await clock.set_time(at(2, 2))
    await hub.block_till_done()
    feb = mgr.link()
    assert (await answer(browsers(hub), feb, {**GOOD, "fear_of_crime": "1", "comment": ""}))[0] == 200
    assert [e.data["month"] for e in opened] == ["2026-01", "2026-02"]

    # Day 4 (after the 3 days' grace): January's totals are published, without the comments.
    await clock.set_time(at(2, 4, 10))
    await hub.block_till_done()
    # (December's empty totals went out on January 4th: a month nobody answered is news too.)
    assert [(e.data["month"], e.data["responses"]) for e in published] == [("2025-12", 0), ("2026-01", 2)]
    result = published[-1].data
    fear = next(q for q in result["questions"] if q["id"] == "fear_of_crime")
    assert fear == {
        "id": "fear_of_crime",
        "type": "scale",
        "n": 2,
        "counts": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0},
        "mean": 3.0,
    }
    assert "ไฟดับ" not in repr(result) and not any(q["type"] == "text" for q in result["questions"])
    # January's salt and address hashes are gone; its answers stay.
    assert [r["month"] for r in await hub.storage.fetchall("SELECT month FROM poll_salts")] == ["2026-02"]
    assert await count(hub) == 3

    admin = await client_for("admin", target=hub)
    async with admin.get("/people_poll?month=2026-02") as resp:
        page = await resp.text()
    assert resp.status == 200 and 'data-n="1"' in page
    assert 'data-mean="1.00"' in page and "<svg" in page and 'class="chart trend-chart"' in page
    # The trend has January (mean fear 3.0) and February (1.0) as points.
    assert 'data-value="3.00"' in page and 'data-value="1.00"' in page
    assert 'id="poll-share"' in page and "data:image/svg+xml" in page
    assert (
        'id="poll-comments"' in page and "ไฟดับซอย 5 โทร […]" not in page
    )  # January's comment is on January's page
    async with admin.get("/people_poll?month=2026-01") as resp:
        assert "ไฟดับซอย 5 โทร […]" in await resp.text()
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/people_poll?month=2026-01") as resp:
        text = await resp.text()
    assert 'id="poll-comments"' not in text and 'id="poll-share"' not in text
    async with viewer.get("/api/people_poll/results?month=2026-01") as resp:
        data = await resp.json()
    assert data["responses"] == 2 and [p["responses"] for p in data["trend"]][-2:] == [0, 2]
    async with viewer.get("/people_poll?month=2026-1") as resp:
        assert resp.status == 400

    slots = {i.domain: r for i, r in await hub.plugins.async_call_each("kpi_slots", hub=hub, month="2026-01")}
    by_key = {s["key"]: s["value"] for s in slots["people_poll"]}
    assert by_key == {
        "poll_responses": 2,
        "poll_fear_of_crime": 3.0,
        "poll_trust_police": 3.0,
        "poll_safe_at_night": 50.0,
    }


async def test_not_configured(make_hub: Any, browsers: Any, client_for: Any) -> None:
    hub = await make_hub()
    async with browsers(hub).get("/people_poll/m/2026-01?exp=1&sig=x") as resp:
        assert resp.status == 404
    admin = await client_for("admin", target=hub)
    async with admin.get("/people_poll") as resp:
        assert resp.status == 404


async def test_share_box_shows_the_real_expiry(make_hub: Any, client_for: Any, clock: FakeClock) -> None:
    """January's link works until February 3rd (3 days' grace): the box must say so, not "3 January"."""
    # The clock is set before the hub starts: a running hub would run every minute's timers.
    await clock.set_time(at(1, 15))
    hub = await make_hub("people_poll:\n")
    admin = await client_for("admin", target=hub)
    async with admin.get("/people_poll") as resp:
        page = await resp.text()
    assert "ใช้ได้ถึง 3 ก.พ. 2569" in page and "ใช้ได้ถึง 3 ม.ค." not in page
    admin.cookie_jar.update_cookies({"lang": "en"})
    async with admin.get("/people_poll") as resp:
        assert "Valid until 3 Feb 2026" in await resp.text()
    # December's link runs into January of the next year: the day's own month and year.
    assert date_label(date(2027, 1, 3), "th") == "3 ม.ค. 2570"
    assert date_label(date(2027, 1, 3), "en") == "3 Jan 2027"


async def test_a_throttled_resident_is_told_before_filling_in_the_form(
    make_hub: Any, browsers: Any, clock: FakeClock
) -> None:
    hub = await make_hub("people_poll: {max_per_client_per_hour: 2, max_per_client_per_month: 30}\n")
    link = hub.data[PEOPLE_POLL_RUNTIME].link()
    assert [(await answer(browsers(hub), link))[0] for _ in range(2)] == [200, 200]
    # The next resident from the same address (a shared phone, a shop's Wi-Fi) opens the link:
    # told at once, with when to come back, instead of after answering every question.
    async with browsers(hub).get(link) as resp:
        page = await resp.text()
        assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert reason(page) == "throttled" and 'name="form_token"' not in page
    # Opening the page is not an attempt: an hour later the form is offered again.
    assert await count(hub, "poll_throttle") == 2
    await clock.advance(3601)
    async with browsers(hub).get(link) as resp:
        assert resp.status == 200 and 'name="form_token"' in await resp.text()
