"""The API's Idempotency-Key record: replays, refusals, calls in flight, failures and restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from hub.http.idempotency import IDEMPOTENCY
from hub.hub import Hub


def _register(hub: Hub) -> tuple[asyncio.Event, list[dict[str, Any]], asyncio.Event]:
    release, started = asyncio.Event(), asyncio.Event()
    runs: list[dict[str, Any]] = []

    async def slow(call: Any) -> dict[str, Any]:
        runs.append(call.data)
        started.set()
        await release.wait()
        if call.data.get("fail"):
            raise RuntimeError("the device did not answer")
        return {"run": len(runs)}

    hub.services.register("test", "slow", slow)
    return release, runs, started


async def _post(client: aiohttp.ClientSession, body: dict[str, Any], key: str) -> aiohttp.ClientResponse:
    resp = await client.post("/api/services/test/slow", json=body, headers={"Idempotency-Key": key})
    await resp.read()
    return resp


async def test_in_flight_replay_and_other_request(hub: Hub, hub_client: aiohttp.ClientSession) -> None:
    release, runs, started = _register(hub)
    first = asyncio.ensure_future(_post(hub_client, {"x": 1}, "k1"))
    await started.wait()
    busy = await _post(hub_client, {"x": 1}, "k1")
    assert busy.status == 409 and busy.headers["Retry-After"] == "1"
    release.set()
    done = await first
    assert done.status == 200 and (await done.json())["service_response"] == {"run": 1}
    again = await _post(hub_client, {"x": 1}, "k1")
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["service_response"] == {"run": 1} and len(runs) == 1
    assert (await _post(hub_client, {"x": 2}, "k1")).status == 422
    assert (await _post(hub_client, {"x": 1}, "k" * 201)).status == 400


async def test_a_key_is_per_user(hub: Hub, client_for: Any) -> None:
    release, runs, _ = _register(hub)
    release.set()
    one, other = await client_for("admin"), await client_for("operator")
    assert (await _post(one, {}, "same")).status == 200
    assert "Idempotent-Replayed" not in (await _post(other, {}, "same")).headers
    assert len(runs) == 2


async def test_a_failed_call_may_be_retried_with_its_key(hub: Hub, hub_client: aiohttp.ClientSession) -> None:
    release, runs, _ = _register(hub)
    release.set()
    assert (await _post(hub_client, {"fail": True}, "k2")).status == 500
    assert (await _post(hub_client, {"fail": True}, "k2")).status == 500
    assert len(runs) == 2  # not replayed: the failure left no record


async def test_a_call_cut_off_by_a_restart_is_never_run_twice(
    hub: Hub, hub_client: aiohttp.ClientSession
) -> None:
    release, runs, started = _register(hub)
    first = asyncio.ensure_future(_post(hub_client, {"x": 3}, "k3"))
    await started.wait()
    # as if the hub had died here and come back: the running record belongs to another boot
    hub.data[IDEMPOTENCY].boot = "a-later-boot"
    cut = await _post(hub_client, {"x": 3}, "k3")
    assert cut.status == 409 and "outcome is unknown" in (await cut.json())["error"]
    assert len(runs) == 1
    release.set()
    await first
