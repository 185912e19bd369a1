"""Frigate NVR over MQTT: person/car detections per camera, for automations and incidents.

Consumes ``<prefix>/events`` and ``<prefix>/reviews``; see
:mod:`integrations.frigate.tracker`.  ``frigate.link_snapshot`` adds a link
to an event's snapshot on the Frigate host to an incident's timeline (the
JPEG itself stays on Frigate: notes §1.7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from hub.core.errors import PluginSetupError, ServiceValidationError
from integrations.frigate.config import FrigateConfig
from integrations.frigate.const import DOMAIN, RUNTIME
from integrations.frigate.tracker import FrigateTracker, link_snapshot, snapshot_url

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("FrigateTracker",)


class LinkSchema(BaseModel):
    """``frigate.link_snapshot`` data."""

    model_config = ConfigDict(extra="forbid")
    incident_id: str
    event_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,80}$")
    camera: str | None = None
    label: str | None = None


@hookimpl
def config_schema() -> Any:
    """Return the ``frigate:`` block type."""
    return FrigateConfig


@hookimpl
def setup(hub: Hub, config: FrigateConfig | None) -> None:
    """Subscribe Frigate's topics."""
    from integrations.mqtt import MqttNotConfigured, get_client

    cfg = config or FrigateConfig()
    try:
        client = get_client(hub)
    except MqttNotConfigured as err:
        raise PluginSetupError(str(err)) from err
    tracker = FrigateTracker(hub, client, cfg)
    hub.data[RUNTIME] = tracker

    async def link(call: Any) -> None:
        data: LinkSchema = call.model
        url = snapshot_url(cfg.url, data.event_id)
        if url is None:
            raise ServiceValidationError("frigate.link_snapshot: set frigate.url to Frigate's web address")
        await link_snapshot(hub, data.incident_id, data.event_id, url, data.camera, data.label, call.context)

    hub.services.register(
        DOMAIN,
        "link_snapshot",
        link,
        LinkSchema,
        description="Add a Frigate event's snapshot link to an incident's timeline",
    )


@hookimpl
def shutdown(hub: Hub) -> None:
    """Unsubscribe."""
    tracker = hub.data.pop(RUNTIME, None)
    if tracker is not None:
        tracker.stop()


@hookimpl
def health_info(hub: Hub) -> Any:
    """Return how many detections were announced and how many objects are tracked."""
    tracker = hub.data.get(RUNTIME)
    if tracker is None:
        return None
    return {"detections": tracker.detections, "tracked": len(tracker.active)}
