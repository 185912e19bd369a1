"""The SOAP edge: onvif-zeep-async behind timeouts and a small set of errors.

Every call to a camera goes through :func:`soap`, which bounds it with a
timeout and turns the zoo of library, zeep, lxml and aiohttp exceptions into
four errors the rest of the integration acts on:

* :class:`OnvifAuthError`: wrong credentials (or a clock too far off): stop
  retrying quickly, cameras lock accounts after a few failures;
* :class:`OnvifUnreachable`: no answer (offline, refused, timed out): retry
  with backoff;
* :class:`OnvifMalformed`: the camera answered with XML we cannot read (cheap
  firmware): log it, mark the camera, keep the others going;
* :class:`OnvifUnsupported`: the camera does not offer the service/operation.

The library is imported lazily (zeep and lxml cost ~25 MB and 0.3 s), and its
import-time and constructor side effects on the process are undone here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

__all__ = (
    "OnvifError",
    "OnvifAuthError",
    "OnvifUnreachable",
    "OnvifMalformed",
    "OnvifUnsupported",
    "import_onvif",
    "new_camera",
    "prepare",
    "soap",
    "classify",
)

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

_AUTH_WORDS = (
    "notauthorized",
    "not authorized",
    "unauthorized",
    "authority failure",
    "sender not auth",
    "authentication",
    "password",
    "failedauthentication",
    "invalidsecurity",
)
_UNSUPPORTED_WORDS = (
    "actionnotsupported",
    "action not supported",
    "not supported",
    "not implemented",
    "doesn`t support service",
    "doesn't support service",
    "unknown operation",
    "no such operation",
)


class OnvifError(Exception):
    """A camera call failed; the message is meant for the admin."""


class OnvifAuthError(OnvifError):
    """The camera refused our credentials."""


class OnvifUnreachable(OnvifError):
    """The camera did not answer."""


class OnvifMalformed(OnvifError):
    """The camera answered with something that is not valid ONVIF."""


class OnvifUnsupported(OnvifError):
    """The camera does not offer this service or operation."""


_onvif: Any = None


def import_onvif() -> Any:
    """Import ``onvif`` once, without letting it reconfigure the hub's logging."""
    global _onvif
    if _onvif is None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import onvif
        import onvif.client  # noqa: F401  (prepare() reads its document cache)
        import onvif.exceptions  # noqa: F401  (used by classify)

        # onvif calls logging.basicConfig() at import: undo it if it added a handler.
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        _onvif = onvif
    return _onvif


_WSDLS = ("devicemgmt.wsdl", "media.wsdl", "ptz.wsdl", "events.wsdl")


async def prepare() -> None:
    """Import the library and parse the WSDLs once, off the loop, before any camera connects.

    The library parses a WSDL on first use in a thread, without a lock: 200
    cameras connecting at once would parse the same file 200 times.  And a
    connect cancelled during that first parse leaks the half-made service's
    HTTP session (it is registered only after the parse).  Warming the
    document cache first avoids both.
    """
    loop = asyncio.get_running_loop()
    onvif = await loop.run_in_executor(None, import_onvif)
    from pathlib import Path

    cached_document = getattr(onvif.client, "_cached_document", None)
    folder = getattr(onvif.client, "_WSDL_PATH", None)
    if cached_document is None or folder is None:
        return  # a library version without the cache: nothing to warm
    for name in _WSDLS:
        await cached_document(str(Path(folder) / name))


def new_camera(host: str, port: int, username: str, password: str, *, nat: bool) -> Any:
    """Create an ``ONVIFCamera`` (no I/O yet).

    The constructor deletes ``http_proxy``/``https_proxy`` from the process
    environment; other integrations (LINE behind a shop's proxy) may need them,
    and aiohttp does not read them for the camera anyway, so they are restored.
    """
    onvif = import_onvif()
    saved = {k: os.environ[k] for k in ("http_proxy", "https_proxy") if k in os.environ}
    try:
        # no_cache: the WSDLs are bundled; zeep's cache would only write a file outside the data dir.
        return onvif.ONVIFCamera(
            host, port, username or None, password or None, adjust_time=True, no_cache=True, nat_override=nat
        )
    finally:
        os.environ.update(saved)


def _text(err: BaseException) -> str:
    parts = [str(err), getattr(err, "message", "") or ""]
    code = getattr(err, "code", None)
    if code:
        parts.append(str(code))
    for sub in getattr(err, "subcodes", None) or ():
        parts.append(str(getattr(sub, "localname", sub)))
    return " ".join(p for p in parts if p).lower()


def classify(err: BaseException, what: str) -> OnvifError:
    """Return the hub's error for a library/transport exception raised by ``what``."""
    import zeep.exceptions
    from lxml import etree

    onvif_exc = import_onvif().exceptions
    cause = err
    # safe_func wraps the real error in ONVIFError: judge the original when there is one.
    while (
        isinstance(cause, onvif_exc.ONVIFError)
        and not isinstance(cause, onvif_exc.ONVIFAuthError | onvif_exc.ONVIFTimeoutError)
        and cause.__cause__ is not None
    ):
        cause = cause.__cause__
    text = _text(cause)
    if isinstance(cause, onvif_exc.ONVIFAuthError):
        return OnvifAuthError(f"{what}: authentication failed")
    if isinstance(cause, TimeoutError | onvif_exc.ONVIFTimeoutError):
        return OnvifUnreachable(f"{what}: no answer in time")
    if isinstance(cause, zeep.exceptions.Fault):
        if any(w in text for w in _AUTH_WORDS):
            return OnvifAuthError(f"{what}: authentication failed ({cause.message})")
        if any(w in text for w in _UNSUPPORTED_WORDS):
            return OnvifUnsupported(f"{what}: not supported by the camera ({cause.message})")
        return OnvifError(f"{what}: the camera refused: {cause.message}")
    if isinstance(cause, zeep.exceptions.TransportError):
        if cause.status_code == 401:
            return OnvifAuthError(f"{what}: authentication failed (HTTP 401)")
        if cause.status_code in (404, 405, 501):
            return OnvifUnsupported(f"{what}: not supported by the camera (HTTP {cause.status_code})")
        return OnvifError(f"{what}: HTTP {cause.status_code} from the camera")
    if isinstance(
        cause,
        zeep.exceptions.XMLParseError
        | zeep.exceptions.XMLSyntaxError
        | etree.LxmlError
        | ValueError
        | AttributeError
        | TypeError
        | KeyError
        | IndexError,
    ):
        # Broken or incomplete XML from cheap firmware (undeclared prefixes, missing fields...).
        return OnvifMalformed(
            f"{what}: the camera sent a reply that is not valid ONVIF ({type(cause).__name__}: "
            f"{str(cause)[:200]})"
        )
    if isinstance(cause, aiohttp.ClientError | OSError):
        return OnvifUnreachable(f"{what}: {type(cause).__name__}: {cause}")
    if isinstance(cause, onvif_exc.ONVIFError):
        if any(w in text for w in _UNSUPPORTED_WORDS):
            return OnvifUnsupported(f"{what}: not supported by the camera")
        return OnvifError(f"{what}: {cause}")
    return OnvifError(f"{what}: {type(cause).__name__}: {cause}")


async def soap(call: Callable[[], Awaitable[T]], what: str, limit: float) -> T:
    """Run one camera call within ``limit`` seconds, raising only :class:`OnvifError` subclasses."""
    try:
        return await asyncio.wait_for(call(), limit)
    except asyncio.CancelledError:
        raise
    except OnvifError:
        raise
    except TimeoutError as err:
        raise OnvifUnreachable(f"{what}: no answer in {limit:g} s") from err
    except Exception as err:  # noqa: BLE001 - the library raises anything; classify() sorts it
        raise classify(err, what) from err
