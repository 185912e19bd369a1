"""Every page fits a 390 px phone: no horizontal scroll, in real Chromium, in Thai and English.

The page list is the crawl test's (the router's pages, parameter pages found
through links, signed links from services), so a page added later is checked
the day it lands.  One browser, one hub (and one station) per test, pages in a
loop; a failure names each page and the elements that stick out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hub.hub import Hub
from hub.i18n import LANGS
from hub.testing_pages import browser_session, discover_pages
from integrations.federation.testing import FederationLab
from tests.hub.http.test_crawl import hub_with_pages, station_with_pages

WIDTH = 390
#: What sticks out: the widest elements past the right edge (tag#id.class and their right edge).
_OFFENDERS = """(width) => {
  const out = [];
  const clipped = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== "visible") { return true; }
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && !clipped(el)) {
      const id = el.id ? "#" + el.id : "";
      const cls = el.classList.length ? "." + Array.from(el.classList).join(".") : "";
      out.push([Math.round(box.right), el.tagName.toLowerCase() + id + cls]);
    }
  }
  out.sort((a, b) => b[0] - a[0]);
  return out.slice(0, 4).map((o) => o[1] + " → " + o[0] + "px");
}"""


async def _check_widths(hub: Hub, browser: Any, seeds: list[str], *, board_age: bool = False) -> None:
    problems: list[str] = []
    checked = 0
    for lang in LANGS:
        session = await browser_session(hub, "admin", lang=lang)
        try:
            pages, _unreached = await discover_pages(hub, session, seeds)
            cookies = [{"name": c.key, "value": c.value, "url": hub.http.url} for c in session.cookie_jar]
        finally:
            await session.close()
        context = await browser.new_context(viewport={"width": WIDTH, "height": 844}, device_scale_factor=1)
        try:
            await context.add_cookies(cookies)
            page = await context.new_page()
            for path in pages:
                await page.goto(hub.http.url.rstrip("/") + path, wait_until="load")
                width = await page.evaluate("document.documentElement.scrollWidth")
                checked += 1
                if width > WIDTH:
                    offenders = await page.evaluate(_OFFENDERS, WIDTH)
                    problems.append(f"[{lang}] {path}: scrollWidth {width} > {WIDTH}: {', '.join(offenders)}")
                if board_age and path == "/ccoc":
                    # The board's "opened N days ago", written by console.js in the page's language.
                    age = (await page.locator(".ccoc-age").first.text_content() or "").strip()
                    unit = "วัน" if lang == "th" else "d"
                    if not re.fullmatch(rf"\d+ {unit}", age):
                        problems.append(f"[{lang}] /ccoc: the SOS's age reads {age!r}")
        finally:
            await context.close()
    assert checked > 20, f"only {checked} pages checked"
    assert not problems, f"{len(problems)} pages scroll sideways at {WIDTH} px:\n" + "\n".join(problems)


async def test_every_hub_page_fits_a_phone(make_hub: Any, fake_line_factory: Any, browser: Any) -> None:
    hub, seeds, _extra = await hub_with_pages(make_hub, fake_line_factory)
    await _check_widths(hub, browser, seeds)


async def test_every_station_page_fits_a_phone(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, browser: Any
) -> None:
    hub, _extra = await station_with_pages(make_hub, federation_lab, tmp_path / "st")
    await _check_widths(hub, browser, [], board_age=True)
