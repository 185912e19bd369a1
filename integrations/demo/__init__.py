"""The embedded demo: a market with a simulated SOS button, camera, lamp and motion sensor.

``safetyhub run`` with no config starts this, so a newcomer can press SOS in
the browser and watch the incident, snapshot and lamp react.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from integrations.camera import add_camera
from integrations.camera.const import EVENT_CAMERA_MOTION
from integrations.demo.camera import DemoCamera
from integrations.demo.config import DemoConfig
from integrations.demo.const import CAMERA_ID, DOMAIN, LIGHT_ID, MOTION_ID, SOS_ID
from integrations.light import SimulatedLight, add_light
from integrations.sos import SosButton, add_button

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DemoConfig",)


class MotionSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool = True


@hookimpl
def config_schema() -> Any:
    """Return the ``demo:`` block type."""
    return DemoConfig


@hookimpl
def setup(hub: Hub, config: DemoConfig | None) -> None:
    """Create the simulated devices."""
    cfg = config or DemoConfig()
    loc = (hub.core.location.lat, hub.core.location.lon) if hub.core.location else None
    add_button(
        hub, SosButton(hub, SOS_ID, "ปุ่ม SOS ตลาดสาธิต", source="simulated", place=cfg.place, location=loc)
    )
    add_light(hub, SimulatedLight(hub, LIGHT_ID, "โคมไฟหน้าตลาด")).report(False)
    add_camera(hub, DemoCamera(hub, CAMERA_ID, "กล้องประตูตลาด"))
    motion_id = f"binary_sensor.{MOTION_ID}"
    hub.states.set(motion_id, "off", {"friendly_name": "เซนเซอร์ตรวจจับความเคลื่อนไหว", "device_class": "motion"})

    def set_motion(call: Any) -> None:
        on = call.data["on"]
        hub.states.set(
            motion_id,
            "on" if on else "off",
            {"friendly_name": "เซนเซอร์ตรวจจับความเคลื่อนไหว", "device_class": "motion"},
            context=call.context,
        )
        if on:
            hub.bus.fire(
                EVENT_CAMERA_MOTION,
                {"entity_id": f"camera.{CAMERA_ID}", "sensor": motion_id, "kind": "motion"},
                call.context,
            )

    hub.services.register(
        DOMAIN, "motion", set_motion, MotionSchema, description="Simulate motion on the demo sensor"
    )

    if cfg.motion_every:

        async def blips() -> None:
            while True:
                await hub.clock.sleep(cfg.motion_every)
                await hub.services.call(DOMAIN, "motion", {"on": True})
                await hub.clock.sleep(5)
                await hub.services.call(DOMAIN, "motion", {"on": False})

        hub.create_background_task(blips(), "demo motion")


@hookimpl
def config_entities(loaded: Any) -> Any:
    """The demo's simulated devices."""
    return [f"sos.{SOS_ID}", f"light.{LIGHT_ID}", f"camera.{CAMERA_ID}"]
