"""The public pages a phone opens: the check-in page behind the QR, and a volunteer's personal link.

Both routes are ``public`` (volunteers have no hub account), so each request
proves itself here:

* the QR link's signature and expiry (``exp``, ``sig``), and the sheet id
  must be the checkpoint's current one;
* who is checking in: a logged-in officer (session or bearer token) or a
  volunteer's personal-token cookie that has not been revoked;
* on the POST, a form token signed for this person and this sheet in the
  last 15 minutes, plus the session's CSRF token for officers.  A cross-site
  page can forge none of these.

Any refusal renders a page that says why, and stores nothing.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.core.context import Context
from hub.http.routes import CSRF_KEY, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from plugins.patrol_qr import links
from plugins.patrol_qr.const import (
    DEVICE_COOKIE,
    ROLE_VOLUNTEER,
    RUNTIME,
    VOLUNTEER_COOKIE,
    VOLUNTEER_COOKIE_SECONDS,
)
from plugins.patrol_qr.manager import CheckinRefused, PatrolManager, Person, person_for_user
from plugins.patrol_qr.patrols import composition_label
from plugins.patrol_qr.store import Checkpoint, Volunteer
from plugins.patrol_qr.strings import flag_text, translator

if TYPE_CHECKING:
    from multidict import MultiDictProxy

__all__ = ("checkin_page", "checkin_submit", "volunteer_link")

_LOGGER = logging.getLogger(__name__)
_TEMPLATE = "patrol_qr/checkin.html"
#: A device cookie to set on this response (the request bound a volunteer's link to this phone).
_BOUND_KEY: web.RequestKey[str] = web.RequestKey("patrol_qr_bound_device")


def _page(request: web.Request, status: int = 200, **ctx: Any) -> web.Response:
    lang = request_lang(request)
    t = translator(lang)
    response = render(
        request,
        _TEMPLATE,
        status=status,
        t=t,
        lang=lang,
        composition=lambda comp: composition_label(comp, lang),
        **ctx,
    )
    bound = request.get(_BOUND_KEY)
    if bound is not None:
        _set_device_cookie(request, response, bound)
    return response


def _set_device_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    # Path-scoped and HttpOnly like the token: only the patrol pages ever see it.
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=VOLUNTEER_COOKIE_SECONDS,
        path="/patrol_qr/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


async def _device_ok(request: web.Request, mgr: PatrolManager, vol: Volunteer) -> bool:
    """Return whether this phone may use the volunteer's link, binding it if it is the first.

    The first phone that presents a working link owns it; any other phone is
    refused until an admin moves the link (a new link, the old phone unbound).
    """
    hub = request.app[HUB_KEY]
    device = links.device_from_cookie(hub, vol.id, request.cookies.get(DEVICE_COOKIE, ""))
    if vol.device_hash is not None:
        return device is not None and secrets.compare_digest(links.token_hash(device), vol.device_hash)
    device, cookie = links.device_cookie(hub, vol.id)
    if not await mgr.bind_device(vol, device):
        return False  # another phone bound it a moment ago
    request[_BOUND_KEY] = cookie
    return True


def _refuse(request: web.Request, err: CheckinRefused, cp: Checkpoint | None = None) -> web.Response:
    t = translator(request_lang(request))
    hub = request.app[HUB_KEY]
    fmt: dict[str, Any] = {}
    if "at" in err.detail:
        fmt["time"] = datetime.fromtimestamp(err.detail["at"], hub.clock.tz).strftime("%H:%M")
    _LOGGER.info("patrol_qr: check-in refused (%s) at %s from %s", err.reason, request.path, request.remote)
    return _page(
        request,
        err.status,
        state="refused",
        checkpoint=cp,
        message=t(f"refused.{err.reason}", **fmt),
        reason=err.reason,
    )


async def _resolve(request: web.Request) -> tuple[PatrolManager, Checkpoint, str]:
    """Return the manager, checkpoint and sheet of a signed link, or raise CheckinRefused."""
    hub = request.app[HUB_KEY]
    mgr = hub.data.get(RUNTIME)
    if mgr is None:
        raise CheckinRefused("not_configured", 404)
    cp_id, sheet = request.match_info["checkpoint_id"], request.match_info["sheet"]
    problem = links.link_problem(
        hub, links.checkin_path(cp_id, sheet), request.query.get("exp"), request.query.get("sig")
    )
    if problem is not None:
        raise CheckinRefused(problem, 403)
    cp = await mgr.store.checkpoint(cp_id)
    if cp is None:
        raise CheckinRefused("unknown", 404)
    if cp.sheet != sheet:
        raise CheckinRefused("old_sheet", 410)
    return mgr, cp, sheet


async def _identify(request: web.Request, mgr: PatrolManager) -> Person | None:
    """Return who is checking in, None if unknown; raise for a revoked link or too low a role."""
    user = current_user(request)
    if user is not None:
        if not role_at_least(user.role, mgr.config.officer_min_role):
            raise CheckinRefused("role", 403)
        return person_for_user(user)
    token = request.cookies.get(VOLUNTEER_COOKIE, "")
    if not token:
        return None
    vol = await mgr.volunteer_for_token(token)
    if vol is None or vol.revoked_at is not None:
        raise CheckinRefused("revoked", 403)
    if not await _device_ok(request, mgr, vol):
        raise CheckinRefused("device", 403)
    return Person(f"volunteer:{vol.id}", vol.name, ROLE_VOLUNTEER)


async def checkin_page(request: web.Request) -> web.StreamResponse:
    """Show the check-in form for the checkpoint of a scanned QR."""
    try:
        mgr, cp, sheet = await _resolve(request)
        person = await _identify(request, mgr)
    except CheckinRefused as err:
        return _refuse(request, err)
    if person is None:
        return _page(request, state="who", checkpoint=cp, login_next=request.path_qs)
    earlier = await mgr.last_by(cp, person)
    if earlier is not None:
        return _refuse(request, CheckinRefused("replay", 409, at=earlier.ts), cp)
    exp, sig = links.form_token(request.app[HUB_KEY], cp.id, sheet, person.key)
    return _page(
        request,
        state="form",
        checkpoint=cp,
        person=person,
        form_exp=exp,
        form_sig=sig,
        action=request.path_qs,
    )


def _float(form: MultiDictProxy[Any], name: str) -> float | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as err:
        raise CheckinRefused("bad_position", 400) from err
    if number != number or number in (float("inf"), float("-inf")):
        raise CheckinRefused("bad_position", 400)
    return number


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def checkin_submit(request: web.Request) -> web.StreamResponse:
    """Record a check-in from the form."""
    hub = request.app[HUB_KEY]
    cp: Checkpoint | None = None
    try:
        mgr, cp, sheet = await _resolve(request)
        person = await _identify(request, mgr)
        if person is None:
            return _page(request, 401, state="who", checkpoint=cp, login_next=request.path_qs)
        form = await request.post()
        csrf = request.get(CSRF_KEY)
        # A session cookie is sent by any site's form; its CSRF token is not.
        if csrf is not None and not secrets.compare_digest(_text(form, "csrf_token").encode(), csrf.encode()):
            raise CheckinRefused("form", 403)
        if not links.form_token_ok(
            hub, cp.id, sheet, person.key, _text(form, "form_exp"), _text(form, "form_sig")
        ):
            raise CheckinRefused("form", 403)
        result = await mgr.check_in(
            cp,
            sheet,
            person,
            note=_text(form, "note"),
            lat=_float(form, "lat"),
            lon=_float(form, "lon"),
            accuracy=_float(form, "accuracy"),
            context=Context(
                user_id=current_user(request).id if current_user(request) else None, origin="patrol_qr"
            ),
        )
    except CheckinRefused as err:
        return _refuse(request, err, cp)
    if person.key.startswith("volunteer:"):
        await mgr.store.touch_volunteer(person.key.split(":", 1)[1], hub.clock.time())
    return _page(
        request,
        state="done",
        checkpoint=result.checkpoint,
        person=person,
        result=result,
        flag_text=flag_text(result.checkin, request_lang(request)),
        time=hub.clock.now().strftime("%H:%M"),
    )


async def volunteer_link(request: web.Request) -> web.StreamResponse:
    """Register this phone to a volunteer: keep their token in an HttpOnly cookie."""
    hub = request.app[HUB_KEY]
    mgr = hub.data.get(RUNTIME)
    lang = request_lang(request)
    t = translator(lang)
    if mgr is None:
        return render(
            request,
            "patrol_qr/volunteer.html",
            status=404,
            t=t,
            ok=False,
            message=t("refused.not_configured"),
        )
    token = request.match_info["token"]
    vol = await mgr.volunteer_for_token(token)
    if vol is None or vol.revoked_at is not None:
        response = render(
            request, "patrol_qr/volunteer.html", status=403, t=t, ok=False, message=t("volunteer.bad")
        )
        response.del_cookie(VOLUNTEER_COOKIE, path="/patrol_qr/")
        return response
    if not await _device_ok(request, mgr, vol):
        _LOGGER.warning("patrol_qr: volunteer %s's link opened on a second phone; refused", vol.id)
        return render(
            request,
            "patrol_qr/volunteer.html",
            status=403,
            t=t,
            ok=False,
            message=t("volunteer.other_device"),
        )
    await mgr.store.touch_volunteer(vol.id, hub.clock.time())
    response = render(
        request, "patrol_qr/volunteer.html", t=t, ok=True, message=t("volunteer.ok", name=vol.name)
    )
    bound = request.get(_BOUND_KEY)
    if bound is not None:
        _set_device_cookie(request, response, bound)
    # Path-scoped: the token is sent only to the patrol pages, never to the rest of the hub.
    response.set_cookie(
        VOLUNTEER_COOKIE,
        token,
        max_age=VOLUNTEER_COOKIE_SECONDS,
        path="/patrol_qr/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
