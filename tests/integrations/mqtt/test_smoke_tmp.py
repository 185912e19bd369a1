import asyncio
import aiomqtt

async def test_smoke(make_hub, mosquitto):
    hub = await make_hub(f"mqtt: {{broker: {mosquitto.url}, reconnect_min: 0.1, reconnect_max: 0.5}}\n", real_clock=True)
    from integrations.mqtt import get_client
    c = get_client(hub)
    assert await c.wait_connected(5)
    got = []
    c.subscribe("a/+/c", lambda m: got.append(m))
    await asyncio.sleep(0.2)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as pub:
        await pub.publish("a/b/c", b"hi")
    for _ in range(50):
        if got: break
        await asyncio.sleep(0.02)
    assert got and got[0].payload == b"hi"
    print(hub.states.get("binary_sensor.mqtt_connected"))
