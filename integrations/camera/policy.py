"""May this camera's image or stream leave the hub now, for this party?  (DESIGN §9)

This module is the one place the owner's sharing rule is decided.  Everything
that hands a camera image or stream URI to anyone (the snapshot route, the
live proxy, the stream API, LINE cards, and the federation/station code) asks
:func:`may_share` first and writes the answer to the audit log with
:func:`audit_handout` (or does both with :func:`check_and_audit`)::

    from integrations.camera.policy import Party, check_and_audit

    decision = await check_and_audit(hub, camera, Party.station("angthong-mueang"), "snapshot",
                                     detail={"snapshot_id": snap_id, "incident_id": inc_id})
    if not decision:            # Decision is falsy when refused
        return                  # nothing leaves the hub; the refusal is already audited

The rule:

* hub **admins and operators** (the owner's own staff) always get everything;
* everyone else (hub viewers, holders of signed links, the station) gets:

  - ``never``: nothing, not even the registry entry;
  - ``registry``: the registry entry (name, location, owner contact) only;
  - ``on_alarm``: the registry entry, and images/stream while an incident at
    this hub is open and for ``on_alarm_minutes`` after it closes, but never
    more than ``on_alarm_max_hours`` after it opened (a forgotten incident
    must not share a camera for ever);
  - ``always``: everything.

The station cannot override this: the decision is taken here, on the hub.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hub.auth import role_at_least
from hub.core.bus import Event
from hub.i18n import register_pairs
from hub.keys import HubKey
from integrations.camera.const import (
    AUDIT_COALESCE_SECONDS,
    AUDIT_REFUSAL_COALESCE_SECONDS,
    AUDIT_STREAM,
    AUDIT_VIEW,
    DEFAULT_ON_ALARM_MAX_HOURS,
    DEFAULT_ON_ALARM_MINUTES,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.camera.entity import CameraEntity

__all__ = (
    "ALARM_WINDOW",
    "AlarmWindow",
    "Decision",
    "Party",
    "What",
    "audit_handout",
    "check_and_audit",
    "explain_policy",
    "explain_share",
    "may_share",
    "reason_text",
)

_LOGGER = logging.getLogger(__name__)

#: What is being handed out: a stored snapshot, a live frame, the stream URI, or the registry entry.
What = Literal["snapshot", "live", "stream", "registry", "recording"]

#: Why a decision was taken: machine code → (Thai, English) for people.
_REASONS: dict[str, tuple[str, str]] = {
    "hub_staff": ("ผู้ดูแลหรือเจ้าหน้าที่ของฮับนี้ดูได้เสมอ", "hub admins and operators may always view"),
    "policy_always": ("เจ้าของอนุญาตให้แชร์ตลอดเวลา", "the owner shares this camera at all times"),
    "alarm_window": ("มีเหตุที่ฮับนี้ จึงแชร์ได้ชั่วคราว", "an incident at this hub opened the sharing window"),
    "registry_shared": ("แชร์เฉพาะข้อมูลทะเบียนกล้อง", "only the registry entry is shared"),
    "policy_never": ("เจ้าของไม่อนุญาตให้แชร์ข้อมูลใด ๆ ของกล้องนี้", "the owner shares nothing from this camera"),
    "registry_only": (
        "เจ้าของแชร์เพียงตำแหน่งและเบอร์ติดต่อ ไม่แชร์ภาพ",
        "the owner shares location and contact only, no images",
    ),
    "outside_alarm_window": (
        "ไม่มีเหตุที่ฮับนี้ในช่วงเวลาที่อนุญาต จึงไม่แชร์ภาพ",
        "no incident at this hub within the allowed window",
    ),
    "not_ready": ("ระบบกล้องยังไม่พร้อม", "the camera integration is not set up"),
    "unknown_policy": ("นโยบายไม่ถูกต้อง จึงไม่แชร์", "unknown policy: refused"),
    "link_invalid": ("ลิงก์ไม่ถูกต้องหรือหมดอายุแล้ว", "the link is invalid or has expired"),
    "camera_unknown": ("กล้องนี้ไม่อยู่ในการตั้งค่าแล้ว จึงไม่แชร์", "the camera is no longer configured"),
}

register_pairs("camera.policy_reasons", _REASONS, prefix="camera.reason.")


def reason_text(code: str, lang: str = "th") -> str:
    """Return the plain-language text of a decision reason."""
    th, en = _REASONS.get(code, (code, code))
    return th if lang == "th" else en


@dataclass(frozen=True)
class Party:
    """Who is asking: a hub user, the holder of a signed link, or the station.

    ``name`` is what the audit log shows as the actor.
    """

    kind: Literal["user", "link", "station"]
    name: str
    role: str = ""
    ip: str = ""

    @classmethod
    def user(cls, username: str, role: str, ip: str = "") -> Party:
        """A logged-in hub user (or API token) with a hub role."""
        return cls("user", username, role, ip)

    @classmethod
    def link(cls, issued_for: str = "", ip: str = "") -> Party:
        """Whoever opens a signed link; ``issued_for`` is who it was signed for (a LINE group, a station)."""
        return cls("link", f"link:{issued_for}" if issued_for else "link", "", ip)

    @classmethod
    def station(cls, station_id: str, officer: str = "", ip: str = "") -> Party:
        """The station (CCOC) this hub federates to; ``officer`` when a person is known."""
        name = f"station:{station_id}" + (f"/{officer}" if officer else "")
        return cls("station", name, "", ip)

    @property
    def is_hub_staff(self) -> bool:
        """Return whether this party is one of the hub's own admins or operators."""
        return self.kind == "user" and role_at_least(self.role, "operator")

    @property
    def audit_role(self) -> str:
        """Return the role column for the audit log."""
        return self.role if self.kind == "user" else self.kind

    @property
    def audit_source(self) -> str:
        """Return the source column for the audit log."""
        return {"user": "hub", "link": "signed_link", "station": "station"}[self.kind]


@dataclass(frozen=True)
class Decision:
    """The answer to "may this leave the hub?": falsy when refused.

    ``until`` is when an ``on_alarm`` window closes (UNIX seconds);
    ``incident_ids`` are the incidents that opened it.
    """

    allowed: bool
    reason: str
    policy: str
    until: float | None = None
    incident_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    def text(self, lang: str = "th") -> str:
        """Return the reason in plain language."""
        return reason_text(self.reason, lang)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "policy": self.policy,
            "until": self.until,
            "incident_ids": list(self.incident_ids),
            "text_th": self.text("th"),
            "text_en": self.text("en"),
        }


@dataclass
class _Incident:
    opened_at: float
    closed_at: float | None = None


class AlarmWindow:
    """Knows which incidents at this hub are open, or closed recently enough to matter.

    Fed by ``incident_opened``/``incident_updated`` events, and loaded from the
    database at start so a restart during an incident keeps the window.
    """

    #: Closed incidents older than this are forgotten (no camera keeps a window this long).
    KEEP_SECONDS = 7 * 24 * 3600

    def __init__(self) -> None:
        self._incidents: dict[str, _Incident] = {}

    async def load(self, hub: Hub) -> None:
        """Read open and recently closed incidents (through the incident manager)."""
        from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

        since = hub.clock.time() - self.KEEP_SECONDS
        for inc in await hub.data[INCIDENT_RUNTIME].open_or_closed_since(since):
            closed = inc.closed_at if inc.status == "closed" else None
            self._incidents[inc.id] = _Incident(inc.opened_at, closed)

    def listen(self, hub: Hub) -> list[Any]:
        """Follow incidents on the bus; return the unsubscribe callables."""

        def on_opened(event: Event) -> None:
            inc = event.data.get("incident") or {}
            self._incidents[event.data["incident_id"]] = _Incident(
                float(inc.get("opened_at") or hub.clock.time())
            )

        def on_updated(event: Event) -> None:
            inc = event.data.get("incident") or {}
            if inc.get("status") != "closed":
                return
            known = self._incidents.setdefault(
                event.data["incident_id"], _Incident(float(inc.get("opened_at") or hub.clock.time()))
            )
            known.closed_at = float(inc.get("closed_at") or hub.clock.time())
            self._prune(hub.clock.time())

        return [hub.bus.listen("incident_opened", on_opened), hub.bus.listen("incident_updated", on_updated)]

    def _prune(self, now: float) -> None:
        for inc_id, inc in list(self._incidents.items()):
            if inc.closed_at is not None and inc.closed_at < now - self.KEEP_SECONDS:
                del self._incidents[inc_id]

    def window(self, now: float, minutes: float, max_hours: float) -> tuple[float | None, tuple[str, ...]]:
        """Return (until, incident ids) if ``now`` falls in a sharing window, else (None, ())."""
        until: float | None = None
        ids: list[str] = []
        for inc_id, inc in self._incidents.items():
            cap = inc.opened_at + max_hours * 3600
            end = cap if inc.closed_at is None else min(cap, inc.closed_at + minutes * 60)
            if inc.opened_at <= now < end:
                ids.append(inc_id)
                until = end if until is None else max(until, end)
        return until, tuple(sorted(ids))


ALARM_WINDOW: HubKey[AlarmWindow] = HubKey("camera_alarm_window")


def may_share(
    hub: Hub, camera: CameraEntity, party: Party, what: What = "snapshot", *, now: float | None = None
) -> Decision:
    """Decide whether ``what`` of ``camera`` may be given to ``party`` now.

    Pure and synchronous: it reads the camera's policy and the hub's alarm
    window and writes nothing.  Callers must audit the hand-out (or the
    refusal) with :func:`audit_handout`; :func:`check_and_audit` does both.
    Anything unexpected (unknown policy, integration not set up) refuses.
    """
    policy = camera.share
    if party.is_hub_staff:
        return Decision(True, "hub_staff", policy)
    if policy == "never":
        return Decision(False, "policy_never", policy)
    if policy == "always":
        return Decision(True, "policy_always", policy)
    if what == "registry" and policy in ("registry", "on_alarm"):
        return Decision(True, "registry_shared", policy)
    if policy == "registry":
        return Decision(False, "registry_only", policy)
    if policy != "on_alarm":
        return Decision(False, "unknown_policy", policy)
    window = hub.data.get(ALARM_WINDOW)
    if window is None:
        return Decision(False, "not_ready", policy)
    when = hub.clock.time() if now is None else now
    until, ids = window.window(when, camera.on_alarm_minutes, camera.on_alarm_max_hours)
    if until is None:
        return Decision(False, "outside_alarm_window", policy)
    return Decision(True, "alarm_window", policy, until, ids)


@dataclass
class _Coalescer:
    last: dict[tuple[str, str, str, str], float] = field(default_factory=dict)

    def should_write(self, key: tuple[str, str, str, str], now: float, window: float) -> bool:
        seen = self.last.get(key)
        if seen is not None and now - seen < window:
            return False
        if len(self.last) > 10_000:
            # Bounded: forget the old half rather than grow with every client.
            for old in sorted(self.last, key=self.last.__getitem__)[:5_000]:
                del self.last[old]
        self.last[key] = now
        return True


_COALESCE: HubKey[_Coalescer] = HubKey("camera_audit_coalesce")


async def audit_handout(
    hub: Hub,
    camera: CameraEntity,
    party: Party,
    decision: Decision,
    what: What,
    *,
    detail: Mapping[str, Any] | None = None,
    coalesce: bool = False,
) -> bool:
    """Write one audit entry for a hand-out or a refusal; return whether it was written.

    Every stored snapshot, stream URI and station hand-out is written.  With
    ``coalesce`` (live views that refresh every few seconds) repeated views by
    the same party are written once per 5 minutes and repeated refusals once a
    minute, so the log stays readable for the owner; the first view is always
    written.  The write is awaited: a caller must not hand out an image whose
    view could not be recorded (``AuditLog.log`` raises then).
    """
    result = "ok" if decision.allowed else "refused"
    action = AUDIT_STREAM if what == "stream" else AUDIT_VIEW
    if coalesce:
        coalescer = hub.data.get(_COALESCE)
        if coalescer is None:
            coalescer = _Coalescer()
            hub.data[_COALESCE] = coalescer
        window = AUDIT_COALESCE_SECONDS if decision.allowed else AUDIT_REFUSAL_COALESCE_SECONDS
        key = (party.name, camera.entity_id, f"{action}:{what}", result)
        if not coalescer.should_write(key, hub.clock.time(), window):
            return False
    info: dict[str, Any] = {"what": what, "policy": decision.policy, "reason": decision.reason}
    if decision.incident_ids:
        info["window_incidents"] = list(decision.incident_ids)
    if decision.until is not None:
        info["window_until"] = decision.until
    info.update(detail or {})
    await hub.audit.log(
        party.name,
        action,
        camera.entity_id,
        role=party.audit_role,
        detail=info,
        source=party.audit_source,
        ip=party.ip,
        result=result,
    )
    return True


async def check_and_audit(
    hub: Hub,
    camera: CameraEntity,
    party: Party,
    what: What,
    *,
    detail: Mapping[str, Any] | None = None,
    coalesce: bool = False,
) -> Decision:
    """Decide with :func:`may_share`, audit the outcome, and return the decision."""
    decision = may_share(hub, camera, party, what)
    await audit_handout(hub, camera, party, decision, what, detail=detail, coalesce=coalesce)
    return decision


_EXPLAIN: dict[str, tuple[str, str]] = {
    "never": (
        "ภาพ วิดีโอ และข้อมูลของกล้องตัวนี้จะไม่ออกไปนอกฮับนี้เลย สถานีตำรวจจะไม่รู้ด้วยซ้ำว่ามีกล้องตัวนี้ "
        "มีเพียงผู้ดูแลและเจ้าหน้าที่ของฮับนี้เท่านั้นที่ดูภาพได้",
        "Nothing from this camera leaves this hub: no images, no video, and the station does not even learn "
        "that it exists. Only this hub's admins and operators can view it.",
    ),
    "registry": (
        "สถานีตำรวจจะรู้เพียงว่ามีกล้องตัวนี้ อยู่ที่ไหน และติดต่อเจ้าของได้ทางไหน เพื่อขอดูภาพจากท่านเองเมื่อจำเป็น "
        "ภาพและวิดีโอจะไม่ถูกส่งออกไปจากฮับนี้",
        "The station learns only that this camera exists, where it is and how to contact you, so they can ask "
        "you for footage. No image or video leaves this hub.",
    ),
    "on_alarm": (
        "ภาพจากกล้องตัวนี้จะแชร์ให้สถานีตำรวจและผู้ที่ได้รับลิงก์ เฉพาะเมื่อมีเหตุที่ยังเปิดอยู่ที่ฮับนี้ "
        "และต่อไปอีก {minutes} นาทีหลังปิดเหตุ (ไม่เกิน {hours:g} ชั่วโมงต่อเหตุ) นอกช่วงเวลานั้นไม่มีภาพใดออกไป "
        "ทุกครั้งที่มีผู้เปิดดูหรือถูกปฏิเสธ จะถูกบันทึกไว้ให้ท่านตรวจสอบได้",
        "Images are shared with the station and link holders only while an incident at this hub is open and "
        "for {minutes} minutes after it closes (at most {hours:g} hours per incident). Outside that window "
        "nothing leaves. Every view and every refusal is recorded for you to check.",
    ),
    "always": (
        "ภาพจากกล้องตัวนี้แชร์ให้สถานีตำรวจและผู้ชมที่ได้รับอนุญาตได้ตลอดเวลา ทุกครั้งที่มีผู้เปิดดูจะถูกบันทึกไว้ให้ท่านตรวจสอบได้",
        "Images are shared with the station and permitted viewers at all times. Every view is recorded for "
        "you to check.",
    ),
}

register_pairs("camera.policy_explain", _EXPLAIN, prefix="camera.explain.")


def explain_policy(camera: CameraEntity, lang: str = "th") -> str:
    """Return the owner-facing explanation of a camera's share policy."""
    return explain_share(camera.share, lang, minutes=camera.on_alarm_minutes, hours=camera.on_alarm_max_hours)


def explain_share(
    share: str,
    lang: str = "th",
    *,
    minutes: int = DEFAULT_ON_ALARM_MINUTES,
    hours: float = DEFAULT_ON_ALARM_MAX_HOURS,
) -> str:
    """Return the owner-facing explanation of ``share`` (also before the camera exists: the set-up flow)."""
    th, en = _EXPLAIN.get(share, ("นโยบายไม่ถูกต้อง จึงไม่แชร์สิ่งใด", "Unknown policy: nothing is shared."))
    text = th if lang == "th" else en
    return text.format(minutes=minutes, hours=hours)
