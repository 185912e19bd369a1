"""What a station sends its region, and how the region checks it (DESIGN §14).

The envelope is the hub tier's (``integrations.federation.protocol``), one tier
up: ``station`` names the region, ``hub`` names the sending station, ``id`` is
the station's outbox row, ``ts`` the station's clock.  Only three kinds go up:

* ``incident``: one incident's summary, re-sent when its status or
  acknowledgement changes: kind, hub, zone, opened/acknowledged/closed times,
  SOS → acknowledgement seconds, status, drill.  No title, place, timeline,
  names or pictures: those stay at the station.
* ``monthly``: one month of the station's figures, re-sent while they change
  (the region keeps the newest by ``ts``): flat numeric KPIs, hub and camera
  counts by policy, incidents by kind and zone, patrol coverage, People Poll
  aggregates (counts and means, never an answer or a comment), Big 6 meetings
  and resolutions (counts, never minutes or names).
* ``health``: the hub tier's health report; the last will says ``offline``.

Every model is closed (``extra="forbid"``) and bounded, so a payload that
smuggles a field in (a respondent's phone number, a picture) is refused, named
and counted, never stored: the region keeps only what these models allow.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from integrations.federation.protocol import ID_RE, NAME_RE, HealthBody

__all__ = (
    "Big6Month",
    "PatrolMonth",
    "PollAggregate",
    "IncidentSummary",
    "KpiLabel",
    "MonthlyReport",
    "RegionEnvelope",
    "parse_region_envelope",
    "KPI_KEY_RE",
    "MONTH_RE",
)

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: A KPI's key: what the ranking's criteria name (``sos_ack_p90``, ``poll_trust``...).
KPI_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KEY = Annotated[str, Field(pattern=KPI_KEY_RE.pattern)]
_LABEL = Annotated[str, Field(max_length=64)]
_COUNT = Annotated[int, Field(ge=0, le=10_000_000)]
_TS = Annotated[float, Field(ge=0, le=1e11)]
_MONTH = Annotated[str, Field(pattern=MONTH_RE.pattern)]
_ID = Annotated[str, Field(pattern=ID_RE.pattern)]
_NAME = Annotated[str, Field(pattern=NAME_RE.pattern)]
#: Most KPIs, counters per map, meetings per month a station may send.
MAX_KPIS = 200
MAX_BUCKETS = 100
MAX_MEETINGS = 31


class _Closed(BaseModel):
    # Closed on purpose: a field the region does not know is refused, so nothing personal
    # can ride along unseen.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _bounded_map(value: dict[str, Any], *, most: int = MAX_BUCKETS) -> dict[str, Any]:
    if len(value) > most:
        raise ValueError(f"at most {most} entries")
    return value


class IncidentSummary(_Closed):
    """One incident as the region sees it."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    hub: _NAME
    kind: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,32}$")]
    zone: _LABEL = ""
    status: Literal["open", "acknowledged", "dispatched", "closed"]
    opened_at: _TS
    acknowledged_at: _TS | None = None
    closed_at: _TS | None = None
    #: SOS → acknowledgement, seconds (None while unacknowledged).
    ack_seconds: Annotated[float, Field(ge=0, le=1e9)] | None = None
    drill: bool = False


class PollAggregate(_Closed):
    """People Poll figures of one month: how many answered, and each question's mean or share."""

    responses: _COUNT = 0
    #: question id → mean (1–5 scales) or share answering yes (0–100).
    questions: dict[_KEY, Annotated[float, Field(ge=0, le=100)] | None] = {}

    _q = field_validator("questions")(_bounded_map)


class Big6Month(_Closed):
    """Big 6 meetings of one month (counts only: no minutes, no names)."""

    meetings: _COUNT = 0
    sectors_present: Annotated[int, Field(ge=0, le=6)] = 0
    resolutions: _COUNT = 0
    resolutions_done: _COUNT = 0


class PatrolMonth(_Closed):
    """Patrol figures of one month."""

    coverage: Annotated[float, Field(ge=0, le=100)] | None = None
    patrols: _COUNT = 0
    checkins: _COUNT = 0


class KpiLabel(_Closed):
    """A programme figure's name as the plugin that computed it gives it (a question's text)."""

    th: Annotated[str, Field(max_length=300)] = ""
    en: Annotated[str, Field(max_length=300)] = ""


class MonthlyReport(_Closed):
    """One month of a station's figures."""

    month: _MONTH
    #: Flat KPIs (key → number or None when not measured): what the ranking reads.
    kpis: dict[_KEY, float | None]
    hubs: _COUNT = 0
    hubs_online_share: Annotated[float, Field(ge=0, le=1)] | None = None
    cameras_by_policy: dict[Literal["always", "on_alarm", "registry", "never", "?"], _COUNT] = {}
    incidents_by_kind: dict[Annotated[str, Field(pattern=r"^[a-z0-9_.?-]{1,32}$")], _COUNT] = {}
    incidents_by_zone: dict[_LABEL, _COUNT] = {}
    patrols: PatrolMonth = PatrolMonth()
    poll: PollAggregate = PollAggregate()
    big6: Big6Month = Big6Month()
    #: Names of the programme figures among ``kpis`` (the core ones are named by the region).
    labels: dict[_KEY, KpiLabel] = {}

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, KpiLabel]) -> dict[str, KpiLabel]:
        return _bounded_map(value, most=MAX_KPIS)

    @field_validator("kpis")
    @classmethod
    def _kpis(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        _bounded_map(value, most=MAX_KPIS)
        for key, number in value.items():
            if number is not None and (not math.isfinite(number) or abs(number) > 1e12):
                raise ValueError(f"{key}: not a finite number")
        return value

    _maps = field_validator("incidents_by_kind", "incidents_by_zone")(_bounded_map)


class _Base(_Closed):
    v: Literal[1]
    id: _ID
    #: The region (the envelope's parent, as ``station`` is for a hub).
    station: _NAME
    #: The sending station.
    hub: _NAME
    ts: _TS

    _check_ts = field_validator("ts")(_finite)


class IncidentMessage(_Base):
    kind: Literal["incident"]
    body: IncidentSummary


class MonthlyMessage(_Base):
    kind: Literal["monthly"]
    body: MonthlyReport


class HealthMessage(_Base):
    # The health report is the hub tier's, with its open shape (integrations, outbox...):
    # only its status is read, and only the status is stored.
    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: Literal["health"]
    body: HealthBody


RegionEnvelope = IncidentMessage | MonthlyMessage | HealthMessage
_ENVELOPE: TypeAdapter[RegionEnvelope] = TypeAdapter(Annotated[RegionEnvelope, Field(discriminator="kind")])


def parse_region_envelope(payload: bytes) -> RegionEnvelope:
    """Validate one line; raise pydantic.ValidationError (or ValueError) if it is not ours."""
    return _ENVELOPE.validate_json(payload)
