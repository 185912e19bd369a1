"""Signed check-in links, short-lived form tokens and volunteers' personal tokens.

A sheet's QR holds ``/patrol_qr/c/<checkpoint>/<sheet>?exp=…&sig=…``, signed
with the hub's key (:mod:`hub.signing`).  The sheet id is a random nonce kept
on the checkpoint: printing a *new sheet* replaces it, and every older print
stops working (a photographed QR passed around can be voided).  Within a
joint-patrol window a person may use a sheet once; others may use it too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from plugins.patrol_qr.const import FORM_TTL, VOLUNTEER_COOKIE_SECONDS

if TYPE_CHECKING:
    from aiohttp import web

    from hub.hub import Hub

__all__ = (
    "checkin_path",
    "sign_checkin",
    "link_problem",
    "form_token",
    "form_token_ok",
    "new_sheet_id",
    "new_token",
    "token_hash",
    "absolute_url",
    "device_cookie",
    "device_from_cookie",
)


def checkin_path(checkpoint_id: str, sheet: str) -> str:
    """Return the unsigned path of a checkpoint's check-in page."""
    return f"/patrol_qr/c/{checkpoint_id}/{sheet}"


def sign_checkin(hub: Hub, checkpoint_id: str, sheet: str, valid_days: int) -> str:
    """Return the signed check-in path for a sheet, valid to the end of a local day.

    Ending on a day boundary keeps the printed link identical however often
    the sheet is downloaded that day.
    """
    now = hub.clock.time()
    last_day = datetime.fromtimestamp(now, hub.clock.tz).date() + timedelta(days=valid_days)
    exp = datetime.combine(last_day, time(23, 59, 59), hub.clock.tz).timestamp()
    return hub.signer.sign(checkin_path(checkpoint_id, sheet), exp - now)


def link_expiry(signed: str) -> float | None:
    """Return the ``exp`` of a signed path, or None."""
    exp = parse_qs(urlsplit(signed).query).get("exp")
    return float(exp[0]) if exp and exp[0].isdigit() else None


def link_problem(hub: Hub, path: str, exp: str | None, sig: str | None) -> str | None:
    """Return None for a good link, else ``"expired"`` or ``"invalid"``.

    A link whose ``exp`` has passed is "expired" whatever its signature: both
    are refused, and the person holding an old print learns to ask for a new
    sheet rather than suspect a fake.
    """
    if hub.signer.verify(path, exp, sig):
        return None
    if exp and exp.isdigit() and int(exp) < hub.clock.time():
        return "expired"
    return "invalid"


def _form_path(checkpoint_id: str, sheet: str) -> str:
    return f"/patrol_qr/form/{checkpoint_id}/{sheet}"


def form_token(hub: Hub, checkpoint_id: str, sheet: str, person: str) -> tuple[str, str]:
    """Return (exp, sig) proving this person was shown this form in the last minutes."""
    signed = hub.signer.sign(_form_path(checkpoint_id, sheet), FORM_TTL, extra=person)
    query = parse_qs(urlsplit(signed).query)
    return query["exp"][0], query["sig"][0]


def form_token_ok(hub: Hub, checkpoint_id: str, sheet: str, person: str, exp: str, sig: str) -> bool:
    """Return whether a form token is genuine, fresh and this person's."""
    return hub.signer.verify(_form_path(checkpoint_id, sheet), exp, sig, extra=person)


def new_sheet_id() -> str:
    """Return a fresh sheet nonce (short: it is printed in the QR)."""
    return secrets.token_urlsafe(9)


def new_token() -> str:
    """Return a volunteer's personal token (shown once, never stored)."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """Return the stored form of a token: a database copy must not be a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


def absolute_url(hub: Hub, path: str, request: web.Request | None = None) -> str:
    """Return ``path`` on the hub's public URL, else on the address the request came to."""
    base = hub.core.web.public_url
    if base:
        return base.rstrip("/") + path
    if request is not None:
        return f"{request.scheme}://{request.host}{path}"
    return path


def _device_path(volunteer_id: str, device: str) -> str:
    return f"/patrol_qr/device/{volunteer_id}/{device}"


def device_cookie(hub: Hub, volunteer_id: str) -> tuple[str, str]:
    """Return (device id, cookie value) for a phone a volunteer's link is being bound to.

    The cookie is ``<device>.<exp>.<sig>``, signed for this volunteer: a value
    made up or moved from another volunteer's phone fails the signature
    before the database is asked.
    """
    device = secrets.token_urlsafe(18)
    query = parse_qs(
        urlsplit(hub.signer.sign(_device_path(volunteer_id, device), VOLUNTEER_COOKIE_SECONDS)).query
    )
    return device, f"{device}.{query['exp'][0]}.{query['sig'][0]}"


def device_from_cookie(hub: Hub, volunteer_id: str, value: str) -> str | None:
    """Return the device id in a genuine, unexpired device cookie of this volunteer, else None."""
    parts = value.split(".")
    if len(parts) != 3 or len(value) > 200:
        return None
    device, exp, sig = parts
    return device if hub.signer.verify(_device_path(volunteer_id, device), exp, sig) else None
