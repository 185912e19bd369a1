"""The camera set-up flow (``/setup/cameras``): probe, preview, owner and policy, consent, save.

1. host, port, user, password → a unicast ONVIF probe with the integration's
   own SOAP edge (:mod:`integrations.onvif.client`: timeouts, the auth /
   unreachable / malformed sorting): device facts, media profiles, stream and
   snapshot URIs, PTZ presets.  No WS-Discovery: the hub never multicasts.
2. the probe is kept as a *draft* in memory (the password never touches the
   disk until the save): a live snapshot preview, the profiles, the presets,
   and the form for the camera's id, the owner and the share policy, each
   policy explained in Thai (:func:`integrations.camera.policy.explain_share`).
3. the exact consent text is shown; the owner's representative agrees; the
   save writes one ``onvif:`` item (password to ``secrets.yaml``) through the
   UI config writer and records the consent (:mod:`integrations.camera.consent`,
   audited).  If recording the consent fails, the camera is taken out again:
   a shared camera never exists without its owner's recorded agreement.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import request_lang
from hub.keys import HubKey
from integrations.camera.consent import audit_consent, consents_for, forget_consent, record_consent
from integrations.camera.const import DEFAULT_ON_ALARM_MAX_HOURS, DEFAULT_ON_ALARM_MINUTES
from integrations.camera.entity import SnapshotError
from integrations.camera.policy import explain_share
from integrations.flows.common import FlowError, form_text, render_flow, tr, write, writer
from integrations.onvif.client import (
    OnvifAuthError,
    OnvifError,
    OnvifMalformed,
    OnvifUnreachable,
    OnvifUnsupported,
    new_camera,
    soap,
)
from integrations.onvif.const import PTZ_NAMESPACE

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "Probe", "probe_camera", "consent_text", "save_camera", "DRAFT_TTL")

_LOGGER = logging.getLogger(__name__)

#: Seconds each camera call may take during the probe (a flow must answer while the admin waits).
PROBE_TIMEOUT = 8.0
#: A draft (probe result and password, in memory) is forgotten after this many seconds.
DRAFT_TTL = 30 * 60
SHARE_POLICIES = ("never", "registry", "on_alarm", "always")
_ID_RE = re.compile(r"^[a-z0-9_]{1,64}$")
_DRAFTS: HubKey[dict[str, Draft]] = HubKey("setup_camera_drafts")


@dataclass
class Probe:
    """What the camera told the probe."""

    info: dict[str, str]
    profiles: list[dict[str, Any]]
    stream_uri: str | None
    snapshot_uri: str | None
    presets: list[dict[str, str]]
    ptz: bool
    clock_skew: float | None


@dataclass
class Draft:
    """A probed camera waiting for its owner's details and consent."""

    host: str
    port: int
    username: str
    password: str
    probe: Probe
    created: float
    details: dict[str, Any] = field(default_factory=dict)
    #: The consent text exactly as shown on the review step (what is stored when agreed).
    text: str = ""
    lang: str = "th"


def _error_key(err: OnvifError) -> str:
    if isinstance(err, OnvifAuthError):
        return "cam.auth"
    if isinstance(err, OnvifUnreachable):
        return "cam.unreachable"
    if isinstance(err, OnvifMalformed):
        return "cam.malformed"
    if isinstance(err, OnvifUnsupported):
        return "cam.unsupported"
    return "cam.failed"


def _profile_row(profile: Any) -> dict[str, Any]:
    encoder = getattr(profile, "VideoEncoderConfiguration", None)
    resolution = getattr(encoder, "Resolution", None)
    return {
        "token": str(getattr(profile, "token", "") or ""),
        "name": str(getattr(profile, "Name", "") or ""),
        "encoding": str(getattr(encoder, "Encoding", "") or ""),
        "width": getattr(resolution, "Width", None),
        "height": getattr(resolution, "Height", None),
        "ptz": getattr(profile, "PTZConfiguration", None) is not None,
    }


async def probe_camera(
    host: str, port: int, username: str, password: str, limit: float = PROBE_TIMEOUT
) -> Probe:
    """Ask the camera at ``host:port`` what it is; raise OnvifError subclasses when it will not say."""
    cam = new_camera(host, port, username, password, nat=False)
    try:
        await soap(cam.update_xaddrs, "connect", limit)
        skew = cam.dt_diff.total_seconds() if cam.dt_diff is not None else None
        devicemgmt = await soap(cam.create_devicemgmt_service, "device service", limit)
        info = await soap(devicemgmt.GetDeviceInformation, "GetDeviceInformation", limit)
        facts = {
            key: str(getattr(info, attr, "") or "")
            for key, attr in (
                ("manufacturer", "Manufacturer"),
                ("model", "Model"),
                ("firmware", "FirmwareVersion"),
                ("serial", "SerialNumber"),
            )
        }
        media = await soap(cam.create_media_service, "media service", limit)
        profiles = list(await soap(media.GetProfiles, "GetProfiles", limit) or [])
        if not profiles:
            raise OnvifUnsupported("the camera has no media profiles")
        rows = [_profile_row(p) for p in profiles]
        main = next((p for p in profiles if str(_profile_row(p)["encoding"]).upper() == "H264"), profiles[0])
        token = str(main.token)
        stream_uri = await _optional(
            lambda: media.GetStreamUri(
                {
                    "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                    "ProfileToken": token,
                }
            ),
            "GetStreamUri",
            limit,
        )
        snapshot_uri = await _optional(lambda: cam.get_snapshot_uri(token), "GetSnapshotUri", limit)
        presets: list[dict[str, str]] = []
        ptz = PTZ_NAMESPACE in cam.xaddrs and getattr(main, "PTZConfiguration", None) is not None
        if ptz:
            try:
                service = await soap(cam.create_ptz_service, "PTZ service", limit)
                for preset in (
                    await soap(lambda: service.GetPresets({"ProfileToken": token}), "GetPresets", limit) or []
                ):
                    tok = getattr(preset, "token", None)
                    if tok is not None:
                        presets.append({"token": str(tok), "name": str(getattr(preset, "Name", None) or tok)})
            except OnvifAuthError:
                raise
            except OnvifError:
                ptz = bool(presets)  # unreadable presets: shown as none, the camera still works
        uri = getattr(stream_uri, "Uri", None) if stream_uri is not None else None
        return Probe(
            facts,
            rows,
            str(uri) if uri else None,
            str(snapshot_uri) if snapshot_uri else None,
            presets,
            ptz,
            skew,
        )
    finally:
        # Closing a half-open camera must not hide the probe's answer.
        with contextlib.suppress(Exception):
            await cam.close()


async def _optional(call: Any, what: str, limit: float) -> Any:
    """Run a call the camera may lack (no snapshot URI: frames come from the stream)."""
    try:
        return await soap(call, what, limit)
    except (OnvifUnsupported, OnvifMalformed):
        return None


async def fetch_preview(draft: Draft) -> bytes:
    """Return one JPEG from the probed camera (its snapshot URI, else one RTSP frame)."""
    from integrations.onvif.snapshot import fetch_http, grab_rtsp_frame, with_credentials

    probe = draft.probe
    if probe.snapshot_uri:
        from yarl import URL

        async with aiohttp.ClientSession() as session:
            data, _mode = await fetch_http(
                session,
                str(URL(probe.snapshot_uri).with_user(None)),
                draft.username,
                draft.password,
                known=None,
                limit=PROBE_TIMEOUT,
            )
        return data
    if probe.stream_uri:
        return await grab_rtsp_frame(
            with_credentials(probe.stream_uri, draft.username, draft.password), limit=15.0
        )
    raise SnapshotError("the camera has neither a snapshot URL nor a stream")


def consent_text(
    lang: str,
    *,
    hub_name: str,
    camera: str,
    owner: str,
    phone: str,
    agreed_by: str,
    policy: str,
    minutes: int = DEFAULT_ON_ALARM_MINUTES,
    hours: float = DEFAULT_ON_ALARM_MAX_HOURS,
) -> str:
    """Return the text the owner agrees to, in ``lang``: the camera, the owner, the policy explained."""
    owner_label = f"{owner} {phone}".strip()
    return tr(
        "cam.consent_text",
        lang,
        agreed_by=agreed_by,
        camera=camera,
        owner=owner_label,
        hub=hub_name,
        policy=tr(f"cam.policy_{policy}", lang),
        explain=explain_share(policy, lang, minutes=minutes, hours=hours),
    )


# -- drafts ------------------------------------------------------------------------------------------


def _drafts(hub: Hub) -> dict[str, Draft]:
    drafts = hub.data.get(_DRAFTS)
    if drafts is None:
        drafts = hub.data[_DRAFTS] = {}
    now = hub.clock.time()
    for key in [k for k, d in drafts.items() if now - d.created > DRAFT_TTL]:
        del drafts[key]
    return drafts


def _draft(hub: Hub, draft_id: str) -> Draft:
    draft = _drafts(hub).get(draft_id)
    if draft is None:
        raise FlowError("cam.draft_gone")
    return draft


# -- pages ---------------------------------------------------------------------------------------


async def _existing(hub: Hub) -> list[dict[str, Any]]:
    from integrations.camera.entity import CameraEntity

    rows = []
    for camera in sorted((e for e in hub.entities if isinstance(e, CameraEntity)), key=lambda c: c.entity_id):
        consents = await consents_for(hub, camera.object_id)
        rows.append(
            {"entity_id": camera.entity_id, "name": camera.name, "consent": consents[0] if consents else None}
        )
    return rows


async def _page(
    request: web.Request,
    *,
    draft_id: str | None = None,
    step: str = "connect",
    error: FlowError | None = None,
    values: Mapping[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    hub = request.app[HUB_KEY]
    lang = request_lang(request)
    draft = _drafts(hub).get(draft_id) if draft_id else None
    if draft_id and draft is None and error is None:
        error, step = FlowError("cam.draft_gone"), "connect"
    if draft is None:
        step = "connect"
    explanations = {p: explain_share(p, lang) for p in SHARE_POLICIES}
    return render_flow(
        request,
        "setup_cameras.html",
        status=status,
        step=step,
        draft=draft,
        draft_id=draft_id if draft is not None else None,
        error=error,
        values=dict(values or (draft.details if draft is not None else {})),
        policies=SHARE_POLICIES,
        explanations=explanations,
        cameras=await _existing(hub),
        nonce=secrets.token_hex(4),
    )


async def page(request: web.Request) -> web.StreamResponse:
    """Show the camera flow (``?draft=`` continues a probed camera)."""
    return await _page(request, draft_id=request.query.get("draft"), step="details")


async def post_probe(request: web.Request) -> web.StreamResponse:
    """Probe the camera; on success keep a draft and show step 2."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    values = {k: form_text(form, k) for k in ("host", "port", "username")}
    host, username, password = values["host"], values["username"], form_text(form, "password", 200)
    try:
        if not host:
            raise FlowError("flow.required", field=tr("cam.host", request_lang(request)))
        if "://" in host or "/" in host:
            raise FlowError("cam.unreachable")
        try:
            port = int(values["port"] or "80")
            if not 1 <= port <= 65535:
                raise ValueError
        except ValueError as err:
            raise FlowError("cam.unreachable") from err
        try:
            probe = await probe_camera(host, port, username, password)
        except OnvifError as err:
            raise FlowError(_error_key(err)) from err
    except FlowError as err:
        return await _page(request, error=err, values=values, status=422)
    draft_id = secrets.token_urlsafe(12)
    _drafts(hub)[draft_id] = Draft(host, port, username, password, probe, hub.clock.time())
    raise web.HTTPSeeOther(f"/setup/cameras?draft={draft_id}")


async def preview(request: web.Request) -> web.StreamResponse:
    """A live JPEG from the draft's camera."""
    hub = request.app[HUB_KEY]
    try:
        draft = _draft(hub, request.match_info["draft"])
        data = await fetch_preview(draft)
    except (FlowError, SnapshotError, OSError, TimeoutError) as err:
        raise web.HTTPNotFound(text="no picture") from err
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _details(form: Mapping[str, Any], draft: Draft, lang: str) -> dict[str, Any]:
    details = {
        "id": form_text(form, "id", 64),
        "name": form_text(form, "name", 120),
        "profile": form_text(form, "profile", 64),
        "share": form_text(form, "share", 16) or "never",
        "owner_name": form_text(form, "owner_name", 120),
        "owner_phone": form_text(form, "owner_phone", 40),
        "agreed_by": form_text(form, "agreed_by", 120),
    }
    if not _ID_RE.match(details["id"]):
        raise FlowError("flow.bad_id")
    if details["share"] not in SHARE_POLICIES:
        details["share"] = "never"
    if details["profile"] and details["profile"] not in {p["token"] for p in draft.probe.profiles}:
        details["profile"] = ""
    if details["share"] != "never" and not details["owner_name"]:
        raise FlowError("cam.need_owner")
    if not details["agreed_by"]:
        raise FlowError("cam.need_consent")
    return details


async def post_review(request: web.Request) -> web.StreamResponse:
    """Check the camera's details and show the exact consent text."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    draft_id = form_text(form, "draft", 40)
    lang = request_lang(request)
    try:
        draft = _draft(hub, draft_id)
        details = _details(form, draft, lang)
        items, _etag = await writer(hub).list_items("onvif")
        if any(isinstance(i, Mapping) and i.get("id") == details["id"] for i in items):
            raise FlowError("flow.id_taken", id=details["id"])
    except FlowError as err:
        values = {
            k: form_text(form, k)
            for k in ("id", "name", "profile", "share", "owner_name", "owner_phone", "agreed_by")
        }
        return await _page(request, draft_id=draft_id, step="details", error=err, values=values, status=422)
    draft.details = details
    draft.lang = lang
    draft.text = consent_text(
        lang,
        hub_name=hub.name,
        camera=details["name"] or details["id"],
        owner=details["owner_name"] or details["agreed_by"],
        phone=details["owner_phone"],
        agreed_by=details["agreed_by"],
        policy=details["share"],
    )
    return await _page(request, draft_id=draft_id, step="consent")


async def post_save(request: web.Request) -> web.StreamResponse:
    """Write the camera, record the owner's consent, and open the camera's page."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    draft_id = form_text(form, "draft", 40)
    user = current_user(request)
    try:
        draft = _draft(hub, draft_id)
        if not draft.text or not draft.details:
            raise FlowError("cam.need_consent")
        if form.get("agree") != "yes":
            return await _page(
                request, draft_id=draft_id, step="consent", error=FlowError("cam.need_consent"), status=422
            )
        entity_id = await save_camera(
            hub,
            draft,
            recorded_by=user.username if user else "?",
            role=user.role if user else "",
            ip=request.remote or "",
        )
    except FlowError as err:
        return await _page(request, draft_id=draft_id, step="details", error=err, status=422)
    _drafts(hub).pop(draft_id, None)
    raise web.HTTPSeeOther(f"/cameras/{entity_id}")


async def save_camera(hub: Hub, draft: Draft, *, recorded_by: str, role: str = "", ip: str = "") -> str:
    """Record the consent and write the ``onvif:`` item (both or neither); return the entity id."""
    d = draft.details
    cam_id = d["id"]
    item: dict[str, Any] = {"id": cam_id, "host": draft.host, "port": draft.port}
    if d["name"]:
        item["name"] = d["name"]
    secret_values: dict[str, str] = {}
    if draft.username:
        item["username"] = draft.username
        # The writer stores it in secrets.yaml and writes `password: !secret ui_onvif_<id>_password`.
        secret_values["password"] = draft.password
    if d["profile"]:
        item["profile"] = d["profile"]
    item["share"] = d["share"]
    if d["owner_name"] or d["owner_phone"]:
        item["owner"] = {k: v for k, v in (("name", d["owner_name"]), ("phone", d["owner_phone"])) if v}
    ui = writer(hub)
    items, etag = await ui.list_items("onvif")
    if any(isinstance(i, Mapping) and i.get("id") == cam_id for i in items):
        raise FlowError("flow.id_taken", id=cam_id)
    # The consent first: a camera that runs (it starts the moment it is written) always has
    # its owner's recorded agreement.  If the write is refused, the record goes again.
    try:
        consent = await record_consent(
            hub,
            camera_id=cam_id,
            policy=d["share"],
            owner_name=d["owner_name"],
            owner_phone=d["owner_phone"],
            agreed_by=d["agreed_by"],
            lang=draft.lang,
            text=draft.text,
            recorded_by=recorded_by,
        )
    except Exception as err:
        _LOGGER.exception("camera %s: the consent could not be stored; the camera is not added", cam_id)
        raise FlowError("cam.consent_not_saved") from err
    try:
        await write(ui.add_item("onvif", item, etag=etag, secrets=secret_values or None, actor=recorded_by))
    except BaseException:
        await forget_consent(hub, consent.id)
        raise
    await audit_consent(hub, consent, role=role, ip=ip)
    return f"camera.{cam_id}"


def routes() -> list[Route]:
    """Return the camera flow's page, form and preview routes (admins only)."""
    tags = ("pages",)
    return [
        Route("GET", "/setup/cameras", page, role="admin", api=False, tags=tags, summary="Add a camera"),
        Route(
            "POST",
            "/setup/cameras/probe",
            post_probe,
            role="admin",
            api=False,
            tags=tags,
            summary="Probe an ONVIF camera (unicast) with host, user and password",
        ),
        Route(
            "GET",
            "/setup/cameras/preview/{draft}.jpg",
            preview,
            role="admin",
            api=False,
            tags=tags,
            summary="A live JPEG from the camera being added",
        ),
        Route(
            "POST",
            "/setup/cameras/review",
            post_review,
            role="admin",
            api=False,
            tags=tags,
            summary="Check the camera's owner and policy; show the consent text",
        ),
        Route(
            "POST",
            "/setup/cameras/save",
            post_save,
            role="admin",
            api=False,
            tags=tags,
            summary="Save the camera with its owner's recorded consent",
        ),
    ]
