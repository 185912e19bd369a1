"""Schema of the ``federation:`` block (a hub reporting to its station)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel, ConfigError, position_of
from hub.mqtt import BrokerAddress, ConnectionSettings
from integrations.federation.const import ALLOWED_COMMANDS, DEFAULT_EVENTS

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig

__all__ = (
    "BrokerClientConfig",
    "UplinkConfig",
    "FederationConfig",
    "ShareConfig",
    "CommandsConfig",
    "parse_window",
    "normalize_protocol",
    "check_broker_url",
    "tls_file_errors",
)

_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_window(text: str) -> tuple[dtime, dtime]:
    """Parse ``"22:00-06:00"`` (a window may cross midnight)."""
    match = _WINDOW_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r}: expected HH:MM-HH:MM, e.g. 22:00-06:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return dtime(h1, m1), dtime(h2, m2)


def normalize_protocol(value: Any) -> Any:
    """Accept ``protocol: 5`` (a YAML number) as well as ``"5"`` and ``"3.1.1"``."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def check_broker_url(value: str) -> str:
    """Refuse a broker URL the MQTT client could not dial (``mqtt://`` or ``mqtts://host:port``)."""
    BrokerAddress(value)
    return value


def tls_file_errors(loaded: LoadedConfig, domain: str, cfg: BrokerClientConfig) -> list[ConfigError]:
    """Return an error, at its line, for each TLS file the block names that does not exist."""
    errors = []
    for key in ("ca_file", "cert_file", "key_file"):
        name = getattr(cfg, key, None)
        if not name:
            continue
        path = Path(name) if Path(name).is_absolute() else loaded.config_dir / name
        if not path.is_file():
            file, line = position_of(loaded.raw, (domain, key)) or (loaded.file_label, None)
            hint = (
                "; the broker is mqtt:// (no TLS): remove ca_file"
                if key == "ca_file" and cfg.broker.startswith("mqtt://")
                else ""
            )
            errors.append(
                ConfigError(file, line, f"{domain}.{key}", f"file '{name}' does not exist ({path}){hint}")
            )
    return errors


class BrokerClientConfig(BlockModel):
    """How one tier logs in to an MQTT broker: the same keys in every block that connects.

    ``federation:`` and ``region_link:`` dial their parent's broker; ``station:`` and
    ``region:`` their own.  The blocks that have a default broker redeclare ``broker``.
    """

    broker: str
    username: str | None = None
    password: str | None = None
    #: CA that signed the broker's certificate (relative to the config folder).
    ca_file: str | None = None
    #: Client certificate and key, when the broker requires mutual TLS.
    cert_file: str | None = None
    key_file: str | None = None
    #: Skip the host-name check of the broker's certificate (test brokers only).
    tls_insecure: bool = False
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: int = Field(default=30, ge=5, le=3600)
    reconnect_min: float = Field(default=1.0, gt=0, le=60)
    reconnect_max: float = Field(default=60.0, gt=0, le=3600)

    _protocol = field_validator("protocol", mode="before")(normalize_protocol)
    _broker_url = field_validator("broker")(check_broker_url)

    def connection_settings(
        self,
        *,
        default_client_id: str,
        config_dir: Path,
        subscriptions: Sequence[str],
        username: str | None = None,
        clean: bool = False,
        fast_retry_for: float = 0.0,
    ) -> ConnectionSettings:
        """Return the MQTT connection these keys describe (``username`` overrides the configured one)."""
        return ConnectionSettings(
            broker=self.broker,
            username=self.username if username is None else username,
            password=self.password,
            client_id=self.client_id or default_client_id,
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
            tls_insecure=self.tls_insecure,
            protocol=self.protocol,
            keepalive=self.keepalive,
            clean=clean,
            reconnect_min=self.reconnect_min,
            reconnect_max=self.reconnect_max,
            config_dir=config_dir,
            subscriptions=tuple(subscriptions),
            fast_retry_for=fast_retry_for,
        )

    @model_validator(mode="after")
    def _client_checks(self) -> Self:
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        return self


class UplinkConfig(BrokerClientConfig):
    """A link that reports upward through an outbox (hub to station, station to region)."""

    health_interval: float = Field(default=60.0, ge=5, le=3600)
    #: Messages in flight (sent, not yet acknowledged).
    window: int = Field(default=200, ge=1, le=10_000)
    #: At most this many queued messages of one kind share an MQTT message (one per line); 1 turns it off.
    batch: int = Field(default=100, ge=1, le=1000)
    #: Seconds without an ack before a message is sent again (doubles while none come).
    ack_timeout: float = Field(default=30.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _cert_pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class ShareConfig(BlockModel):
    """What this hub sends to the station."""

    #: Incidents with every timeline entry (open, ack, notes, close).
    incidents: bool = True
    #: Event types forwarded as they happen.
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    #: ``camera_motion`` is forwarded only inside these local-time windows ...
    armed_hours: list[str] = Field(default_factory=lambda: ["22:00-06:00"])
    #: ... or while this entity is ``on`` or ``armed_*`` (an alarm panel, an input_boolean).
    armed_entity: str | None = None
    #: The retained registry: cameras (location, owner, policy; never credentials), devices, zone.
    registry: bool = True
    #: The month's programme figures (``kpi_slots``: patrols, People Poll, Big 6), aggregates only.
    kpis: bool = True
    #: Snapshots attached to incidents, where each camera's share policy allows.
    snapshots: bool = True
    #: ``on_alarm`` cameras share pictures this long after their incident opened (while it is open).
    on_alarm_window: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)

    @field_validator("armed_hours")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_window(item)
        return value

    @field_validator("events")
    @classmethod
    def _event_types(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.match(r"^[a-z0-9_.]{1,64}$", item):
                raise ValueError(f"{item!r} is not an event type")
        return value


class CommandsConfig(BlockModel):
    """Which station commands this hub obeys (a subset of the protocol's allowlist)."""

    allow: list[str] = Field(default_factory=lambda: list(ALLOWED_COMMANDS))
    #: LINE aliases the station may message; default: every group in the ``line:`` block.
    line_aliases: list[str] | None = None
    #: Seconds after its ``ts`` a device command (lights, cameras, LINE) is refused as
    #: expired: a late delivery must not switch a light a day later.  Keep it at least the
    #: station's ``command_expiry``.
    max_age: float = Field(default=600, ge=10, le=24 * 3600)
    #: The same for the station's queued records of what an officer did (acknowledge,
    #: dispatch, note, close, camera views): they wait while the hub is offline.
    durable_max_age: float = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)

    @field_validator("allow")
    @classmethod
    def _subset(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in ALLOWED_COMMANDS]
        if unknown:
            raise ValueError(
                f"not allowed from a station: {', '.join(unknown)} "
                f"(the allowlist is {', '.join(ALLOWED_COMMANDS)})"
            )
        return value


class FederationConfig(UplinkConfig):
    """The ``federation:`` block: this hub's link to its station's broker."""

    #: The station's id: the second level of every topic, ``ssz/v1/<station>/<hub>/...``.
    station: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    #: The station broker, ``mqtts://host:8883`` in production.  The hub's broker account
    #: (``username``) must be the hub id: the station's ACL names hubs by id.
    broker: str
    #: How often the registry is rebuilt and re-sent if it changed.
    registry_interval: float = Field(default=900.0, ge=10, le=24 * 3600)
    #: After a ``registry_changed`` event, wait this long (collecting a burst of changes) and re-send.
    registry_debounce: float = Field(default=2.0, ge=0, le=300)
    #: How often the month's programme figures are rebuilt and sent if they changed.
    kpi_interval: float = Field(default=900.0, ge=10, le=24 * 3600)
    #: After a ``kpi_changed`` event (a check-in, a poll answer, a meeting), wait this long and report.
    kpi_debounce: float = Field(default=30.0, ge=0, le=3600)
    #: The station's web address (``https://ccoc.example.org``): for live video the hub dials out to
    #: it (the hub opens no port).  Unset: the station cannot watch this hub's cameras live.
    station_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    share: ShareConfig = Field(default_factory=ShareConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
