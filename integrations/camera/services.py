"""The ``camera.*`` services: snapshot, ptz_preset, ptz_move.

They dispatch to :class:`CameraEntity` methods, so any camera integration
(onvif, demo, a community plugin) gets them by subclassing.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.camera.const import DOMAIN, EVENT_SNAPSHOT
from integrations.camera.entity import CameraEntity, PtzError, SnapshotError

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("register",)

_LOGGER = logging.getLogger(__name__)


class SnapshotSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]
    incident_id: str | None = None


class PresetSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]
    #: A preset's name (as shown on the camera page) or its token.
    preset: str = Field(min_length=1, max_length=64)


class MoveSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]
    mode: Literal["continuous", "relative", "absolute", "stop"] = "continuous"
    pan: float = Field(default=0.0, ge=-1, le=1)
    tilt: float = Field(default=0.0, ge=-1, le=1)
    zoom: float = Field(default=0.0, ge=-1, le=1)
    #: ``continuous``: seconds to move before the hub sends Stop.
    duration: float = Field(default=0.5, gt=0, le=10)


def register(hub: Hub) -> None:
    """Register the camera services."""

    async def snapshot(call: Any) -> dict[str, Any]:
        incident_id = call.data.get("incident_id")
        taken: list[str] = []
        errors: list[str] = []
        for camera in hub.entities.resolve(call.data["entity_id"], CameraEntity):
            try:
                snap_id = await camera.snapshot(incident_id)
            except (SnapshotError, OSError, TimeoutError) as err:
                errors.append(str(err) or type(err).__name__)
                camera.error = str(err)
                continue
            taken.append(snap_id)
            hub.bus.fire(
                EVENT_SNAPSHOT,
                {"entity_id": camera.entity_id, "snapshot_id": snap_id, "incident_id": incident_id},
                call.context,
            )
            if incident_id:
                await hub.data[INCIDENT_RUNTIME].note(
                    incident_id,
                    # The entry's kind ("snapshot") is translated on the page; the text is the camera's name.
                    camera.name,
                    by=camera.entity_id,
                    attachments=[snap_id],
                    kind="snapshot",
                    context=call.context,
                )
        if errors and incident_id:
            await hub.data[INCIDENT_RUNTIME].note(
                incident_id,
                "snapshot failed: " + "; ".join(errors),
                kind="error",
                by="camera",
                context=call.context,
            )
        return {"snapshot_ids": taken, "errors": errors}

    async def ptz_preset(call: Any) -> dict[str, Any]:
        m: PresetSchema = call.model
        moved: list[dict[str, str]] = []
        errors: list[str] = []
        for camera in hub.entities.resolve(m.entity_id, CameraEntity):
            try:
                preset = await camera.goto_preset(m.preset)
            except PtzError as err:
                errors.append(str(err))
                continue
            moved.append({"entity_id": camera.entity_id, "token": preset.token, "name": preset.name})
        if errors and not moved:
            # Nothing moved: fail the call so the UI button and the automation trace show it.
            raise PtzError("; ".join(errors))
        return {"moved": moved, "errors": errors}

    async def ptz_move(call: Any) -> dict[str, Any]:
        m: MoveSchema = call.model
        moved: list[str] = []
        errors: list[str] = []
        for camera in hub.entities.resolve(m.entity_id, CameraEntity):
            try:
                if m.mode == "stop":
                    await camera.ptz_stop()
                else:
                    await camera.ptz_move(m.pan, m.tilt, m.zoom, mode=m.mode)
            except PtzError as err:
                errors.append(str(err))
                continue
            moved.append(camera.entity_id)
            if m.mode == "continuous":
                # Return at once; the hub stops the move on its own clock (a lost Stop is a camera
                # spinning all night, so it is scheduled, not left to the caller).
                hub.clock.call_later(m.duration, functools.partial(_schedule_stop, hub, camera))
        if errors and not moved:
            raise PtzError("; ".join(errors))
        return {"moved": moved, "errors": errors}

    hub.services.register(
        DOMAIN,
        "snapshot",
        snapshot,
        SnapshotSchema,
        description="Take a snapshot, optionally into an incident's timeline",
    )
    hub.services.register(
        DOMAIN,
        "ptz_preset",
        ptz_preset,
        PresetSchema,
        description="Move PTZ cameras to a preset (by name or token)",
    )
    hub.services.register(
        DOMAIN,
        "ptz_move",
        ptz_move,
        MoveSchema,
        description="Pan/tilt/zoom: continuous (stopped after duration), relative, absolute, stop",
    )


def _schedule_stop(hub: Hub, camera: CameraEntity) -> None:
    hub.create_task(_stop(camera), f"ptz stop {camera.entity_id}")


async def _stop(camera: CameraEntity) -> None:
    try:
        await camera.ptz_stop()
    except PtzError as err:
        _LOGGER.warning("Could not stop %s: %s", camera.entity_id, err)
