"""The devices set-up flow (``/setup/devices``): permit join, found devices, a proven device saved.

Zigbee2MQTT pairing is opened with ``<base>/bridge/request/permit_join``
``{"time": s}`` (Z2M 2.x; notes/protocols.md) and the flow waits for the
bridge's ``…/response/permit_join``, so a bridge that is not there is said
at once instead of leaving the admin pressing a button that pairs nothing.
Devices come from the retained ``bridge/devices`` list the hub already
follows (:mod:`integrations.mqtt.zigbee2mqtt`) and from Home Assistant MQTT
discovery; those not yet in a ``sos:`` or ``light:`` entry are *found*.

A device is saved only after it has proven itself: an SOS button must send a
real press that its model's press table (:mod:`integrations.sos.models`)
counts, a light must blink and the admin say it did.  Everything goes through
the hub's one MQTT connection (:func:`integrations.mqtt.get_client`), and the
save is one call of the UI config writer.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.badinput import json_object
from hub.http.routes import Route, audit_request
from hub.http.server import HUB_KEY
from hub.keys import HubKey
from integrations.flows.common import FlowError, actor, form_text, render_flow, write, writer
from integrations.mqtt import MqttClient, MqttMessage, MqttNotConnected, find_client
from integrations.mqtt.discovery import DiscoveredBinarySensor
from integrations.mqtt.zigbee2mqtt import Z2mBridge, Z2mDevice, get_bridge
from integrations.sos.models import NOT_PRESSES, Rule, match_press, rules_for

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "routes",
    "Pairing",
    "permit_join",
    "found_devices",
    "wait_press",
    "flash_light",
    "PERMIT_ANSWER_WAIT",
    "PRESS_WAIT",
)

#: Seconds Zigbee2MQTT gets to answer a permit-join request before the admin is told to check it.
PERMIT_ANSWER_WAIT = 5.0
#: Seconds a test press waits for the admin to press the real button.
PRESS_WAIT = 45.0
#: A proof (test press, seen flash) is good for saving within this many seconds.
PROOF_TTL = 15 * 60
#: Z2M 2.x accepts 0–254 s per request.
MAX_PERMIT_SECONDS = 254
_ID_RE = re.compile(r"^[a-z0-9_]{1,64}$")
_PAIRING: HubKey[Pairing] = HubKey("setup_devices_pairing")


@dataclass
class Pairing:
    """What the flow remembers between pages (in memory: a restart just asks for a new test)."""

    #: Hub-clock time pairing stays open until (None: closed or never opened).
    permit_until: float | None = None
    #: Device key → (proven kind, hub-clock time, what proved it).
    proofs: dict[str, tuple[str, float, str]] = field(default_factory=dict)


def _pairing(hub: Hub) -> Pairing:
    state = hub.data.get(_PAIRING)
    if state is None:
        state = hub.data[_PAIRING] = Pairing()
    return state


def _client(hub: Hub) -> MqttClient:
    client = find_client(hub)
    if client is None:
        raise FlowError("dev.no_mqtt")
    if not client.connected:
        raise FlowError("dev.broker_down", broker=str(client.address))
    return client


def _base(client: MqttClient) -> str:
    return client.config.zigbee2mqtt.base_topic


def _bridge(hub: Hub) -> Z2mBridge:
    client = _client(hub)
    return get_bridge(hub, client, _base(client))


# -- permit join ---------------------------------------------------------------------------------


async def permit_join(hub: Hub, seconds: int) -> int:
    """Ask Zigbee2MQTT to accept new devices for ``seconds`` (0 closes); return the time it granted."""
    client = _client(hub)
    base = _base(client)
    seconds = max(0, min(int(seconds), MAX_PERMIT_SECONDS))
    transaction = secrets.token_hex(6)
    answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_response(message: MqttMessage) -> None:
        data = json_object(message.payload, 64 * 1024)
        # Z2M echoes the transaction; an answer without one (older bridges) is taken as ours.
        if data is None or data.get("transaction", transaction) != transaction or answer.done():
            return
        answer.set_result(data)

    unsub = client.subscribe(f"{base}/bridge/response/permit_join", on_response, qos=1)
    try:
        await client.wait_connected(PERMIT_ANSWER_WAIT)
        try:
            await client.publish(
                f"{base}/bridge/request/permit_join",
                json.dumps({"time": seconds, "transaction": transaction}),
                qos=1,
            )
        except MqttNotConnected as err:
            raise FlowError("dev.broker_down", broker=str(client.address)) from err
        try:
            data = await asyncio.wait_for(answer, PERMIT_ANSWER_WAIT)
        except TimeoutError as err:
            raise FlowError("dev.no_z2m", seconds=int(PERMIT_ANSWER_WAIT), base=base) from err
    finally:
        unsub()
    if data.get("status") != "ok":
        raise FlowError("dev.z2m_refused")
    granted = data.get("data")
    granted_time = granted.get("time") if isinstance(granted, Mapping) else None
    granted_seconds = granted_time if isinstance(granted_time, int) else seconds
    _pairing(hub).permit_until = hub.clock.time() + granted_seconds if granted_seconds > 0 else None
    return granted_seconds


# -- found devices -----------------------------------------------------------------------------------


def _configured_names(hub: Hub) -> set[str]:
    """Zigbee2MQTT names and MQTT topics already used by a ``sos:`` or ``light:`` entry."""
    names: set[str] = set()
    blocks = hub.loaded.blocks if hub.loaded is not None else {}
    for block in ("sos", "light"):
        for item in blocks.get(block) or []:
            if getattr(item, "zigbee2mqtt", None):
                names.add(item.zigbee2mqtt)
            mqtt = getattr(item, "mqtt", None)
            if mqtt is not None:
                names.add(f"topic:{mqtt.topic}")
    return names


def _suggest(device: Z2mDevice) -> str:
    from integrations.sos.models import PRESS_TABLE

    if device.model in PRESS_TABLE or "action" in device.features or "sos" in device.features:
        return "sos"
    if "state" in device.features and ("brightness" in device.features or "effect" in device.features):
        return "light"
    return "sensor"


def press_table(hub: Hub, model: str | None) -> tuple[list[str], bool]:
    """Return the model's press rules as readable lines, and whether the model is known."""
    client = find_client(hub)
    extra = client.config.zigbee2mqtt.sos_models if client is not None else {}
    rules, known = rules_for(model, extra)
    lines = []
    for rule in rules:
        parts = []
        for key, expected in rule.items():
            values = expected if isinstance(expected, list) else [expected]
            parts.append(f"{key} = {' / '.join(json.dumps(v, ensure_ascii=False) for v in values)}")
        lines.append(", ".join(parts))
    return lines, known


def found_devices(hub: Hub) -> list[dict[str, Any]]:
    """Return devices not yet set up: Zigbee2MQTT's list, then Home Assistant discovery's."""
    client = find_client(hub)
    if client is None:
        return []
    taken = _configured_names(hub)
    bridge = get_bridge(hub, client, _base(client))
    found: list[dict[str, Any]] = []
    for name, device in sorted(bridge.devices.items()):
        # The coordinator (and unsupported devices) have no definition: nothing to set up.
        if name in taken or device.model is None:
            continue
        found.append(
            {
                "key": f"z2m:{name}",
                "name": name,
                "source": "z2m",
                "model": device.model,
                "vendor": device.vendor or "",
                "suggest": _suggest(device),
                "ieee": device.ieee_address or "",
            }
        )
    for entity in hub.entities:
        if not isinstance(entity, DiscoveredBinarySensor) or f"topic:{entity.state_topic}" in taken:
            continue
        found.append(
            {
                "key": f"discovery:{entity.entity_id}",
                "name": entity.name,
                "source": "discovery",
                "model": _discovered_model(entity.config),
                "vendor": "",
                "suggest": "sos",
                "entity_id": entity.entity_id,
            }
        )
    return found


def _discovered_model(config: Mapping[str, Any]) -> str:
    device = config.get("device")
    model = device.get("model") if isinstance(device, Mapping) else None
    return model if isinstance(model, str) else ""


def sensor_entities(hub: Hub, device: Mapping[str, Any]) -> list[str]:
    """Return the entities Home Assistant discovery already made for a found device (its sensors).

    Zigbee2MQTT announces a device's sensors with the identifier ``zigbee2mqtt_<ieee>``;
    a discovered entity is its own device.
    """
    from integrations.mqtt.discovery import DiscoveredBinarySensor, DiscoveredSensor

    if device["source"] == "discovery":
        return [device["entity_id"]]
    wanted = f"zigbee2mqtt_{device.get('ieee', '')}"
    found = []
    for entity in hub.entities:
        if isinstance(entity, DiscoveredBinarySensor | DiscoveredSensor):
            info = entity.config.get("device")
            ids = info.get("identifiers") if isinstance(info, Mapping) else None
            if ids == wanted or (isinstance(ids, list) and wanted in ids):
                found.append(entity.entity_id)
    return sorted(found)


def _find(hub: Hub, key: str) -> dict[str, Any]:
    for device in found_devices(hub):
        if device["key"] == key:
            return device
    raise FlowError("dev.unknown_device", name=key.partition(":")[2])


# -- proving a device ------------------------------------------------------------------------------


async def wait_press(hub: Hub, key: str, within: float = PRESS_WAIT) -> str:
    """Wait for a real press of the found device ``key``; return its action (FlowError if none came)."""
    device = _find(hub, key)
    client = _client(hub)
    got: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    other: list[str] = []

    if device["source"] == "z2m":
        rules: Sequence[Rule]
        rules, _known = rules_for(device["model"], client.config.zigbee2mqtt.sos_models)

        def on_message(message: MqttMessage) -> None:
            data = json_object(message.payload, client.max_payload)
            if data is None or got.done():
                return
            action = match_press(rules, data)
            if action is not None:
                got.set_result(action)
            elif isinstance(data.get("action"), str) and data["action"] and data["action"] not in NOT_PRESSES:
                other.append(data["action"])

        unsub = client.subscribe(f"{_base(client)}/{device['name']}", on_message, qos=1)
    else:
        entity_id = device["entity_id"]

        def on_state(event: Any) -> None:
            new = event.data.get("new_state")
            if new is not None and new.state == "on" and not got.done():
                got.set_result("on")

        unsub = hub.bus.listen("state_changed", on_state, lambda e: e.data.get("entity_id") == entity_id)
    try:
        action = await asyncio.wait_for(got, within)
    except TimeoutError as err:
        if other:
            raise FlowError("dev.press_other", action=other[-1][:40]) from err
        raise FlowError("dev.press_timeout", seconds=int(within)) from err
    finally:
        unsub()
    _pairing(hub).proofs[key] = ("sos", hub.clock.time(), action)
    return action


async def flash_light(hub: Hub, key: str) -> None:
    """Blink the found light ``key`` a few times (its own ``effect: blink``, else on/off)."""
    device = _find(hub, key)
    if device["source"] != "z2m":
        raise FlowError("dev.unknown_device", name=device["name"])
    client = _client(hub)
    topic = f"{_base(client)}/{device['name']}/set"
    bridge = get_bridge(hub, client, _base(client))
    known = bridge.device(device["name"])
    try:
        if known is not None and "effect" in known.features:
            await client.publish(topic, json.dumps({"effect": "blink"}), qos=1)
        else:
            for state in ("ON", "OFF", "ON", "OFF"):
                await client.publish(topic, json.dumps({"state": state}), qos=1)
                await hub.clock.sleep(0.5)
    except MqttNotConnected as err:
        raise FlowError("dev.broker_down", broker=str(client.address)) from err
    _pairing(hub).proofs[key] = ("flash_sent", hub.clock.time(), "blink")


def _proven(hub: Hub, key: str, kind: str) -> bool:
    proof = _pairing(hub).proofs.get(key)
    return proof is not None and proof[0] == kind and hub.clock.time() - proof[1] <= PROOF_TTL


async def save_device(
    hub: Hub, key: str, kind: str, item_id: str, name: str, place: str, *, by: str = "web"
) -> str:
    """Write the proven device as a ``sos:`` or ``light:`` entry; return the new entity id."""
    device = _find(hub, key)
    if not _ID_RE.match(item_id):
        raise FlowError("flow.bad_id")
    if kind == "sos":
        if not _proven(hub, key, "sos"):
            raise FlowError("dev.need_proof")
        item: dict[str, Any] = {"id": item_id, "name": name or device["name"]}
        if place:
            item["place"] = place
        if device["source"] == "z2m":
            item["zigbee2mqtt"] = device["name"]
        else:
            entity = hub.entities.get(device["entity_id"], DiscoveredBinarySensor)
            source: dict[str, Any] = {"topic": entity.state_topic}
            payload_on = entity.config.get("payload_on", "ON")
            source["payload"] = str(payload_on)
            template = entity.config.get("value_template")
            if isinstance(template, str) and template:
                source["value_template"] = template
            item["mqtt"] = source
        block = "sos"
    elif kind == "light":
        if device["source"] != "z2m" or not _proven(hub, key, "flash_sent"):
            raise FlowError("dev.need_proof")
        item = {"id": item_id, "name": name or device["name"], "zigbee2mqtt": device["name"]}
        block = "light"
    else:
        raise FlowError("dev.need_proof")
    ui = writer(hub)
    items, etag = await ui.list_items(block)
    if any(isinstance(i, Mapping) and i.get("id") == item_id for i in items):
        raise FlowError("flow.id_taken", id=item_id)
    await write(ui.add_item(block, item, etag=etag, actor=by))
    _pairing(hub).proofs.pop(key, None)
    return f"{block}.{item_id}"


# -- pages ------------------------------------------------------------------------------------------


def _configured(hub: Hub) -> list[dict[str, Any]]:
    rows = []
    for domain in ("sos", "light"):
        for state in sorted(hub.states.all(domain), key=lambda s: s.entity_id):
            rows.append({"entity_id": state.entity_id, "name": state.name, "domain": domain})
    return rows


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return slug[:64] or "device"


async def _page(
    request: web.Request,
    *,
    selected: str | None = None,
    error: FlowError | None = None,
    notice: str | None = None,
    proof: str | None = None,
    status: int = 200,
) -> web.Response:
    hub = request.app[HUB_KEY]
    client = find_client(hub)
    problem: FlowError | None = None
    if client is None:
        problem = FlowError("dev.no_mqtt")
    elif not client.connected:
        problem = FlowError("dev.broker_down", broker=str(client.address))
    pairing = _pairing(hub)
    now = hub.clock.time()
    if pairing.permit_until is not None and pairing.permit_until <= now:
        pairing.permit_until = None
    found = found_devices(hub)
    chosen = next((d for d in found if d["key"] == selected), None)
    table: list[str] = []
    known_model = True
    if chosen is not None and chosen["source"] == "z2m":
        table, known_model = press_table(hub, chosen["model"])
    return render_flow(
        request,
        "setup_devices.html",
        status=status,
        problem=problem,
        no_mqtt=client is None,
        error=error,
        notice=notice,
        proof=proof,
        permit_until=pairing.permit_until,
        found=found,
        chosen=chosen,
        press_lines=table,
        known_model=known_model,
        sensors=sensor_entities(hub, chosen) if chosen is not None else [],
        proven_sos=chosen is not None and _proven(hub, chosen["key"], "sos"),
        proven_flash=chosen is not None and _proven(hub, chosen["key"], "flash_sent"),
        suggested_id=_slug(chosen["name"]) if chosen is not None else "",
        configured=_configured(hub),
        press_wait=int(PRESS_WAIT),
        # While pairing is open and nothing is being set up, the list refreshes itself.
        auto_refresh=pairing.permit_until is not None and chosen is None,
    )


async def page(request: web.Request) -> web.StreamResponse:
    """Show the devices flow."""
    saved = request.query.get("saved")
    state = request.app[HUB_KEY].states.get(saved) if saved else None
    return await _page(
        request,
        selected=request.query.get("device") or None,
        notice=state.name if state is not None else None,
    )


async def post_permit(request: web.Request) -> web.StreamResponse:
    """Open (or close) Zigbee2MQTT pairing."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    try:
        minutes = int(form_text(form, "minutes") or "4")
    except ValueError:
        minutes = 4
    seconds = max(0, min(minutes, 4)) * 60
    try:
        granted = await permit_join(hub, seconds)
    except FlowError as err:
        return await _page(request, error=err, status=422)
    await audit_request(request, "setup.permit_join", "zigbee2mqtt", {"seconds": granted})
    raise web.HTTPSeeOther("/setup/devices")


async def connect_broker(hub: Hub, broker: str, username: str, password: str, *, by: str = "web") -> None:
    """Check the broker answers with these credentials, then write the ``mqtt:`` block (applied live)."""
    from pydantic import ValidationError

    from integrations.mqtt.client import probe_broker
    from integrations.mqtt.config import MqttConfig

    try:
        config = MqttConfig(broker=broker, username=username or None, password=password or None)
    except ValidationError:
        # Not chained: pydantic's error repeats its input, the broker password.
        raise FlowError("dev.broker_bad_url") from None
    try:
        await probe_broker(hub, config, PERMIT_ANSWER_WAIT)
    except MqttNotConnected as err:
        raise FlowError("dev.broker_refused" if err.refused else "dev.broker_unreachable") from err
    ui = writer(hub)
    current, etag = await ui.get_block("mqtt")
    block: dict[str, Any] = dict(current) if isinstance(current, Mapping) else {}
    block["broker"] = broker
    block.pop("password", None)
    if username:
        block["username"] = username
    else:
        block.pop("username", None)
    await write(
        ui.set_block("mqtt", block, etag=etag, secrets={"password": password} if password else None, actor=by)
    )


async def post_broker(request: web.Request) -> web.StreamResponse:
    """Connect the hub to the MQTT broker Zigbee2MQTT uses."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    broker = form_text(form, "broker", 200) or "mqtt://127.0.0.1:1883"
    try:
        await connect_broker(
            hub, broker, form_text(form, "username", 100), form_text(form, "password", 200), by=actor(request)
        )
    except FlowError as err:
        return await _page(request, error=err, status=422)
    client = find_client(hub)
    if client is not None:
        await client.wait_connected(PERMIT_ANSWER_WAIT)
    raise web.HTTPSeeOther("/setup/devices")


async def post_test_press(request: web.Request) -> web.StreamResponse:
    """Wait for the real press of the chosen device."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    key = form_text(form, "device", 300)
    try:
        action = await wait_press(hub, key)
    except FlowError as err:
        return await _page(request, selected=key, error=err, status=422)
    return await _page(request, selected=key, proof=action)


async def post_test_flash(request: web.Request) -> web.StreamResponse:
    """Blink the chosen light."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    key = form_text(form, "device", 300)
    try:
        await flash_light(hub, key)
    except FlowError as err:
        return await _page(request, selected=key, error=err, status=422)
    return await _page(request, selected=key, proof="blink")


async def post_save(request: web.Request) -> web.StreamResponse:
    """Save the proven device."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    key = form_text(form, "device", 300)
    kind = form_text(form, "kind", 10)
    item_id = form_text(form, "id", 64)
    name = form_text(form, "name", 120)
    try:
        entity_id = await save_device(
            hub, key, kind, item_id, name, form_text(form, "place", 200), by=actor(request)
        )
    except FlowError as err:
        return await _page(request, selected=key, error=err, status=422)
    await audit_request(request, "setup.device_added", entity_id, {"device": key, "kind": kind})
    raise web.HTTPSeeOther(f"/setup/devices?saved={entity_id}")


def routes() -> list[Route]:
    """Return the devices flow's page and form routes (admins only)."""
    tags = ("pages",)
    return [
        Route(
            "GET", "/setup/devices", page, role="admin", api=False, tags=tags, summary="Add Zigbee devices"
        ),
        Route(
            "POST",
            "/setup/devices/broker",
            post_broker,
            role="admin",
            api=False,
            tags=tags,
            summary="Test and save the MQTT broker Zigbee2MQTT uses",
        ),
        Route(
            "POST",
            "/setup/devices/permit",
            post_permit,
            role="admin",
            api=False,
            tags=tags,
            summary="Open Zigbee2MQTT pairing for N minutes",
        ),
        Route(
            "POST",
            "/setup/devices/test-press",
            post_test_press,
            role="admin",
            api=False,
            tags=tags,
            summary="Wait for a real press of a found button",
        ),
        Route(
            "POST",
            "/setup/devices/test-flash",
            post_test_flash,
            role="admin",
            api=False,
            tags=tags,
            summary="Blink a found light",
        ),
        Route(
            "POST",
            "/setup/devices/save",
            post_save,
            role="admin",
            api=False,
            tags=tags,
            summary="Save a proven device as an SOS button or a light",
        ),
    ]
