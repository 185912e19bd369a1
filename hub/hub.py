"""The Hub: owns the loop's kernel objects and the start/stop lifecycle.

Start-up order (DESIGN §3): load config → load plugins → validate every
plugin's block → open storage → set up plugins (dependencies first) →
automations → web.  Stop runs the same steps backwards and never loses
queued writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import secrets
import sqlite3
import sys
import time
from collections.abc import Coroutine, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from hub import __version__
from hub.bootstrap import LoadedConfig, load
from hub.config import ConfigError, ConfigInvalid, RedactSecretsFilter
from hub.config.core_schema import HubCoreConfig
from hub.core.bus import Event, EventBus
from hub.core.clock import Clock, FakeClock, RealClock
from hub.core.context import Context
from hub.core.errors import PluginNotReady, PluginSetupError, StartupError
from hub.core.retry import Backoff
from hub.core.services import ServiceRegistry
from hub.core.state import EVENT_STATE_CHANGED, StateMachine
from hub.entity import Entity, EntityNotFound
from hub.keys import HubData
from hub.plugins import PluginHost, PluginInfo
from hub.plugins.host import await_maybe
from hub.signing import KV_KEY as SIGNING_KV
from hub.signing import Signer

if TYPE_CHECKING:
    from hub.storage import Storage

__all__ = ("Hub", "CoreState", "EVENT_HUB_START", "EVENT_HUB_STOP")

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

EVENT_HUB_START = "hub_start"
#: Backoff of a setup that raised PluginNotReady: first retry, and the longest wait.
_RETRY_FIRST = 5.0
_RETRY_MAX = 300.0
EVENT_HUB_STOP = "hub_stop"


class CoreState(StrEnum):
    """Where the hub is in its lifecycle."""

    not_running = "not_running"
    starting = "starting"
    running = "running"
    stopping = "stopping"
    stopped = "stopped"


class Hub:
    """One SafetyHub instance (a community hub or a station)."""

    def __init__(
        self,
        config_path: Path | None,
        *,
        config_dir: Path | None = None,
        data_dir: Path | None = None,
        clock: Clock | None = None,
        web: bool = True,
        overrides: dict[str, Any] | None = None,
        host: PluginHost | None = None,
        web_host: str | None = None,
        web_port: int | None = None,
        exclusive: bool = False,
    ) -> None:
        self.config_path = config_path
        #: Hold ``<data_dir>/safetyhub.lock`` while running (``safetyhub run`` does; tests that
        #: start hubs in one process need not).
        self.exclusive = exclusive
        self.config_dir = (config_dir or (config_path.parent if config_path else Path.cwd())).resolve()
        self._data_dir_override = data_dir
        self.clock: Clock = clock or RealClock()
        self.web_enabled = web
        #: Command-line overrides of ``hub.web.host``/``port``.
        self.web_host = web_host
        self.web_port = web_port
        self._overrides = overrides
        self.plugins = host or PluginHost(self.config_dir)
        self.state = CoreState.not_running
        self.data = HubData()
        from hub.entity import EntityRegistry

        #: Entity objects (devices behind entity ids), for domain services.
        self.entities = EntityRegistry()
        self.started_at = 0.0
        self.version = __version__
        self.loaded: LoadedConfig | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: What start() started, undone in reverse by stop() or by a failed start().
        self._stack = contextlib.AsyncExitStack()
        self._setup_order: list[PluginInfo] = []
        self._unsubs: list[Any] = []
        self.onboarding_code: str | None = None
        #: Event types whose emitters write them with ``recorder.record_now``.
        self.recorded_directly: set[str] = set()
        #: Event types the hub promises not to lose (an SOS press): committed with
        #: ``recorder.record_now`` before the caller is answered, and an automation run
        #: they start is re-run from the top if the hub dies before it finishes.
        self.durable_events: set[str] = set()
        self.signer: Signer
        # Created in start(): they need the running loop.
        self.loop: asyncio.AbstractEventLoop
        self.bus: EventBus
        self.states: StateMachine
        self.services: ServiceRegistry
        from hub.audit import AuditLog
        from hub.auth import Auth
        from hub.recorder import Recorder

        self.storage: Storage
        #: What every process of this hub must see alike (users, sessions, API tokens, the
        #: audit log, the console's hub link history): ``storage`` itself, or the PostgreSQL
        #: database station workers share (:mod:`hub.storage_pg`).
        self.shared_storage: Storage
        #: Hears the other processes on that database take access back (None on SQLite).
        self.access_relay: Any = None
        self.recorder: Recorder
        self.audit: AuditLog
        self.auth: Auth
        self.http: Any = None
        self.templates: Any = None
        self._runlock: Any = None
        #: Each component's database schema version, as migrated at start.
        self.schema_versions: dict[str, int] = {}
        #: Built-ins imported only so the web UI can set them up live (`hub.reload`): until
        #: then their pages answer 404 and their links are hidden.
        self.preloaded: set[str] = set()
        from hub.config.ui_writer import UIConfig

        #: The web UI's config writer (``ui/*.yaml`` beside the config); None for the embedded demo.
        self.ui_config: UIConfig | None = (
            UIConfig(
                config_path,
                audit=lambda: getattr(self, "audit", None),
                overrides=overrides,
                apply=self._apply_config,
            )
            # Not the embedded demo: its config lives inside the package, never to be written.
            if config_path is not None
            and (config_dir is None or config_dir.resolve() == config_path.parent.resolve())
            else None
        )

    # -- properties ----------------------------------------------------------

    @property
    def core(self) -> HubCoreConfig:
        """Return the validated ``hub:`` block."""
        assert self.loaded is not None and self.loaded.core is not None
        return self.loaded.core

    @property
    def id(self) -> str:
        """Return the hub id."""
        return self.core.id

    @property
    def name(self) -> str:
        """Return the hub's display name."""
        return self.core.name or self.core.id

    @property
    def data_dir(self) -> Path:
        """Return the folder for the database and snapshots."""
        if self._data_dir_override is not None:
            return self._data_dir_override
        path = Path(self.core.data_dir)
        return path if path.is_absolute() else (self.config_dir / path)

    @property
    def role(self) -> str:
        """Return ``region`` for a regional command centre, ``station`` for a CCOC, else ``hub``."""
        from hub.bootstrap import role_of

        return role_of(self.loaded.blocks) if self.loaded is not None else "hub"

    @property
    def config_errors(self) -> list[ConfigError]:
        """Return the errors found while loading the config."""
        return self.loaded.errors if self.loaded is not None else []

    # -- tasks -----------------------------------------------------------------

    def create_task(self, coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """Start a task that the hub tracks and cancels on stop."""
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _LOGGER.error("Task %s failed", task.get_name(), exc_info=exc)

    async def block_till_done(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bound, not a cancel
        """Wait until queued events and the tasks they started are done or asleep.

        A task sleeping on the hub clock (a delay, a flash, a retry backoff)
        counts as settled: with a FakeClock it can only wake when the test
        advances time, so waiting for it would hang.
        """
        current = asyncio.current_task()
        sleepers = self.clock.sleepers
        deadline = time.monotonic() + timeout
        while True:
            await self.bus.drained()
            await asyncio.sleep(0)
            pending = [
                t
                for t in self._tasks
                if t is not current
                and not t.done()
                and t not in sleepers
                and not getattr(t, "_hub_background", False)
            ]
            if not pending and not self.bus.pending:
                return
            if time.monotonic() > deadline:
                _LOGGER.warning("block_till_done: %d task(s) still busy after %.0fs", len(pending), timeout)
                return
            if pending:
                # Short waits: a task may not finish but go to sleep on the clock.
                await asyncio.wait(pending, timeout=0.01, return_when=asyncio.FIRST_COMPLETED)

    def create_background_task(
        self, coro: Coroutine[Any, Any, T], name: str | None = None
    ) -> asyncio.Task[T]:
        """Start a long-lived task (a connection loop) that block_till_done ignores."""
        task = self.create_task(coro, name)
        task._hub_background = True  # type: ignore[attr-defined]
        return task

    # -- lifecycle -----------------------------------------------------------

    def _load(self) -> LoadedConfig:
        loaded = load(
            self.config_path, config_dir=self.config_dir, host=self.plugins, overrides=self._overrides
        )
        if self.ui_config is not None and self.web_enabled and "station" not in loaded.blocks:
            from hub.reload import UI_BLOCKS

            # Their pages and webhooks must exist when the web UI configures them live.
            before = {d for d, p in self.plugins.plugins.items() if p.status == "discovered"}
            self.plugins.ensure_loaded(UI_BLOCKS)
            self.preloaded = {d for d in before if self.plugins.plugins[d].status != "discovered"}
        self.loaded = loaded
        return loaded

    async def _apply_config(self, block: str, loaded: LoadedConfig) -> str | None:
        """Apply a block the web UI saved; return why a restart is needed, or None."""
        from hub.reload import apply_block

        if self.state != CoreState.running:
            return "the hub is not running"
        try:
            applied = await apply_block(self, block, loaded)
        except Exception as err:  # noqa: BLE001 - the change is saved; a restart applies it
            _LOGGER.exception("Applying the %s block failed; it applies at the next restart", block)
            return f"applying it failed ({err})"
        if applied.live:
            _LOGGER.info("Config: %s applied without a restart", block)
            return None
        _LOGGER.warning("Config: %s saved; restart needed: %s", block, applied.reason)
        return applied.reason

    async def start(self) -> None:
        """Load, set up and start everything; raise ConfigInvalid if ``hub:`` is unusable.

        Each stage registers how to undo it as it starts (an ``AsyncExitStack``, like
        aiohttp's cleanup contexts): if a later stage fails (the web port is taken, the
        database cannot be opened), what had started is stopped again in reverse order,
        queued writes are flushed, and :class:`StartupError` (or the error) is raised.
        :meth:`stop` unwinds the same stack.
        """
        self.state = CoreState.starting
        self.loop = asyncio.get_running_loop()
        self.bus = EventBus(self.loop, time_fn=self.clock.time, run_task=self._listener_task)
        self.states = StateMachine(self.bus, self.clock.time)
        self.services = ServiceRegistry(self.bus)
        if isinstance(self.clock, FakeClock):
            self.clock.settle = self.block_till_done
        self._stack = contextlib.AsyncExitStack()
        try:
            await self._start(self._stack)
        except BaseException:
            self.state = CoreState.stopping
            try:
                await self._stack.aclose()
            finally:
                self.state = CoreState.stopped
            raise

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        loaded = await self.loop.run_in_executor(None, self._load)
        for err in loaded.errors:
            _LOGGER.error("Config: %s", err)
        for warning in loaded.warnings:
            _LOGGER.warning("Config: %s", warning)  # a deprecated key, an SOS button nothing handles
        if loaded.core is None:
            raise ConfigInvalid(loaded.errors)
        _install_redaction()
        self.clock.tz = ZoneInfo(self.core.timezone)
        self.started_at = self.clock.time()

        from hub.audit import AuditLog
        from hub.auth import Auth
        from hub.recorder import Recorder
        from hub.storage import Storage

        self.storage = Storage(self.data_dir / "safetyhub.db")
        for info, migrations in self.plugins.hooks.storage_migrations():
            if migrations:
                self.storage.add_migrations(info.domain, list(migrations))
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self.exclusive:
                from hub.runlock import RunLock

                # Two hubs on one database would each think they own its outbox and timers, and
                # ``safetyhub restore`` must see that a hub is running here.  Released last.
                self._runlock = RunLock.acquire(self.data_dir)
                stack.callback(self._release_runlock)
            await self.storage.open()
        except (OSError, sqlite3.Error) as err:
            raise StartupError(f"cannot open the database {self.storage.path}: {err}") from err
        # Last out: every write queued by what follows is flushed before the database closes.
        stack.push_async_callback(self.storage.close)
        # Read once: /api/health shows it and must never wait for the database.
        self.schema_versions = {
            str(r[0]): int(r[1])
            for r in await self.storage.fetchall(
                "SELECT component, MAX(version) FROM schema_migrations GROUP BY component"
            )
        }
        for domain, migration_err in self.storage.migration_errors.items():
            failed = self.plugins.get(domain)
            if failed is not None:
                failed.fail("setup", f"database migration failed: {migration_err}")
        rec = self.core.recorder
        self.recorder = Recorder(
            self.storage,
            keep_days=rec.keep_days,
            exclude_event_types=rec.exclude_event_types,
            time_fn=self.clock.time,
        )
        self.shared_storage = await self._open_shared_storage(loaded, stack)
        self.audit = AuditLog(self.shared_storage, time_fn=self.clock.time)
        self.auth = Auth(self.shared_storage, time_fn=self.clock.time)
        await self._relay_access_changes(stack)
        self.signer = await self._signer()
        self._unsubs.append(self.bus.listen("*", self._record))
        stack.push_async_callback(self._stop_tasks)
        from hub.metrics import install as install_metrics

        # After _stop_tasks is on the stack: a start that fails later stops its sampling tasks.
        install_metrics(self)

        stack.push_async_callback(self._shutdown_plugins)
        await self._setup_plugins(loaded)

        if self.web_enabled:
            from hub.http.server import HttpServer

            self.http = HttpServer(self)
            await self.http.start()
            stack.push_async_callback(self.http.stop)
        if not await self.auth.has_users():
            self.onboarding_code = f"{secrets.randbelow(10**8):08d}"
        self.state = CoreState.running
        self.bus.fire(EVENT_HUB_START, {"version": self.version})
        await self.plugins.hooks.hub_started(hub=self)
        self.create_background_task(self._purge_loop(), "recorder-purge")
        _release_startup_memory()
        if self.exclusive:
            # A server process (``safetyhub run``): what start-up built (modules, schemas, the
            # config, the plugins) lives as long as the process, so it is taken out of the cycle
            # collector's walks; a full collection then walks only what came after.  On a busy
            # station those walks were 100-375 ms stalls of the event loop, SOS included.  The
            # price: a frozen object that later becomes cyclic garbage (what a config reload
            # replaces) stays until the next restart; reloads are rare and an admin's doing.
            gc.freeze()
        _LOGGER.info("Hub %s started (%s role) in %.2fs", self.id, self.role, time.monotonic() - _T0)

    async def _open_shared_storage(self, loaded: LoadedConfig, stack: contextlib.AsyncExitStack) -> Storage:
        """Return ``storage``, or the shared PostgreSQL a plugin names (station workers)."""
        from hub.storage_pg import SharedStorage, adopt_local, shared_database_url

        try:
            url = shared_database_url(loaded)
        except ValueError as err:
            raise StartupError(str(err)) from err
        if url is None:
            return self.storage
        shared = SharedStorage(url)
        try:
            await shared.open()
        except RuntimeError as err:  # StorageUnavailable, a failed migration
            raise StartupError(
                f"cannot open the shared database {shared.where} (users, sessions, audit log): {err}"
            ) from err
        # Closed after the plugins' shutdown and the web server: both may still audit.
        stack.push_async_callback(shared.close)
        try:
            # What this worker kept in its own file before (an upgrade): accounts, audit history.
            await adopt_local(self.storage, shared)
        except RuntimeError as err:
            raise StartupError(f"cannot copy this worker's accounts to {shared.where}: {err}") from err
        _LOGGER.info("Users, sessions and the audit log are shared on %s", shared.where)
        return shared

    async def _relay_access_changes(self, stack: contextlib.AsyncExitStack) -> None:
        """On a shared database, hear the other processes revoke access (their streams end here too)."""
        from hub.auth import ACCESS_CHANNEL
        from hub.storage_pg import AccessRelay, SharedStorage

        if not isinstance(self.shared_storage, SharedStorage):
            return
        relay = AccessRelay(self.shared_storage, ACCESS_CHANNEL, self.auth.heard_access_change)
        await relay.start()
        stack.push_async_callback(relay.stop)
        self.access_relay = relay

    async def _signer(self) -> Signer:
        # Station workers share theirs (a link one made is checked by whichever the proxy picks).
        shared = self.shared_storage
        select = "SELECT value FROM kv WHERE key = ?"
        row = await shared.fetchone(select, (SIGNING_KV,))
        if row is None:
            # An upgraded worker brings the key its links were signed with; workers starting
            # together agree on the first one written.
            own = await self.storage.fetchone(select, (SIGNING_KV,)) if shared is not self.storage else None
            value = str(own["value"]) if own is not None else Signer.new_key().hex()
            await shared.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (SIGNING_KV, value)
            )
            row = await shared.fetchone(select, (SIGNING_KV,))
            assert row is not None
        return Signer(bytes.fromhex(row["value"]), self.clock.time)

    def _listener_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self.create_task(coro)

    def _record(self, event: Event) -> None:
        if event.event_type == EVENT_STATE_CHANGED:
            new = event.data.get("new_state")
            if new is not None:
                self.recorder.record_state(
                    new.entity_id,
                    new.state,
                    new.attributes,
                    new.last_changed,
                    new.last_updated,
                    new.context.id if new.context is not None else None,
                )
            return
        if event.event_type in self.recorded_directly:
            return
        ctx = event._context
        self.recorder.record_event(
            event.event_type,
            event.data,
            event.time_fired,
            ctx.id if ctx is not None else None,
            ctx.parent_id if ctx is not None else None,
            ctx.user_id if ctx is not None else None,
            event.origin,
        )

    async def _purge_loop(self) -> None:
        while True:
            try:
                await self.recorder.purge()
            except Exception:
                _LOGGER.exception("Recorder purge failed")
            await self.clock.sleep(6 * 3600)

    def _wanted(self, loaded: LoadedConfig) -> list[PluginInfo]:
        """Return plugins to set up, dependencies first."""
        host = self.plugins
        wanted: dict[str, PluginInfo] = {}
        role = self.role

        def want(domain: str, chain: tuple[str, ...]) -> None:
            info = host.get(domain)
            if info is None or domain in wanted:
                return
            if domain in chain:
                info.fail("setup", "dependency loop: " + " → ".join((*chain, domain)))
                return
            if info.manifest is not None:
                for dep in info.manifest.after_dependencies:
                    if dep in loaded.blocks:
                        want(dep, (*chain, domain))
                for dep in info.manifest.dependencies:
                    dep_info = host.get(dep)
                    if dep_info is None:
                        info.fail("setup", f"missing dependency {dep!r}")
                        return
                    want(dep, (*chain, domain))
            wanted[domain] = info

        for info in list(host.plugins.values()):
            if info.manifest is None:
                continue
            configured = info.domain in loaded.blocks
            if configured or (info.manifest.always and role in info.manifest.roles):
                want(info.domain, ())
        for info in host.plugins.values():
            if info.status == "loaded" and info.domain not in wanted:
                info.status = "not_configured"
        return list(wanted.values())

    async def _setup_plugins(self, loaded: LoadedConfig) -> None:
        for info in self._wanted(loaded):
            if info.status == "failed":
                continue
            failed_deps = [
                d
                for d in (info.manifest.dependencies if info.manifest else [])
                if (dep := self.plugins.get(d)) is None or dep.status != "set_up"
            ]
            if failed_deps:
                info.fail("setup", f"dependency failed: {', '.join(failed_deps)}")
                _LOGGER.error("Plugin %s not set up: %s", info.domain, info.error)
                continue
            info.status = "setting_up"
            if await self._setup_one(info, loaded):
                continue
            if info.status == "not_ready":
                self.create_background_task(self._retry_setup(info, loaded), f"retry setup of {info.domain}")

    async def _setup_one(self, info: PluginInfo, loaded: LoadedConfig) -> bool:
        """Call the plugin's setup once; return whether it is set up (not_ready: retry later)."""
        before = set(self.states.entity_ids())
        try:
            _, result = self.plugins.hooks.setup(info.domain, hub=self, config=loaded.blocks.get(info.domain))
            await await_maybe(result)
        except PluginNotReady as err:
            info.status, info.stage, info.error = "not_ready", "setup", str(err)
            _LOGGER.warning("Plugin %s is not ready (%s); retrying", info.domain, err)
            self._unavailable_since(before)
            return False
        except PluginSetupError as err:
            info.fail("setup", str(err))
            _LOGGER.error("Plugin %s failed to set up: %s", info.domain, err)
            self._unavailable_since(before)
            return False
        except Exception as err:  # noqa: BLE001 - a plugin's bug must not stop the hub
            self.plugins.record_hook_error(info, "setup", err)
            self._unavailable_since(before)
            return False
        info.status, info.stage, info.error = "set_up", None, None
        self._setup_order.append(info)
        return True

    async def _retry_setup(self, info: PluginInfo, loaded: LoadedConfig) -> None:
        """Retry a PluginNotReady setup on the hub clock, backing off up to 5 minutes.

        A device that is still booting (an NVR after a power cut) comes up on its own;
        the admin should not have to restart the hub.  Once set up late, the plugin gets
        its ``hub_started`` too.
        """
        backoff = Backoff(_RETRY_FIRST, _RETRY_MAX)
        while info.status == "not_ready":
            await backoff.sleep(self.clock)
            if await self._setup_one(info, loaded):
                _LOGGER.info("Plugin %s is set up (after retrying)", info.domain)
                if self.state == CoreState.running:
                    await self.plugins.hooks.hub_started(hub=self, only=[info.domain])
                return

    def _unavailable_since(self, before: set[str]) -> None:
        """Mark what a failed setup created as ``unavailable``.

        A plugin that fails half-way leaves entities nobody serves: an SOS button
        shown ``idle`` on the dashboard while no press can reach it is worse than
        one shown as not working.
        """
        for entity_id in self.states.entity_ids():
            if entity_id in before:
                continue
            with contextlib.suppress(EntityNotFound):
                entity: Entity = self.entities.get(entity_id)
                entity.available = False
            state = self.states.get(entity_id)
            if state is not None and state.state != "unavailable":
                self.states.set(entity_id, "unavailable", state.attributes)

    async def stop(self) -> None:
        """Stop everything in reverse order, flushing queued writes."""
        if self.state in (CoreState.stopping, CoreState.stopped, CoreState.not_running):
            self.state = CoreState.stopped
            return
        self.state = CoreState.stopping
        self.bus.fire(EVENT_HUB_STOP, {})
        await self.bus.drained()
        try:
            # Web server (SSE streams first) → plugins' shutdown → tasks → storage.
            await self._stack.aclose()
        finally:
            self.state = CoreState.stopped

    async def _shutdown_plugins(self) -> None:
        """Call ``shutdown`` on every plugin set up so far, in reverse order, each bounded to 10 s."""
        for info in reversed(self._setup_order):
            try:
                _, result = self.plugins.hooks.shutdown(info.domain, hub=self)
                await asyncio.wait_for(await_maybe(result), timeout=10)
            except Exception as err:  # noqa: BLE001 - keep stopping the others
                self.plugins.record_hook_error(info, "shutdown", err)

    def _release_runlock(self) -> None:
        if self._runlock is not None:
            self._runlock.release()
            self._runlock = None

    async def _stop_tasks(self) -> None:
        """Unsubscribe the hub's listeners, cancel its tasks, and let the bus run dry."""
        for unsub in self._unsubs:
            unsub()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        from hub.metrics import METRICS

        metrics = self.data.pop(METRICS, None)
        if metrics is not None:
            metrics.stop()
        await self.bus.drained()

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- conveniences ----------------------------------------------------------

    def fire(
        self, event_type: str, data: dict[str, Any] | None = None, context: Context | None = None
    ) -> None:
        """Fire an event on the bus."""
        self.bus.fire(event_type, data, context)

    def idle(self, info: PluginInfo) -> bool:
        """Is ``info`` a plugin imported for the web UI but not set up (its pages hidden)?"""
        return info.domain in self.preloaded and info.status == "not_configured"

    def plugin_infos(self) -> Iterable[PluginInfo]:
        """Return every known plugin."""
        return self.plugins.plugins.values()


_T0 = time.monotonic()


def _release_startup_memory() -> None:
    """Give back what start-up used once (YAML trees, schema building) to the OS.

    A hub runs for months on a small box next to the NVR; without this, glibc
    keeps the freed start-up heap as resident memory for the process's life.
    """
    gc.collect()
    if sys.platform.startswith("linux"):
        # Not glibc (musl, say): nothing to trim.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _install_redaction() -> None:
    """Make sure no handler prints a secret from the config."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
            handler.addFilter(RedactSecretsFilter())
