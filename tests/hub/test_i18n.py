"""The one catalogue: integrations register their strings with hub.i18n and every key has both languages."""

from __future__ import annotations

import importlib
import re

import pytest

from hub import i18n

#: Every module that registers strings (importing it registers them).
REGISTERING = (
    "hub.components.automation.strings",
    "integrations.camera.views",
    "integrations.notify.views",
    "integrations.sos.devices_page",
    "integrations.station.api",
    "integrations.station.footage_page",
    "integrations.video.strings",
    "integrations.video.footage_views",
    "plugins.big6.strings",
    "plugins.patrol_qr.strings",
    "plugins.people_poll.strings",
    "integrations.ccoc.labels",
    "integrations.ccoc.live_labels",
    "integrations.ccoc.command_forms",
    "integrations.line.views",
    "integrations.camera.policy",
    "hub.components.zone",
    "hub.components.onboarding.strings",
)


def test_every_registered_key_has_both_languages_and_the_same_placeholders() -> None:
    for module in REGISTERING:
        importlib.import_module(module)
    names = set(i18n.catalogues())
    assert {"automation", "camera.views", "video", "big6"} <= names
    for key, texts in i18n.catalogue().items():
        assert all(texts.get(lang, "").strip() for lang in i18n.LANGS), key
        assert set(re.findall(r"{(\w+)[^}]*}", texts["th"])) == set(
            re.findall(r"{(\w+)[^}]*}", texts["en"])
        ), key


def test_registered_keys_translate_through_the_core() -> None:
    importlib.import_module("integrations.camera.views")
    importlib.import_module("hub.components.automation.strings")
    assert i18n.translate("automation.title", "th") == "ระบบอัตโนมัติ"
    assert i18n.translate("automation.title", "en") == "Automations"
    assert i18n.translate("camera.views.wall", "en") == "Cameras"


def test_by_lang_tables_keep_their_shape() -> None:
    table = i18n.register_by_lang(
        "test.shape", {"th": {"a": "ก {n}"}, "en": {"a": "A {n}"}}, prefix="test.shape."
    )
    assert table == {"th": {"a": "ก {n}"}, "en": {"a": "A {n}"}}
    assert i18n.translate("test.shape.a", "en", n=3) == "A 3"


def test_a_catalogue_falls_back_to_the_core() -> None:
    cat = i18n.register("test.fallback", {"x": {"th": "เอ็กซ์", "en": "ex"}}, prefix="test.fallback.")
    t = cat.translator("th")
    assert t("x") == "เอ็กซ์"
    assert t("nav.overview") == "ภาพรวม"  # a core key
    assert t("no.such.key") == "no.such.key"


def test_a_key_registered_twice_with_other_texts_is_refused() -> None:
    i18n.register("test.twice", {"k": {"th": "หนึ่ง", "en": "one"}}, prefix="test.twice.")
    # The same texts again (a module imported twice) are fine.
    i18n.register("test.twice", {"k": {"th": "หนึ่ง", "en": "one"}}, prefix="test.twice.")
    with pytest.raises(ValueError, match="already registered"):
        i18n.register("test.twice2", {"k": {"th": "สอง", "en": "two"}}, prefix="test.twice.")
    with pytest.raises(ValueError, match="no en text"):
        i18n.register("test.half", {"k": {"th": "ครึ่ง"}}, prefix="test.half.")
    with pytest.raises(ValueError, match="already registered"):
        i18n.register("test.core", {"overview": {"th": "อื่น", "en": "Other"}}, prefix="nav.")
