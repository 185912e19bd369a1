"""The wire format between a hub and its station (DESIGN §8).

Topics are ``ssz/v1/<station>/<hub>/<kind>``.  Every JSON message a hub sends
is an *envelope*::

    {"v": 1, "id": "<ULID>", "station": "...", "hub": "...", "kind": "incident",
     "ts": 1767225600.25, "body": {...}}

``id`` is the outbox row's id: the station stores by it (so re-sends are
harmless) and acknowledges it on ``.../ack``.  ``ts`` is the hub's clock when
the message was made; the station keeps it *and* its own receive time, so a
hub with a wrong clock is visible rather than silently reordered.

Snapshots are raw JPEG bytes; their envelope fields travel as MQTT v5 user
properties, so the picture is never base64-inflated.

The station validates with the pydantic models below.  Unknown *extra* fields
are ignored (a newer hub may add some); missing or mistyped ones reject the
message.  ``validate_json`` parses in pydantic's Rust core, which matters at
tens of thousands of messages a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from integrations.federation.const import ID_PATTERN, PROTOCOL_VERSION, TOPIC_ROOT

__all__ = (
    "ID_RE",
    "NAME_RE",
    "AckDoc",
    "CommandDoc",
    "Envelope",
    "EventEnvelope",
    "HealthEnvelope",
    "IncidentEnvelope",
    "RegistryEnvelope",
    "SnapshotMeta",
    "TopicParts",
    "dumps",
    "entry_id",
    "envelope",
    "parse_envelope",
    "parse_topic",
    "stable_id",
    "topic",
)

#: A ULID as the hub's ``hub.core.ids`` makes it (Crockford base32, 26 chars).
ID_RE = re.compile(ID_PATTERN)
#: Hub and station ids (the same rule as ``hub.id``).
NAME_RE = re.compile(r"^[a-z0-9-]{1,64}$")
_ID = Annotated[str, Field(pattern=ID_RE.pattern)]
_NAME = Annotated[str, Field(pattern=NAME_RE.pattern)]
_SHORT = Annotated[str, Field(max_length=200)]
_TEXT = Annotated[str, Field(max_length=10_000)]


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def stable_id(ts: float, seq: int, *parts: object) -> str:
    """Return a ULID-shaped message id fixed by what it describes.

    48 bits of time (``ts``, so ids sort by time), 40 bits of ``seq`` (a row id:
    things made in the same millisecond keep their order) and 40 bits of a hash
    of ``parts`` (the hub id among them: ids stay unique across a station's
    hubs).  An incident's timeline entry always gets the same id, whether it is
    queued as it happens or found again at start-up after a crash, so the
    station, which stores by id, keeps it once.
    """
    ms = max(0, int(ts * 1000)) & ((1 << 48) - 1)
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    value = (ms << 80) | ((seq & ((1 << 40) - 1)) << 40) | int.from_bytes(digest[:5], "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def entry_id(hub_id: str, incident_id: str, row_id: int, ts: float) -> str:
    """Return the message id of the incident timeline entry stored as row ``row_id``."""
    return stable_id(ts, row_id, hub_id, "incident", incident_id, row_id)


def dumps(value: Any) -> bytes:
    """Encode compact UTF-8 JSON (Thai stays Thai; odd values become strings)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def topic(station: str, hub: str, kind: str, root: str = TOPIC_ROOT) -> str:
    """Return ``ssz/v1/<station>/<hub>/<kind>`` (``root`` is one tier up: ``ssz/v1/region/<region>``)."""
    return f"{root}/{station}/{hub}/{kind}"


class TopicParts:
    """The station, hub and kind named by a topic."""

    __slots__ = ("station", "hub", "kind")

    def __init__(self, station: str, hub: str, kind: str) -> None:
        self.station = station
        self.hub = hub
        self.kind = kind


def parse_topic(name: str, root: str = TOPIC_ROOT) -> TopicParts | None:
    """Return the parts of a federation topic under ``root``, or None if it is not one.

    The same three levels serve every tier: under ``ssz/v1`` they are station, hub and
    kind; under ``ssz/v1/region`` (the region tier) region, station and kind.
    """
    prefix = root + "/"
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return TopicParts(parts[0], parts[1], parts[2])


def envelope(msg_id: str, station: str, hub: str, kind: str, ts: float, body: dict[str, Any]) -> bytes:
    """Encode one hub → station message."""
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "id": msg_id,
            "station": station,
            "hub": hub,
            "kind": kind,
            "ts": ts,
            "body": body,
        }
    )


# -- validation models (station side) ----------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Timestamp = Annotated[float, Field(ge=0, le=1e11)]


class LocationDoc(_Doc):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class IncidentDoc(_Doc):
    """An incident as the hub has it now (without its timeline)."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: _SHORT
    severity: _SHORT
    status: Literal["open", "acknowledged", "dispatched", "closed"]
    title: _TEXT = ""
    place: _TEXT = ""
    location: LocationDoc | None = None
    entities: list[_SHORT] = []
    data: dict[str, Any] = {}
    opened_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None = None
    acknowledged_at: Timestamp | None = None
    acknowledged_by: _SHORT | None = None
    #: A drill (DESIGN §13): shown as one and kept out of the real figures.
    drill: bool = False


class TimelineDoc(_Doc):
    """The timeline entry that this message adds."""

    ts: Timestamp
    actor: _SHORT = ""
    kind: _SHORT
    text: _TEXT = ""
    attachments: list[_SHORT] = []
    data: dict[str, Any] = {}


class IncidentBody(_Doc):
    action: Literal["opened", "updated", "closed"]
    incident: IncidentDoc
    entry: TimelineDoc


class EventBody(_Doc):
    type: Annotated[str, Field(pattern=r"^[a-z0-9_.]{1,64}$")]
    data: dict[str, Any] = {}
    time: Timestamp


class RegistryBody(_Doc):
    hub: dict[str, Any]
    cameras: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    plugins: dict[str, Any] = {}


class HealthBody(_Doc):
    status: Literal["online", "offline"]
    uptime: float | None = None
    version: _SHORT | None = None
    reason: _SHORT | None = None
    #: Seconds between this hub's health reports: its supervision interval (releases from 0.2.0).
    heartbeat_interval: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)


class _EnvelopeBase(_Doc):
    v: Literal[1]
    id: _ID
    station: _NAME
    hub: _NAME
    ts: Timestamp

    _check_ts = field_validator("ts")(_finite)


class IncidentEnvelope(_EnvelopeBase):
    kind: Literal["incident"]
    body: IncidentBody


class EventEnvelope(_EnvelopeBase):
    kind: Literal["event"]
    body: EventBody


class RegistryEnvelope(_EnvelopeBase):
    kind: Literal["registry"]
    body: RegistryBody


class HealthEnvelope(_EnvelopeBase):
    kind: Literal["health"]
    body: HealthBody


Envelope = IncidentEnvelope | EventEnvelope | RegistryEnvelope | HealthEnvelope
_ENVELOPE: TypeAdapter[Envelope] = TypeAdapter(Annotated[Envelope, Field(discriminator="kind")])


def parse_envelope(payload: bytes) -> Envelope:
    """Validate a JSON message; raise pydantic.ValidationError (or ValueError) if it is not ours."""
    return _ENVELOPE.validate_json(payload)


class SnapshotMeta(_Doc):
    """The user properties that travel with a snapshot's JPEG bytes."""

    v: Literal["1"]
    id: _ID
    station: _NAME
    hub: _NAME
    ts: Annotated[str, Field(pattern=r"^[0-9]{1,11}(\.[0-9]{1,9})?$")]
    incident: Annotated[str, Field(max_length=64)] = ""
    entity: _SHORT = ""
    snapshot: _SHORT = ""


class ActorDoc(_Doc):
    """Who at the station asked for a command."""

    user: Annotated[str, Field(min_length=1, max_length=100)]
    name: _SHORT = ""
    role: _SHORT = ""
    unit: _SHORT = ""


class CommandDoc(_Doc):
    """A station → hub command."""

    v: Literal[1]
    id: _ID
    station: _NAME
    hub: _NAME
    command: Annotated[str, Field(pattern=r"^[a-z_]{1,32}\.[a-z_]{1,32}$")]
    data: dict[str, Any] = {}
    by: ActorDoc
    ts: Timestamp


class RejectedDoc(_Doc):
    id: _ID
    reason: _TEXT


class AckDoc(_Doc):
    """A station → hub acknowledgement of stored (or refused) outbox ids."""

    v: Literal[1]
    ids: list[_ID] = []
    rejected: list[RejectedDoc] = []
    ts: Timestamp | None = None
