"""Crawl every page in Thai and in English and fail on visible text outside the catalogue.

Pages come from the router itself (``hub.testing_pages.page_routes``): a page
added by any integration or plugin is crawled the day it lands.  Paths with
parameters (``/incidents/{id}``) are filled from links on pages already seen.

The rule, per visible text (text nodes, and the title / placeholder /
aria-label / alt / data-confirm attributes people read):

1. data is allowed: what an admin typed in the config, blueprint texts (their
   authors write ``ไทย / English``), entity names and ids, user names, incident
   titles and notes;
2. catalogue texts of the page's language are allowed, with their
   ``{placeholders}`` filled by anything;
3. technical tokens are allowed: numbers, times, ``domain.object`` ids, paths;
4. whatever letters are left are a finding: an English word on a Thai page, a
   Thai word on an English page, a raw state code (``above_horizon``), a
   library's message.

``<code>``, ``<pre>``, ``<textarea>`` and ``<kbd>`` hold values shown as they
are (entity ids, YAML, file:line errors) and are not checked.  One hub, one
crawl per language; the failure lists each page and string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiomqtt
import yaml

from hub.components.automation.blueprints import search_dirs
from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
from hub.core.ids import ulid
from hub.hub import Hub
from hub.i18n import LANGS, catalogue
from hub.testing import wait_for
from hub.testing_pages import browser_session, discover_pages
from integrations.federation.protocol import envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.line.sender import DETAILS_PATH
from integrations.station.const import RUNTIME as STATION_RUNTIME

#: A hub with every page-bearing integration and plugin configured; names are Thai, as an admin types them.
HUB_CONFIG = """
sos:
  - {id: gate, name: ปุ่มประตูตลาด, simulated: true, place: ประตูหน้า}
light:
  - {id: lamp, name: ไฟหน้าร้าน, simulated: true}
onvif:
  - {id: cam1, name: กล้องหน้าร้าน, host: 127.0.0.1, port: 9, username: a, password: b, share: on_alarm, owner: {name: คุณสมศรี, phone: "0812345678"}}
zone: {id: test-zone, name_th: เขตทดสอบ, area_km2: 1.0}
people_poll: {}
patrol_qr:
  checkpoints: [{id: soi3, name: ตู้แดงซอยสาม, location: {lat: 14.5, lon: 100.4}}]
big6: {}
federation: {station: st, broker: "mqtt://127.0.0.1:9", username: test-hub, password: pw}
automation:
  - id: gate_alert
    alias: แจ้งเหตุประตู
    use_blueprint:
      path: sos_alert.yaml
      input: {sos_button: sos.gate, lights: [light.lamp], flash_seconds: 5, line_targets: [big6]}
"""
#: Parameter routes no link reaches in this setup, each with the reason; everything else must be crawled.
UNREACHED_OK: dict[str, str] = {
    # A station keeps hubs' incidents in its CCOC store; its board links to /ccoc/incidents/... instead.
    "/incidents/{incident_id}": "station",
    # A live view exists only while a hub streams video up to the station (tests/e2e/test_browser_live.py).
    "/ccoc/live/{view_id}": "station",
    # A camera draft's preview picture exists only in the middle of the add-camera flow (its own tests).
    "/setup/cameras/preview/{draft}": "hub",
}

_SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "kbd", "samp", "datalist", "template", "svg"}
_READ_ATTRS = ("title", "placeholder", "aria-label", "alt", "data-confirm")
_THAI = r"\u0E00-\u0E7F"
_WORDS = re.compile(rf"[A-Za-z][A-Za-z_]+|[{_THAI}]+")
#: Technical tokens shown as they are: domain.object ids, file names, versions, URLs, paths, e-mail.
_TECH = re.compile(r"\S*(?:[A-Za-z0-9]\.[A-Za-z0-9…]|/|@|://)\S*")
_NUMERIC = re.compile(r"\S*\d\S*")


class _Text(HTMLParser):
    """Collect the visible strings of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        #: Open elements and whether each hides its content from the check.
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in _READ_ATTRS:
            if values.get(name):
                self.found.append(str(values[name]))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.found.append(str(values["value"]))
        if tag in ("br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"):
            return
        skipped = tag in _SKIP_TAGS
        self.stack.append((tag, skipped))
        self.skip += skipped

    def handle_endtag(self, tag: str) -> None:
        if all(open_tag != tag for open_tag, _ in self.stack):
            return
        while self.stack:
            top, skipped = self.stack.pop()
            self.skip -= skipped
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip <= 0 and data.strip():
            self.found.append(data)


def visible_texts(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return [" ".join(t.split()) for t in parser.found if t.strip()]


#: Keys whose one-word values are names people gave things (ids), so pages may show them as typed.
_NAME_KEYS = frozenset({"id", "name", "username", "station", "alias", "title", "place"})
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _strings(value: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """Every (key, string) leaf of a config value."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)


def _as_data(pairs: Iterable[tuple[str, str]]) -> Iterable[str]:
    """Prose, and one-word names under name keys; never a lone code word (``unavailable``, ``on_alarm``)."""
    for key, value in pairs:
        if not _CODE.fullmatch(value) or key in _NAME_KEYS:
            yield value


async def data_values(hub: Hub) -> set[str]:
    """What the admin, the blueprint authors, the operators and the devices' names put on pages."""
    found: set[str] = set()
    if hub.loaded is not None:
        found.update(_as_data(_strings(hub.loaded.raw)))
        # Validated blocks hold the defaults an integration fills in (a poll's built-in questions).
        for block in hub.loaded.blocks.values():
            dump = getattr(block, "model_dump", None)
            found.update(_as_data(_strings(dump() if callable(dump) else block)))
    for folder, _source in search_dirs(hub.config_dir):
        for file in sorted(Path(folder).rglob("*.yaml")):  # noqa: ASYNC240 - a few small files, in a test
            text = file.read_text(encoding="utf-8")
            loaded = yaml.load(text, Loader=_AnyTagLoader)  # noqa: S506 - our own files, tags kept as text
            found.update(_as_data(_strings(loaded)))
    # Entity ids are shown as codes; entity *names* are data only where the admin typed them (the
    # config above): a name the code makes up ("กล้องหน้าร้าน Motion") must be translated.
    found.update(state.entity_id for state in hub.states.all())
    # Names the code made in the hub's own language (hub.i18n.entity_name) are the hub's names,
    # shown as they are on an English page too, like the names the admin typed.
    made = [
        re.compile(".+?".join(re.escape(part) for part in re.split(r"\{[^}]*\}", texts[hub.core.language])))
        for key, texts in catalogue().items()
        if key.startswith("entity_name.")
    ]
    for state in hub.states.all():
        name = str(state.attributes.get("friendly_name") or "")
        if any(p.fullmatch(name) for p in made):
            found.add(name)
    line = hub.states.get("line.bot")
    if line is not None:  # the bot's name as LINE reports it
        found.update(str(v) for v in line.attributes.values() if isinstance(v, str))
    for user in await hub.auth.users():
        found.add(user.username)
    found.update((hub.id, hub.name))
    rows = await hub.storage.fetchall("SELECT title, place, id FROM incidents")
    found.update(str(v) for row in rows for v in row if v)
    found.update(str(row[2])[-6:] for row in rows)  # the short reference a LINE card and its page show
    out: set[str] = set()
    for value in found:
        value = " ".join(str(value).split())
        if len(value) < 2:
            continue
        out.add(value)
        # Bilingual texts (``ไทย / English``) show one side per language.
        out.update(part.strip() for part in value.split(" / ") if len(part.strip()) >= 2)
    return out


class _AnyTagLoader(yaml.SafeLoader):
    """Reads blueprint files with their ``!input`` tags as plain text."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None,
)


def _remover(values: Iterable[str]) -> list[tuple[str, re.Pattern[str] | None]]:
    """Longest first; ASCII values only as whole words (so "st" never eats "test")."""
    out: list[tuple[str, re.Pattern[str] | None]] = []
    for value in sorted(set(values), key=len, reverse=True):
        if re.search(rf"[{_THAI}]", value):
            out.append((value, None))
        else:
            out.append((value, re.compile(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])")))
    return out


def hook_pairs(hub: Hub) -> list[dict[str, str]]:
    """The bilingual pairs plugins hand the core through hooks (nav links, KPI items): catalogue entries too."""
    out: list[dict[str, str]] = []
    user = {"username": "page-admin", "role": "admin"}
    for _info, found in hub.plugins.call_each("nav_links", hub=hub, user=user):
        for link in found or []:
            out.append({"th": str(link.get("label_th", "")), "en": str(link.get("label_en", ""))})
    return out


class Rule:
    """The catalogue of one language, ready to check strings against."""

    def __init__(self, lang: str, data: set[str], extra: Iterable[dict[str, str]] = ()) -> None:
        entries = [*catalogue().values(), *extra]
        texts = [" ".join(t[lang].split()) for t in entries if t.get(lang)]
        self.lang = lang
        self.exact = set(texts) | data
        #: Texts with placeholders: whole strings match any filling; inside a longer string only
        #: those that start and end with words (a trailing "{name}" would swallow what follows).
        self.whole: list[re.Pattern[str]] = []
        self.inner: list[re.Pattern[str]] = []
        for text in texts:
            if "{" not in text:
                continue
            parts = re.split(r"\{[^}]*\}", text)
            if len("".join(parts).strip()) < 3:
                continue  # "{name}" alone would allow anything
            self.whole.append(re.compile(".{0,200}?".join(re.escape(p) for p in parts)))
            if parts[0].strip() and parts[-1].strip():
                self.inner.append(re.compile(".{1,200}?".join(re.escape(p) for p in parts)))
        self.known = _remover([*data, *(t for t in texts if "{" not in t)])
        self.long_data = [d for d in data if len(d) > 12]

    def _remove(self, rest: str) -> str:
        for value, regex in self.known:
            if value in rest:
                rest = rest.replace(value, " ") if regex is None else regex.sub(" ", rest)
        return rest

    def leftover(self, text: str) -> list[str]:
        """Return the words of ``text`` no rule accounts for."""
        if text in self.exact or any(p.fullmatch(text) for p in self.whole):
            return []
        # Technical tokens first, so no word is cut out of an entity or action id.
        rest = " ".join(w for w in text.split(" ") if not _TECH.fullmatch(w) or w in self.exact)
        # Data cut short for a narrow column ("How worried are you about…").
        for cut in re.findall(r"([^·:(\[]{8,}?)…", rest):
            if any(d.startswith(cut.strip()) for d in self.long_data):
                rest = rest.replace(cut + "…", " ")
        # Longest first across data and catalogue alike: Thai has no spaces, so a short
        # word must never be cut out of a longer one before the longer one is matched.
        for pattern in self.inner:
            rest = pattern.sub(" ", rest)
        rest = self._remove(rest)
        rest = _TECH.sub(" ", rest)
        rest = _NUMERIC.sub(" ", rest)
        return _WORDS.findall(rest)


async def crawl(
    hub: Hub, lang: str, seeds: Iterable[str] = (), extra_data: Iterable[str] = ()
) -> tuple[list[str], set[str], int]:
    """Visit every page in ``lang``; return (findings, unreached parameter routes, pages seen).

    ``seeds`` are extra paths (signed links handed out by services, not linked from pages).
    """
    session = await browser_session(hub, "admin", lang=lang)
    try:
        rule = Rule(lang, await data_values(hub) | set(extra_data), hook_pairs(hub))
        pages, unreached = await discover_pages(hub, session, list(seeds))
    finally:
        await session.close()
    findings: list[str] = []
    for path, page in pages.items():
        for text in visible_texts(page):
            words = rule.leftover(text)
            if words:
                findings.append(f"[{lang}] {path}: {text!r} → not in the catalogue: {' '.join(words)}")
    return findings, unreached, len(pages)


async def _seed(hub: Hub) -> None:
    """Give the pages something to show: an SOS with its incident and trace, an acknowledged incident."""
    await hub.services.call("sos", "press", {"entity_id": "sos.gate"})
    automation = hub.data[AUTOMATION_RUNTIME].get("gate_alert")
    assert automation is not None
    await wait_for(lambda: automation.last_execution is not None, what="the SOS automation ran")


async def _check(hub: Hub, seeds: Iterable[str] = (), extra_data: Iterable[str] = ()) -> None:
    problems: list[str] = []
    unreached_all: set[str] = set()
    seeds, extra_data = list(seeds), list(extra_data)
    for lang in LANGS:
        findings, unreached, seen = await crawl(hub, lang, seeds, extra_data)
        assert seen > 5, f"only {seen} pages crawled"
        problems.extend(dict.fromkeys(findings))
        unreached_all |= unreached
    role = "station" if hub.role == "station" else "hub"
    missing = sorted(p for p in unreached_all if UNREACHED_OK.get(p) != role)
    message = "\n".join(problems[:200])
    if missing:
        message += (
            "\nParameter pages no crawled link reached (add data, or a reason to UNREACHED_OK):\n  "
            + "\n  ".join(missing)
        )
    assert not problems and not missing, f"{len(problems)} strings outside the catalogue:\n{message}"


async def hub_with_pages(make_hub: Any, fake_line_factory: Any) -> tuple[Hub, list[str], list[str]]:
    """A hub with every page-bearing plugin and data on its pages; return (hub, seed paths, extra data)."""
    fake = await fake_line_factory()
    hub = await make_hub(HUB_CONFIG + fake.config_yaml(groups={"big6": "C" + "0" * 32}))
    await _seed(hub)
    # Signed links people get on paper or in LINE, not from a page: a red box's QR, a
    # volunteer's link, the LINE card's Details button.
    sheet = await hub.services.call("patrol_qr", "sheet_link", {"id": "soi3"})
    volunteer = await hub.services.call(
        "patrol_qr", "issue_volunteer_link", {"name": "สมชาย", "phone": "0811111111"}
    )
    # The Details link a LINE card carries (the test hub has no public URL, so the card has none).
    row = await hub.storage.fetchone("SELECT id FROM incidents")
    assert row is not None
    party = "line:big6"
    details = (
        hub.signer.sign(DETAILS_PATH.format(incident_id=row[0]), 3600, extra=party) + "&for=" + quote(party)
    )
    # The bot's name as LINE reports it, and the volunteer the test named.
    return hub, [sheet["path"], volunteer["path"], details], ["SafetyHub Test Bot", "สมชาย"]


async def station_with_pages(make_hub: Any, lab: FederationLab, folder: Path) -> tuple[Hub, list[str]]:
    """A station with a registered hub and an open SOS from it over real Mosquitto; return (hub, extra data)."""
    hub = await make_hub(lab.station_block(), base=station_config(), folder=folder)
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    incident_id = ulid()
    incident = {
        "id": incident_id,
        "kind": "sos",
        "severity": "critical",
        "status": "open",
        "title": "SOS ตลาดสด",
        "place": "ประตูตลาด",
        "opened_at": 1_767_225_600.0,
        "updated_at": 1_767_225_600.0,
    }
    body = {"action": "opened", "incident": incident, "entry": {"ts": 1_767_225_600.0, "kind": "opened"}}
    async with aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as peer:
        await peer.publish(
            f"ssz/v1/{STATION_ID}/test-hub/incident",
            envelope(ulid(), STATION_ID, "test-hub", "incident", 1_767_225_600.0, body),
            qos=1,
        )
    store = hub.data[STATION_RUNTIME].store
    await until(lambda: store.incident(incident_id, "test-hub"))
    # The hubs' ids, as the station's admin registered them (add-hub), are names too.
    return hub, ["SOS ตลาดสด", "ประตูตลาด", *HUB_PASSWORDS]


async def test_every_hub_page_speaks_the_catalogue(make_hub: Any, fake_line_factory: Any) -> None:
    hub, seeds, extra = await hub_with_pages(make_hub, fake_line_factory)
    await _check(hub, seeds=seeds, extra_data=extra)


async def test_every_station_page_speaks_the_catalogue(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    """The CCOC pages, with a registered hub and a federated SOS."""
    hub, extra = await station_with_pages(make_hub, federation_lab, tmp_path / "st")
    await _check(hub, extra_data=extra)


def test_the_rule_catches_untranslated_text() -> None:
    """The rule itself: English, state codes and Thai in the wrong language are found; data is not."""
    th = Rule("th", {"ปุ่มประตูตลาด", "sos.gate"})
    assert th.leftover("ปุ่มประตูตลาด Motion") == ["Motion"]
    assert th.leftover("above_horizon") == ["above_horizon"]
    assert th.leftover("idle") == ["idle"]
    assert th.leftover("ภาพรวม") == []
    assert th.leftover("sos.gate · 12:05:09") == []
    assert th.leftover("2 min") == ["min"]
    en = Rule("en", {"ปุ่มประตูตลาด"})
    assert en.leftover("ภาพรวม") == ["ภาพรวม"]
    assert en.leftover("Overview") == []
    assert en.leftover("ปุ่มประตูตลาด") == []
    texts = visible_texts(
        '<p title="Hello">ข้อความ <code>raw_code</code><script>x</script></p><input type="submit" value="Go">'
    )
    assert texts == ["Hello", "ข้อความ", "Go"]


async def test_error_pages_have_the_site_layout_and_speak_the_catalogue(make_hub: Any) -> None:
    """403 (a viewer on an admin page), a handler's 404 and the router's 404: the site's page, translated."""
    hub = await make_hub(HUB_CONFIG.split("onvif:")[0])
    for lang in LANGS:
        rule = Rule(lang, await data_values(hub))
        viewer = await browser_session(hub, "viewer", lang=lang)
        admin = await browser_session(hub, "admin", lang=lang)
        try:
            for session, path, status in (
                (viewer, "/users", 403),
                (admin, "/automations/no_such_one/yaml", 404),
                (admin, "/no/such/page", 404),
            ):
                async with session.get(path, allow_redirects=False) as resp:
                    page = await resp.text()
                assert resp.status == status, (path, resp.status)
                assert resp.content_type == "text/html", path
                assert 'class="topbar"' in page and 'class="nav"' in page, f"{path}: no site layout"
                assert 'class="card narrow error-page"' in page, path
                words = [w for t in visible_texts(page) for w in rule.leftover(t)]
                assert not words, f"[{lang}] {path}: {words}"
        finally:
            await viewer.close()
            await admin.close()
    async with await browser_session(hub, "viewer", lang="th") as viewer, viewer.get("/users") as resp:
        assert "หน้านี้สำหรับผู้ดูแลระบบเท่านั้น" in await resp.text()
