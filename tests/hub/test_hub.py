"""The hub's lifecycle: a start that fails part way stops again what it had started."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from hub.core.clock import FakeClock
from hub.core.errors import StartupError
from hub.hub import CoreState, Hub
from hub.testing import BASE_CONFIG, write_config
from tests.hub.plugins.test_isolation import make_dropin

RECORDER = """
    from pathlib import Path
    from hub import hookimpl

    @hookimpl
    def setup(hub, config):
        hub.states.set("sensor.rollback", "set up")
        async def forever():
            await hub.clock.sleep(3600)
        hub.create_task(forever(), "rollback forever")

    @hookimpl
    def shutdown(hub):
        (Path(hub.config_dir) / "shutdown-called").write_text("yes")
"""


async def test_a_busy_port_unwinds_everything_that_started(config_dir: Path, clock: FakeClock) -> None:
    make_dropin(config_dir, "rollback", RECORDER)
    threads_before = set(threading.enumerate())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        base = BASE_CONFIG.replace("port: 0", f"port: {port}")
        hub = Hub(write_config(config_dir, "rollback:\n", base=base), clock=clock)
        with pytest.raises(StartupError, match=f"port {port} is already in use") as caught:
            await hub.start()
    assert isinstance(caught.value.__cause__, OSError)  # the library's error is kept as the cause
    assert hub.state == CoreState.stopped
    assert (config_dir / "shutdown-called").read_text() == "yes"  # the plugin set up is shut down
    assert not hub.storage.is_open
    assert not [t for t in hub._tasks if not t.done()]

    # The database thread is gone (it kept the old process alive), and queued rows are on disk.
    def left() -> list[threading.Thread]:
        return [
            t for t in threading.enumerate() if t not in threads_before and not t.name.startswith("asyncio_")
        ]

    for _ in range(100):  # the thread ends just after its connection closes
        if not left():
            break
        await asyncio.sleep(0.02)
    assert left() == []
    reopened = Hub(write_config(config_dir, "", base=BASE_CONFIG), clock=clock, web=False)
    await reopened.start()
    try:
        row = await reopened.storage.fetchone(
            "SELECT state FROM states WHERE entity_id = 'sensor.rollback' ORDER BY id DESC LIMIT 1"
        )
        assert row is not None and row["state"] == "set up"
    finally:
        await reopened.stop()


async def test_an_unopenable_database_is_one_clear_error(config_dir: Path, clock: FakeClock) -> None:
    (config_dir / "data").write_text("a file where the data folder should be")
    hub = Hub(write_config(config_dir, ""), clock=clock, web=False)
    with pytest.raises(StartupError, match="cannot open the database"):
        await hub.start()
    assert hub.state == CoreState.stopped
    await hub.stop()  # harmless after a failed start


FLAKY = """
    from hub import hookimpl
    from hub.core.errors import PluginNotReady

    attempts = []

    @hookimpl
    def setup(hub, config):
        attempts.append(hub.clock.time())
        if len(attempts) < 3:
            raise PluginNotReady("the NVR is still booting")
        hub.states.set("sensor.nvr", "up")

    @hookimpl
    def hub_started(hub):
        hub.states.set("sensor.nvr_started", "yes")
"""


async def test_plugin_not_ready_is_retried_with_backoff_on_the_hub_clock(
    make_hub, config_dir: Path, clock: FakeClock
) -> None:
    make_dropin(config_dir, "nvr", FLAKY)
    hub = await make_hub("nvr:\n", web=False)
    info, module = hub.plugins.get("nvr"), hub.plugins.get("nvr").module
    assert info.status == "not_ready" and "booting" in info.error
    start = module.attempts[0]
    await clock.advance(4.9)
    assert len(module.attempts) == 1
    await clock.advance(0.1)  # 5 s: the first retry, still not ready
    await hub.block_till_done()
    assert len(module.attempts) == 2 and info.status == "not_ready"
    await clock.advance(9.9)
    assert len(module.attempts) == 2  # backing off: 10 s now
    await clock.advance(0.1)
    await hub.block_till_done()
    assert [round(t - start, 1) for t in module.attempts] == [0.0, 5.0, 15.0]
    assert info.status == "set_up" and info.error is None
    assert hub.states.get("sensor.nvr").state == "up"
    assert hub.states.get("sensor.nvr_started").state == "yes"  # its hub_started, late


async def test_a_server_process_freezes_its_start_up_heap(config_dir: Path, clock: FakeClock) -> None:
    """``safetyhub run`` (exclusive) takes what start-up built out of the cycle collector's walks."""
    import gc

    gc.unfreeze()
    shop = Hub(write_config(config_dir, ""), clock=clock, web=False)
    await shop.start()
    try:
        assert gc.get_freeze_count() == 0  # a hub in a test (not exclusive) leaves the collector be
    finally:
        await shop.stop()
    server = Hub(write_config(config_dir / "run", ""), clock=clock, web=False, exclusive=True)
    await server.start()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
        await server.stop()
