"""The Repairs list: what needs the admin, each with a link to where it is fixed.

Not named ``repairs.py``: importing a submodule of that name would replace the
package's ``repairs`` hookimpl with the module.

Items come from the ``repairs(hub)`` hook, so any plugin adds its own (the SOS
integration reports buttons no automation handles, LINE its quota).  The core's
own checks are in `core_repairs`.  An item is
``{key, severity, title_th, title_en, detail_th, detail_en, href}`` and an optional
``technical`` (raw text for the installer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from hub.components.onboarding.strings import STRINGS
from hub.http.templating import is_local_path

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SEVERITIES", "collect", "core_repairs", "item")

_LOGGER = logging.getLogger(__name__)

#: Most urgent first.
SEVERITIES = ("error", "warning", "info")
_TEXT_KEYS = ("title_th", "title_en")
#: Where an unavailable entity of a domain is fixed (the setup flows' pages).
_FIX_PAGE = {
    "sos": "/setup/devices",
    "light": "/setup/devices",
    "siren": "/setup/devices",
    "camera": "/setup/cameras",
}


def item(
    key: str, severity: str, title: str, detail: str, href: str, *, technical: str = "", **fmt: object
) -> dict[str, str]:
    """Build a repair item in both languages from keys of `hub.components.onboarding.strings`.

    ``technical`` is raw text for the installer (a check error, an exception): the page
    shows it apart, marked ``translate="no"``, never inside a Thai sentence.
    """
    out = {"key": key, "severity": severity, "href": href, "technical": technical}
    for lang in ("th", "en"):
        out[f"title_{lang}"] = STRINGS[title][lang].format(**fmt)
        out[f"detail_{lang}"] = STRINGS[detail][lang].format(**fmt)
    return out


async def core_repairs(hub: Hub) -> list[dict[str, str]]:
    """The core's checks: config errors, failed plugins, restarts, devices, federation."""
    found: list[dict[str, str]] = []
    ui = hub.ui_config
    errors = await ui.problems() if ui is not None else [str(e) for e in hub.config_errors]
    if errors:
        found.append(
            item(
                "config_invalid",
                "error",
                "repairs.config_invalid",
                "repairs.config_invalid_detail",
                "/plugins",
                technical="\n".join(errors[:5]),
                count=len(errors),
            )
        )
    for info in hub.plugin_infos():
        if info.status == "failed":
            found.append(
                item(
                    f"plugin_failed:{info.domain}",
                    "error",
                    "repairs.plugin_failed",
                    "repairs.plugin_failed_detail",
                    "/plugins",
                    technical=info.error or "",
                    name=info.manifest.name if info.manifest is not None else info.domain,
                )
            )
    for block in sorted(ui.restart_needed if ui is not None else ()):
        found.append(
            item(
                f"restart:{block}",
                "warning",
                "repairs.restart",
                "repairs.restart_detail",
                "/plugins",
                block=block,
            )
        )
    for domain, href in _FIX_PAGE.items():
        for state in hub.states.all(domain):
            if state.state == "unavailable":
                found.append(
                    item(
                        f"unavailable:{state.entity_id}",
                        "error" if domain == "sos" else "warning",
                        "repairs.unavailable",
                        "repairs.unavailable_detail",
                        href,
                        name=state.name,
                        entity=state.entity_id,
                    )
                )
    if hub.role == "hub" and hub.loaded is not None:
        if "federation" not in hub.loaded.blocks:
            found.append(
                item(
                    "not_federated",
                    "info",
                    "repairs.not_federated",
                    "repairs.not_federated_detail",
                    "/plugins",
                )
            )
        else:
            link = hub.states.get("binary_sensor.federation_connected")
            if link is not None and link.state == "off":
                found.append(
                    item(
                        "federation_down",
                        "warning",
                        "repairs.federation_down",
                        "repairs.federation_down_detail",
                        "/plugins",
                    )
                )
    return found


def _valid(entry: object) -> TypeGuard[Mapping[str, Any]]:
    if not isinstance(entry, Mapping):
        return False
    if entry.get("severity") not in SEVERITIES or not isinstance(entry.get("key"), str):
        return False
    if not all(isinstance(entry.get(k), str) and entry.get(k) for k in _TEXT_KEYS):
        return False
    return is_local_path(str(entry.get("href") or ""))


async def collect(hub: Hub) -> list[dict[str, str]]:
    """Every plugin's repairs, most urgent first; a malformed item is the plugin's error, not the page's."""
    found: list[dict[str, str]] = []
    for info, result in await hub.plugins.hooks.repairs(hub=hub):
        for entry in result or ():
            if not _valid(entry):
                hub.plugins.record_hook_error(
                    info, "repairs", ValueError(f"malformed repair item: {entry!r}")
                )
                continue
            found.append(
                {
                    k: str(entry.get(k) or "")
                    for k in ("key", "severity", "title_th", "title_en", "detail_th", "detail_en", "href")
                }
                | {"source": info.domain}
            )
    found.sort(key=lambda r: (SEVERITIES.index(r["severity"]), r["key"]))
    return found
