"""Every Thai/English string of the programme plugins exists in both languages and is used by a known key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.i18n import STRINGS as CORE
from plugins.big6.strings import STRINGS as BIG6
from plugins.patrol_qr.strings import STRINGS as PATROL
from plugins.people_poll.strings import STRINGS as POLL

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
TABLES = {"patrol_qr": PATROL, "people_poll": POLL, "big6": BIG6}


@pytest.mark.parametrize("domain", sorted(TABLES))
def test_both_languages(domain: str) -> None:
    for key, entry in TABLES[domain].items():
        assert set(entry) == {"th", "en"} and all(v.strip() for v in entry.values()), key
        # The same placeholders in both languages, so neither renders a raw "{name}".
        assert set(re.findall(r"{(\w+)}", entry["th"])) == set(re.findall(r"{(\w+)}", entry["en"])), key


@pytest.mark.parametrize("domain", sorted(TABLES))
def test_templates_use_known_keys(domain: str) -> None:
    used: set[str] = set()
    for template in (PLUGINS / domain / "templates").rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", template.read_text(encoding="utf-8")))
    assert used, domain
    # Keys built at run time ("patrol.cell." ~ status, "sector." ~ s) end with a dot here.
    unknown = {k for k in used if not k.endswith(".") and k not in TABLES[domain] and k not in CORE}
    assert unknown == set()
