"""What a hub puts on the wire to the station, for tests that talk MQTT to it directly."""

from __future__ import annotations

from hub.core.ids import ulid
from integrations.federation.protocol import envelope
from integrations.federation.testing import STATION_ID

#: When the messages say they were sent (2026-01-01 00:00 UTC).
TS = 1_767_225_600.0


def telemetry(n: int, hub_id: str = "test-hub") -> tuple[str, bytes]:
    """Return (message id, envelope) of the ``n``-th camera motion event."""
    msg_id = ulid()
    body = {"type": "camera_motion", "data": {"entity_id": "camera.gate", "n": n}, "time": TS}
    return msg_id, envelope(msg_id, STATION_ID, hub_id, "event", TS, body)


def sos_opened(n: int = 0, hub_id: str = "test-hub") -> tuple[str, str, bytes]:
    """Return (message id, incident id, envelope) of the ``n``-th SOS opened, ``n`` seconds after TS."""
    msg_id, incident_id = ulid(), ulid()
    at = TS + n
    incident = {
        "id": incident_id,
        "kind": "sos",
        "severity": "critical",
        "status": "open",
        "title": f"SOS {n}",
        "opened_at": at,
        "updated_at": at,
    }
    body = {"action": "opened", "incident": incident, "entry": {"ts": at, "kind": "opened"}}
    return msg_id, incident_id, envelope(msg_id, STATION_ID, hub_id, "incident", at, body)


def topic(kind: str, hub_id: str = "test-hub") -> str:
    """Return the topic ``hub_id`` publishes ``kind`` on (``ack`` is the station's answer)."""
    return f"ssz/v1/{STATION_ID}/{hub_id}/{kind}"
