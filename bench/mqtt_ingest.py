"""MQTT ingest bench: 1,000 Zigbee2MQTT SOS buttons through a real Mosquitto into the hub.

    python bench/mqtt_ingest.py            # full run
    python bench/mqtt_ingest.py --quick    # a few seconds, for a smoke check

Phase 1 (throughput): the devices report telemetry as fast as the load
generator can publish; measured is the rate of the hub's *state updates*
(``state_changed`` for ``sos.*``), i.e. broker → client → router → Z2M parser
→ entity → state machine, with the recorder queueing every row.

Phase 2 (latency under load): the devices report at a fixed rate while
another client presses SOS buttons; measured is publish → ``sos_pressed``
listener, p50/p99 (CLOCK_MONOTONIC is shared by the processes).

The load generators are separate processes writing pre-encoded QoS 0
PUBLISH packets (a load tool only; the hub itself speaks MQTT through
aiomqtt).  Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mqtt_wire import mqtt_str  # noqa: E402
from bench.mqtt_wire import packet as mqtt_packet  # noqa: E402
from bench.runner import Result  # noqa: E402
from hub.testing import BASE_CONFIG, write_config  # noqa: E402
from integrations.mqtt.testing import Mosquitto, find_mosquitto  # noqa: E402

DEVICES = 1000
BASE = "zigbee2mqtt"
PRESS_BUTTONS = 10


# -- load generators (child processes) ------------------------------------------------------


def _connect(port: int, client_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Clean session, no login, keepalive 60 s.
    sock.sendall(mqtt_packet(0x10, mqtt_str("MQTT") + b"\x04\x02\x00\x3c" + mqtt_str(client_id)))
    if sock.recv(4)[:2] != b"\x20\x02":
        raise RuntimeError("broker refused the load generator")
    return sock


def _publish(topic: str, payload: bytes) -> bytes:
    return mqtt_packet(0x30, mqtt_str(topic) + payload)


def _telemetry_batch(round_no: int) -> bytes:
    # Every report changes linkquality, so every message is a state update.
    return b"".join(
        _publish(
            f"{BASE}/dev{i:04d}",
            json.dumps(
                {"battery": 90 + (i % 10), "linkquality": (round_no + i) % 256, "voltage": 3000}
            ).encode(),
        )
        for i in range(DEVICES)
    )


def load_process(port: int, total: int, rate: float | None, ready: Any) -> None:
    """Publish ``total`` telemetry messages, as fast as possible or at ``rate`` per second."""
    sock = _connect(port, f"bench-load-{time.monotonic_ns()}")
    batches = [_telemetry_batch(r) for r in range(256)]
    ready.set()
    sent, r = 0, 0
    start = time.monotonic()
    chunk = 100  # messages per write when pacing
    while sent < total:
        batch = batches[r % 256]
        r += 1
        if rate is None:
            sock.sendall(batch)
            sent += DEVICES
            continue
        # Paced: split the batch into chunks and sleep to hold the rate.
        offsets = [0]
        pos = 0
        while pos < len(batch):
            _length_start = pos + 1
            n, mult, i = 0, 1, _length_start
            while True:
                b = batch[i]
                n += (b & 127) * mult
                mult *= 128
                i += 1
                if not b & 128:
                    break
            pos = i + n
            offsets.append(pos)
        for k in range(0, DEVICES, chunk):
            if sent >= total:
                break
            sock.sendall(batch[offsets[k] : offsets[min(k + chunk, DEVICES)]])
            sent += min(chunk, DEVICES - k)
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    sock.sendall(b"\xe0\x00")
    time.sleep(0.2)
    sock.close()


def press_process(port: int, presses: int, interval: float, ready: Any, out: Any) -> None:
    """Press SOS buttons ``presses`` times, every ``interval`` s; report the send times."""
    sock = _connect(port, f"bench-press-{time.monotonic_ns()}")
    packets = [
        _publish(f"{BASE}/press{i % PRESS_BUTTONS}", b'{"action":"emergency","linkquality":99}')
        for i in range(presses)
    ]
    ready.set()
    sent: list[float] = []
    for packet in packets:
        sent.append(time.monotonic())
        sock.sendall(packet)
        time.sleep(interval)
    sock.sendall(b"\xe0\x00")
    sock.close()
    out.put(sent)


# -- the hub side ------------------------------------------------------------------------------


def hub_config(broker: Mosquitto) -> str:
    lines = [
        f"mqtt: {{broker: {broker.url}, client_id: bench-hub, birth: false, discovery: {{consume: false}}}}",
        "sos:",
    ]
    lines += [f"  - {{id: dev{i:04d}, zigbee2mqtt: dev{i:04d}}}" for i in range(DEVICES)]
    lines += [f"  - {{id: press{i}, zigbee2mqtt: press{i}}}" for i in range(PRESS_BUTTONS)]
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run both phases, print them, and return the figures."""
    from hub.core.state import EVENT_STATE_CHANGED
    from hub.hub import Hub
    from integrations.mqtt import get_client

    load1, load5, _ = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load1:.1f} / {load5:.1f} at start "
        "(other work on the machine lowers the wall-clock figures)"
    )
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    folder = Path(tempfile.mkdtemp(prefix="safetyhub-bench-"))
    broker = Mosquitto(folder / "broker", binary=binary)
    broker.start()
    path = write_config(folder / "config", hub_config(broker), base=BASE_CONFIG)
    hub = Hub(path, web=False)
    await hub.start()
    client = get_client(hub)
    if not await client.wait_connected(10):
        raise SystemExit("hub did not connect to the bench broker")
    await asyncio.sleep(0.5)

    updates: dict[str, float] = {"n": 0, "first": 0.0, "last": 0.0}

    def on_state(event: Any) -> None:
        if event.data["entity_id"].startswith("sos."):
            now = time.monotonic()
            if not updates["n"]:
                updates["first"] = now
            updates["n"] += 1
            updates["last"] = now

    hub.bus.listen(EVENT_STATE_CHANGED, on_state)
    ctx = mp.get_context("spawn")

    # Phase 1: throughput.
    total = args.messages
    ready = ctx.Event()
    proc = ctx.Process(target=load_process, args=(broker.port, total, None, ready))
    received_before = client.received
    cpu_before = time.process_time()
    proc.start()
    await asyncio.to_thread(ready.wait)
    idle_since = time.monotonic()
    last_seen = 0.0
    while True:
        await asyncio.sleep(0.2)
        if updates["n"] != last_seen:
            last_seen, idle_since = updates["n"], time.monotonic()
        elif time.monotonic() - idle_since > 1.5:
            break
    await asyncio.to_thread(proc.join)  # never block the hub's loop while it is being measured
    cpu = time.process_time() - cpu_before
    elapsed = max(updates["last"] - updates["first"], 1e-9)
    got = client.received - received_before
    rate = updates["n"] / elapsed
    figures: dict[str, Any] = {
        "rate": rate,
        "messages_per_s": got / elapsed,
        "received": got,
        "published": total,
        "cpu_us_per_message": cpu / max(got, 1) * 1e6,
    }
    print(
        f"phase 1: {total} messages published by {DEVICES} devices; hub received {got}, "
        f"state updates {updates['n']} in {elapsed:.2f}s → {rate:,.0f} state updates/s "
        f"({got / elapsed:,.0f} messages/s); hub CPU {cpu / max(got, 1) * 1e6:.0f} µs per message "
        f"(≈ {max(got, 1) / max(cpu, 1e-9):,.0f} msg/s per fully free core)"
    )

    # Phase 2: SOS latency under load.
    # Half the measured capacity: "under load", not overload (overloaded, every queue grows).
    load_rate = args.rate or round(rate * 0.5)
    duration = args.seconds
    presses_at: list[float] = []
    hub.bus.listen("sos_pressed", lambda e: presses_at.append(time.monotonic()))
    ready_load, ready_press = ctx.Event(), ctx.Event()
    out = ctx.Queue()
    n_press = max(10, int(duration / 0.02))
    load = ctx.Process(
        target=load_process, args=(broker.port, int(load_rate * duration), load_rate, ready_load)
    )
    press = ctx.Process(
        target=press_process, args=(broker.port, n_press, duration / n_press, ready_press, out)
    )
    updates.update(n=0, first=0.0, last=0.0)
    received_before = client.received
    load.start()
    press.start()
    await asyncio.to_thread(ready_load.wait)
    await asyncio.to_thread(ready_press.wait)
    sent: list[float] = []
    deadline = time.monotonic() + duration + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if not sent and not out.empty():
            sent = out.get()
        if sent and len(presses_at) >= len(sent):
            break
    await asyncio.to_thread(load.join)
    await asyncio.to_thread(press.join)
    idle_since, last_seen = time.monotonic(), updates["n"]
    while time.monotonic() - idle_since < 1.0:  # let the hub finish what the broker still holds
        await asyncio.sleep(0.1)
        if updates["n"] != last_seen:
            idle_since, last_seen = time.monotonic(), updates["n"]
    achieved = updates["n"] / max(updates["last"] - updates["first"], 1e-9)
    got = client.received - received_before
    lat = sorted((r - s) * 1000 for s, r in zip(sent, presses_at, strict=False))
    lost = len(sent) - len(presses_at)
    figures.update(latencies_ms=lat, lost=lost, load_rate=load_rate, achieved=achieved)
    if lat:
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"phase 2: load {load_rate:,} msg/s offered for {duration:.0f}s (hub received {got}, {achieved:,.0f} updates/s); "
            f"{len(sent)} SOS presses → sos_pressed p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lat[-1]:.2f} ms, "
            f"lost {lost}"
        )
    else:
        print("phase 2: no presses measured")
    await hub.stop()
    broker.stop()
    return figures


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench`` (quick: 50,000 messages, 3 s of SOS under load)."""
    args = argparse.Namespace(
        messages=50_000 if quick else 300_000, rate=None, seconds=3.0 if quick else 10.0
    )
    f = asyncio.run(run(args))
    return [
        Result(
            "state updates (phase 1, as fast as possible)",
            "updates/s",
            [f["rate"]],
            better="higher",
            note=f"{f['received']:,} of {f['published']:,} messages received; "
            f"{f['cpu_us_per_message']:.0f} µs hub CPU per message",
        ),
        Result(
            "SOS publish → sos_pressed under load",
            "ms",
            f["latencies_ms"],
            note=f"load {f['load_rate']:,} msg/s offered; presses lost {f['lost']}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (smoke check)")
    parser.add_argument("--messages", type=int, default=None, help="phase 1 messages (default 300,000)")
    parser.add_argument(
        "--rate", type=int, default=None, help="phase 2 load in msg/s (default 50%% of phase 1)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="phase 2 duration (default 10 s)")
    args = parser.parse_args()
    if args.messages is None:
        args.messages = 50_000 if args.quick else 300_000
    if args.seconds is None:
        args.seconds = 3.0 if args.quick else 10.0
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
