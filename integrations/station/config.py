"""Schema of the ``station:`` block (a CCOC that hubs report to)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel
from integrations.ccoc.config import ConsoleConfig
from integrations.federation.config import BrokerClientConfig, check_broker_url
from integrations.station.footage_config import StationFootageConfig
from integrations.station.supervision_config import SupervisionConfig

__all__ = ("StationConfig", "BrokerOwnerConfig", "ListenerConfig", "LocalListenerConfig", "DatabaseConfig")


class ListenerConfig(BlockModel):
    """The broker's TLS listener that hubs connect to (written by ``broker-config``)."""

    host: str = "0.0.0.0"
    port: int = Field(default=8883, ge=1, le=65535)
    cert_file: str | None = None
    key_file: str | None = None
    #: CA for client certificates; with ``require_certificate`` hubs need one (mutual TLS).
    ca_file: str | None = None
    require_certificate: bool = False
    #: Plain MQTT without TLS: only for a test bench on loopback, never in production.
    plain: bool = False

    @model_validator(mode="after")
    def _tls(self) -> ListenerConfig:
        if not self.plain and (self.cert_file is None or self.key_file is None):
            raise ValueError(
                "the hub listener needs cert_file and key_file (TLS), or plain: true on loopback"
            )
        if self.require_certificate and self.ca_file is None:
            raise ValueError("require_certificate needs ca_file")
        return self


class LocalListenerConfig(BlockModel):
    """A plain listener on loopback for the station's own process."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)

    @field_validator("host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        if not (value.startswith("127.") or value in ("::1", "localhost")):
            raise ValueError("the local listener has no TLS: bind it to loopback (127.0.0.1)")
        return value


class DatabaseConfig(BlockModel):
    """Where the station keeps what hubs send: a SQLite file (the default) or PostgreSQL.

    ``station.database`` may also be given as one string: ``postgresql://…``
    (several station workers share it; docs/federation.md) or a SQLite path.
    """

    backend: Literal["sqlite", "postgresql"] = "sqlite"
    #: SQLite: relative to the hub's data_dir.
    path: str = "station.db"
    #: PostgreSQL: ``postgresql://user@host:port/dbname`` (keep a password in secrets.yaml
    #: with ``!secret``; it is never logged).
    url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: object) -> object:
        if isinstance(value, str):
            if value.startswith(("postgresql://", "postgres://")):
                return {"backend": "postgresql", "url": value}
            return {"backend": "sqlite", "path": value}
        return value

    @model_validator(mode="after")
    def _url(self) -> DatabaseConfig:
        if self.backend == "postgresql":
            if not self.url:
                raise ValueError("backend postgresql needs url: postgresql://user@host:port/dbname")
            if not self.url.startswith(("postgresql://", "postgres://")):
                raise ValueError("url must start with postgresql://")
        elif self.url is not None:
            raise ValueError("url is for backend postgresql (SQLite uses path)")
        return self


class BrokerOwnerConfig(BrokerClientConfig):
    """A tier that runs its members' broker (station, region): its own connection and the broker's files.

    ``safetyhub station ...`` and ``safetyhub region ...`` write the broker's files from these keys
    (:mod:`integrations.station.broker`).
    """

    #: The tier's own connection to its broker (usually the loopback listener); the other
    #: broker keys (username, TLS files, protocol ...) are :class:`BrokerClientConfig`'s.
    broker: str = "mqtt://127.0.0.1:1883"
    reconnect_max: float = Field(default=30.0, gt=0, le=3600)
    #: For this many seconds after losing the broker, retry every 0.2–0.5 s before backing
    #: off: a broker restart of 2–3 s must cost about that, not a 3–18 s backoff.
    fast_retry_for: float = Field(default=30.0, ge=0, le=3600)
    #: What ``add-hub``/``add-station`` tells members to connect to.
    public_broker: str = "mqtts://ccoc.example.org:8883"
    #: Folder for the broker's passwd, acl, mosquitto.conf and persistence.
    broker_dir: str = "./broker"
    listener: ListenerConfig = Field(default_factory=lambda: ListenerConfig(plain=True, host="127.0.0.1"))
    local_listener: LocalListenerConfig | None = Field(default_factory=LocalListenerConfig)

    _public_broker_url = field_validator("public_broker")(check_broker_url)


class StationConfig(BrokerOwnerConfig):
    """The ``station:`` block."""

    #: Station id: the second level of every topic, ``ssz/v1/<id>/<hub>/...``.
    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    #: Several station workers share the load with ``$share/<group>/...`` (clean sessions then).
    share_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    #: Several workers on PostgreSQL: where the *other workers* reach this one's web server (live
    #: video and footage uploads that land on another worker are relayed here).  Default: the
    #: address it listens on (a wildcard bind is reached on 127.0.0.1, i.e. workers on one machine).
    #: Scheme, host and port only: the workers sign each call's path as it is sent.
    worker_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+/?$")
    #: When a quiet hub counts as failed (per hub: its heartbeat interval × missed_beats + grace).
    supervision: SupervisionConfig = Field(default_factory=SupervisionConfig)
    #: Largest JSON envelope accepted (an MQTT message carrying several, one per line, may be
    #: four times this), and largest snapshot.
    max_payload: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_snapshot: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    #: Event types put on the station's bus as ``federated_event`` (automations, live UI);
    #: the rest (camera_motion, custom telemetry) are stored and queryable but not announced.
    announce_events: list[str] = Field(default_factory=lambda: ["sos_pressed", "sos_supervision"])
    #: Messages stored per transaction at most.
    batch_max: int = Field(default=5000, ge=1, le=100_000)
    #: A command not delivered within this many seconds is dropped by the broker (MQTT v5 expiry).
    command_expiry: int = Field(default=300, ge=5, le=24 * 3600)
    #: Sizing for ``max_queued_messages``: hubs times each hub's outbox window, doubled.
    expected_hubs: int = Field(default=200, ge=1, le=100_000)
    hub_window: int = Field(default=200, ge=1, le=10_000)
    #: The CCOC console (patrol units, CAP export and push, map tiles): docs/ccoc.md.
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    #: Footage requests to hubs and their evidence packs: docs/video.md.
    footage: StationFootageConfig = Field(default_factory=StationFootageConfig)

    @property
    def max_queued_messages(self) -> int:
        """Broker queue per client: a station restart must not drop an SOS queued behind telemetry."""
        return max(10_000, 2 * self.expected_hubs * self.hub_window)
