"""The plugin host: discovery, import, status, and isolated hook calls.

Pluggy's own multicall stops at the first exception, which would let one
broken plugin take down every plugin after it.  The hub instead calls each
plugin's hookimpl separately (:meth:`PluginHost.call_each`) and records a
failure against that plugin only.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from hub import hookspecs
from hub.plugins.hooks import Hooks
from hub.plugins.manifest import Manifest, ManifestError, read_manifest

__all__ = ("PluginHost", "PluginInfo", "BUILTIN_PACKAGES", "await_maybe")

_LOGGER = logging.getLogger(__name__)

#: Packages whose sub-folders are built-in plugins.
BUILTIN_PACKAGES = ("integrations", "plugins")
#: Comma-separated domains to load (all when unset); like DATASETTE_LOAD_PLUGINS.
ENV_LOAD = "SAFETYHUB_LOAD_PLUGINS"
#: Load pip-installed plugins of the ``safetyhub`` entry-point group (default on).
ENV_ENTRYPOINTS = "SAFETYHUB_ENTRYPOINTS"


async def await_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable, else return it."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class PluginInfo:
    """One plugin and how it is doing."""

    domain: str
    source: str  # core | builtin | entrypoint | dropin
    path: str
    manifest: Manifest | None = None
    module: ModuleType | None = None
    #: loaded → (not_configured | setting_up → set_up) or failed; not_ready: setup raised
    #: PluginNotReady and is retried with backoff (→ set_up or failed)
    status: str = "discovered"
    error: str | None = None
    stage: str | None = None  # import | validate | setup | hook
    #: Module to import for a discovered (not yet imported) built-in.
    module_name: str | None = None
    hook_errors: list[str] = field(default_factory=list)

    def fail(self, stage: str, message: str) -> None:
        """Mark the plugin failed at ``stage`` with a message for the admin."""
        self.status = "failed"
        self.stage = stage
        self.error = message

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form for the API and UI."""
        m = self.manifest
        return {
            "domain": self.domain,
            "name": m.name if m else self.domain,
            "version": m.version if m else "",
            "source": self.source,
            "status": self.status,
            "stage": self.stage,
            "error": self.error,
            "hook_errors": self.hook_errors[-5:],
            "dependencies": list(m.dependencies) if m else [],
            "codeowners": list(m.codeowners) if m else [],
            "documentation": m.documentation if m else "",
        }


def _short_error(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(err).__name__}: {err}{where}"


class PluginHost:
    """Finds plugins, imports them in isolation and calls their hooks."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.config_dir = config_dir
        self.plugins: dict[str, PluginInfo] = {}
        #: Typed calls of every hook (call sites use these, not hook names as strings).
        self.hooks = Hooks(self)

    # -- discovery ---------------------------------------------------------

    def _allowed(self, domain: str) -> bool:
        only = os.environ.get(ENV_LOAD)
        if not only:
            return True
        return domain in {d.strip() for d in only.split(",")}

    def add_core(self, module: ModuleType, manifest: Manifest) -> PluginInfo:
        """Register a core module (part of ``hub``) as a plugin."""
        info = PluginInfo(manifest.domain, "core", module.__name__, manifest, module, "loaded")
        self.pm.register(module, name=manifest.domain)
        self.plugins[manifest.domain] = info
        return info

    def discover(self, import_builtins: bool = True) -> None:
        """Find every built-in, pip-installed and drop-in plugin.

        Pip-installed and drop-in plugins are imported at once, so a broken
        one shows up wherever plugins are listed.  Built-ins are imported
        now only with ``import_builtins``; otherwise just their manifests are
        read and :meth:`ensure_loaded` imports the ones a config needs, which
        keeps a small hub's start-up and memory small.
        """
        for package in BUILTIN_PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                continue
            for root in spec.submodule_search_locations:
                for folder in sorted(Path(root).iterdir()):
                    if (folder / "manifest.json").is_file():
                        self._load_folder(
                            folder, "builtin", f"{package}.{folder.name}", defer=not import_builtins
                        )
        if os.environ.get(ENV_ENTRYPOINTS, "1") != "0":
            for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT):
                self._load_entrypoint(ep)
        if self.config_dir is not None:
            dropins = self.config_dir / "plugins"
            if dropins.is_dir():
                for folder in sorted(dropins.iterdir()):
                    if folder.is_dir() and not folder.name.startswith((".", "_")):
                        self._load_folder(folder, "dropin", None)

    def ensure_loaded(self, domains: Iterable[str]) -> None:
        """Import discovered built-ins among ``domains`` (and their dependencies)."""
        pending = list(domains)
        seen: set[str] = set()
        while pending:
            domain = pending.pop()
            info = self.plugins.get(domain)
            if info is None or domain in seen:
                continue
            seen.add(domain)
            if info.manifest is not None:
                pending.extend(info.manifest.dependencies)
            if info.status == "discovered":
                self._import(info, Path(info.path), info.module_name)

    def load_all(self) -> None:
        """Import every discovered built-in (``check --schema``, ``plugins list``)."""
        self.ensure_loaded([d for d, p in self.plugins.items() if p.status == "discovered"])

    def _load_folder(self, folder: Path, source: str, module_name: str | None, defer: bool = False) -> None:
        domain = folder.name
        if domain in self.plugins:
            if Path(self.plugins[domain].path).resolve() == folder.resolve():
                return  # a config kept in the source tree: its plugins/ are the built-ins
            # Drop-ins may shadow nothing: a silent override of a built-in
            # SOS path would be a nasty surprise on the worst night.
            if source == "dropin":
                info = PluginInfo(domain + "@dropin", source, str(folder))
                info.fail(
                    "import", f"a plugin named {domain!r} already exists ({self.plugins[domain].source})"
                )
                self.plugins[info.domain] = info
            return
        if not self._allowed(domain):
            return
        info = PluginInfo(domain, source, str(folder), status="discovered")
        self.plugins[domain] = info
        try:
            info.manifest = read_manifest(folder)
        except ManifestError as err:
            info.fail("import", str(err))
            _LOGGER.error("Plugin %s: %s", domain, err)
            return
        info.module_name = module_name
        if defer:
            return
        self._import(info, folder, module_name)

    def _import(self, info: PluginInfo, folder: Path, module_name: str | None) -> None:
        domain = info.domain
        try:
            if module_name is None:
                module_name = f"safetyhub_dropin_{domain}"
                spec = importlib.util.spec_from_file_location(
                    module_name, folder / "__init__.py", submodule_search_locations=[str(folder)]
                )
                if spec is None or spec.loader is None:
                    raise ImportError(f"no __init__.py in {folder}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(module_name)
        except Exception as err:  # noqa: BLE001 - any import-time error fails only this plugin
            sys.modules.pop(module_name or "", None)
            info.fail("import", _short_error(err))
            _LOGGER.error("Plugin %s failed to import: %s", domain, info.error, exc_info=err)
            return
        self._register(info, module)

    def _load_entrypoint(self, ep: importlib.metadata.EntryPoint) -> None:
        domain = ep.name
        if domain in self.plugins or not self._allowed(domain):
            return
        info = PluginInfo(domain, "entrypoint", ep.value)
        self.plugins[domain] = info
        try:
            module = ep.load()
        except Exception as err:  # noqa: BLE001 - any import-time error fails only this plugin
            info.fail("import", _short_error(err))
            _LOGGER.error("Plugin %s failed to import: %s", domain, info.error)
            return
        folder = Path(getattr(module, "__file__", "") or ".").parent
        try:
            info.manifest = read_manifest(folder)
        except ManifestError as err:
            info.fail("import", str(err))
            return
        self._register(info, module)

    def _register(self, info: PluginInfo, module: ModuleType) -> None:
        info.module = module
        try:
            self.pm.register(module, name=info.domain)
            # Catches hookimpls that match no spec: a typo'd hook name would
            # otherwise never run, silently.
            for impl_name in dir(module):
                attr = getattr(module, impl_name)
                if callable(attr) and hasattr(attr, f"{hookspecs.PROJECT}_impl"):
                    hook = getattr(self.pm.hook, impl_name, None)
                    if hook is None or not hook.has_spec():
                        raise pluggy.PluginValidationError(
                            module, f"unknown hook {impl_name!r} (typo? see hub/hookspecs.py)"
                        )
        except (pluggy.PluginValidationError, ValueError) as err:
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            info.fail("import", str(err))
            _LOGGER.error("Plugin %s rejected: %s", info.domain, err)
            return
        info.status = "loaded"

    # -- queries -----------------------------------------------------------

    def loaded(self) -> Iterator[PluginInfo]:
        """Yield plugins that imported and registered."""
        return (p for p in self.plugins.values() if p.module is not None and p.status != "failed")

    def get(self, domain: str) -> PluginInfo | None:
        """Return the plugin with this domain."""
        return self.plugins.get(domain)

    # -- calling hooks -------------------------------------------------------

    def call_each(
        self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any
    ) -> list[tuple[PluginInfo, Any]]:
        """Call ``hook_name`` on each plugin separately, isolating failures.

        Returns ``(plugin, result)`` pairs for plugins that returned without
        raising; a plugin that raises has the error recorded on it.
        """
        wanted = set(only) if only is not None else None
        results: list[tuple[PluginInfo, Any]] = []
        hook = getattr(self.pm.hook, hook_name)
        # pluggy calls impls last-registered first; keep its order.
        for impl in reversed(hook.get_hookimpls()):
            info = self.plugins.get(impl.plugin_name)
            if info is None or info.status == "failed":
                continue
            if wanted is not None and info.domain not in wanted:
                continue
            try:
                result = impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as err:  # noqa: BLE001 - isolation is the point
                self.record_hook_error(info, hook_name, err)
                continue
            results.append((info, result))
        return results

    async def async_call_each(
        self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any
    ) -> list[tuple[PluginInfo, Any]]:
        """Like :meth:`call_each`, awaiting awaitable results (still isolated)."""
        out = []
        for info, result in self.call_each(hook_name, only, **kwargs):
            try:
                out.append((info, await await_maybe(result)))
            except Exception as err:  # noqa: BLE001 - isolation is the point
                self.record_hook_error(info, hook_name, err)
        return out

    def call_one(self, domain: str, hook_name: str, **kwargs: Any) -> tuple[bool, Any]:
        """Call one plugin's hookimpl; return (implemented, result). Raises on error."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            if impl.plugin_name == domain:
                return True, impl.function(*(kwargs[name] for name in impl.argnames))
        return False, None

    def record_hook_error(self, info: PluginInfo, hook_name: str, err: BaseException) -> None:
        """Record that a hook raised; setup failures mark the plugin failed."""
        message = f"{hook_name}: {_short_error(err)}"
        _LOGGER.error("Plugin %s: error in hook %s", info.domain, hook_name, exc_info=err)
        if hook_name == "setup":
            info.fail("setup", _short_error(err))
        else:
            info.hook_errors.append(message)
