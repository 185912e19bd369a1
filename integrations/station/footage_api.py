"""HTTP for footage requests at the station: the CCOC API, the keys, and the hubs' resumable uploads.

Officers (operator role):

* ``POST /api/ccoc/footage_requests`` {hub_id, cameras, start, end, reason, case_number} → 201;
* ``GET /api/ccoc/footage_requests[/{id}]``: pending / approved / denied / delivered / failed,
  with the items and their SHA-256;
* ``GET /api/ccoc/footage_requests/{id}/pack.zip``: the signed evidence pack (audited).

``GET /api/station/keys`` (viewer) publishes the station's public key and the
hub keys it knows, for ``safetyhub evidence verify --key``.

Hubs (no login: each request is signed with the hub's Ed25519 key, which
the station knows from the hub's federation registry):

* ``PUT  /api/station/footage/{request}/items/{item}`` declares a clip (size, SHA-256) and
  answers the offset the station holds;
* ``PATCH`` the same path, header ``Upload-Offset``, body: the next bytes (409 with the real
  offset if that is not where the clip stands);
* ``POST /api/station/footage/{request}/manifest``: the hub's signed manifest; delivered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from hub.http.routes import Route, current_user, json_error, read_json_object
from hub.http.server import HUB_KEY
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.footage import (
    AUDIT_UPLOAD_REFUSED,
    FOOTAGE,
    PEER_FOOTAGE_PATH,
    PEER_STATUS_PATH,
    FootageDesk,
    FootageError,
)
from integrations.station.footage_pack import export
from integrations.station.workers import WorkerCallRefused, caller
from integrations.video.footage_protocol import (
    HEADER_HUB,
    HEADER_OFFSET,
    HEADER_SIGNATURE,
    ITEM_ID_RE,
    MAX_CHUNK,
    ItemDeclaration,
    signing_text,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.video.evidence import PublicKey

__all__ = ("routes",)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _desk(request: web.Request) -> FootageDesk:
    desk = request.app[HUB_KEY].data.get(FOOTAGE)
    if desk is None:
        raise FootageError("footage requests are not running at this station", 503)
    return desk


def _error(err: FootageError) -> web.Response:
    return json_error(err.status, str(err), **err.extra)


async def create_request(request: web.Request) -> web.Response:
    user = current_user(request)
    try:
        desk = _desk(request)
        body = await read_json_object(request)
        found = await desk.create(body, user=user.username, role=user.role, ip=request.remote or "")
    except FootageError as err:
        return _error(err)
    return web.json_response(found, status=201, dumps=_dumps)


async def list_requests(request: web.Request) -> web.Response:
    try:
        desk = _desk(request)
    except FootageError as err:
        return _error(err)
    hub_id = request.query.get("hub_id")
    if hub_id is not None and not NAME_RE.match(hub_id):
        return json_error(400, "hub_id: not a hub id")
    return web.json_response(await desk.requests(hub_id=hub_id), dumps=_dumps)


def _request_id(request: web.Request) -> str:
    value = request.match_info["request_id"]
    if not ID_RE.match(value):
        raise FootageError("no such footage request", 404)
    return value


async def get_request(request: web.Request) -> web.StreamResponse:
    try:
        desk = _desk(request)
        request_id = _request_id(request)
        # Station workers share the rows: the request opens on any of them.
        found = await desk.get(request_id)
    except FootageError as err:
        return _error(err)
    if found is None:
        return json_error(404, "no such footage request")
    return web.json_response(found, dumps=_dumps)


async def get_pack(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    try:
        desk = _desk(request)
        request_id = _request_id(request)
        if (held := await _from_holder(request, desk, request_id, user)) is not None:
            return held
        path = await export(desk, request_id, user=user.username, role=user.role, ip=request.remote or "")
    except FootageError as err:
        return _error(err)
    return await _send_pack(request, request_id, path)


async def _send_pack(request: web.Request, request_id: str, path: Path) -> web.StreamResponse:
    loop = request.app[HUB_KEY].loop
    try:
        size = (await loop.run_in_executor(None, path.stat)).st_size
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="evidence-{request_id}.zip"',
                "Content-Length": str(size),
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        with path.open("rb") as src:
            while chunk := await loop.run_in_executor(None, src.read, 1024 * 1024):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await loop.run_in_executor(None, lambda: path.unlink(missing_ok=True))


async def keys(request: web.Request) -> web.Response:
    try:
        desk = _desk(request)
    except FootageError as err:
        return _error(err)
    assert desk.key is not None
    hubs = {}
    for hub_id in sorted(desk.station.ingest.registered):
        key = await desk.hub_key(hub_id)
        if key is not None:
            hubs[hub_id] = key.as_dict()
    return web.json_response(
        {
            "station": {"id": desk.station.id, **desk.key.public.as_dict(), "pem": desk.key.public.pem},
            "hubs": hubs,
        },
        dumps=_dumps,
    )


# -- uploads from hubs -------------------------------------------------------------------------------


async def _read_body(request: web.Request, limit: int) -> bytes:
    # Read here, not with request.read(): clip chunks are bigger than the app's 1 MiB body limit.
    if request.content_length is not None and request.content_length > limit:
        raise FootageError(f"body over {limit} bytes", 413)
    data = bytearray()
    async for piece in request.content.iter_chunked(256 * 1024):
        data += piece
        if len(data) > limit:
            raise FootageError(f"body over {limit} bytes", 413)
    return bytes(data)


async def _signed(request: web.Request, desk: FootageDesk, body: bytes) -> tuple[str, PublicKey]:
    """Return (hub id, its key) when the request carries that hub's valid signature; else raise 401/403."""
    hub_id = request.headers.get(HEADER_HUB, "")
    signature = request.headers.get(HEADER_SIGNATURE, "")
    if not NAME_RE.match(hub_id) or not signature:
        raise FootageError(f"sign the upload: {HEADER_HUB} and {HEADER_SIGNATURE} headers are required", 401)
    key = await desk.hub_key(hub_id) if hub_id in desk.station.ingest.registered else None
    offset = request.headers.get(HEADER_OFFSET, "")
    if key is None or not key.verify_b64(signature, signing_text(request.method, request.path, offset, body)):
        await desk.hub.audit.log(
            f"hub:{hub_id or '?'}",
            AUDIT_UPLOAD_REFUSED,
            request.path,
            role="hub",
            source="http",
            ip=request.remote or "",
            result="refused",
            detail={"error": "unknown hub key" if key is None else "bad signature"},
        )
        raise FootageError("the upload's signature does not verify with this hub's registered key", 403)
    return hub_id, key


async def _elsewhere(
    request: web.Request, desk: FootageDesk, request_id: str, body: bytes
) -> web.Response | None:
    """Several workers: relay a (signature-checked) upload to the worker whose request it is; None if ours.

    The request's row and its clips live with the worker that asked the hub
    (its claim in the registry); the balancing proxy may have handed the
    hub's call to another.  The call goes on unchanged (the hub's signature
    covers it, and is checked again there), signed with the workers' key.
    While that worker is away the hub is told 503 and tries again later: a
    404 would make it give up.
    """
    workers = desk.station.workers
    if workers is None:
        return None
    try:
        if workers.check(request, body) is not None:
            return None  # relayed here by the worker that received it: ours
    except WorkerCallRefused as err:
        raise FootageError(str(err), 403) from err
    claim = await workers.owner("footage", request_id)
    if claim is None or claim.worker_id == workers.id:
        return None
    if not claim.alive or claim.url is None:
        raise FootageError("the station server that holds this request is away; try again shortly", 503)
    headers = {h: request.headers[h] for h in _RELAYED_HEADERS if h in request.headers}
    try:
        return await workers.forward(claim, request, body, headers)
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        raise FootageError(
            "the station server that holds this request cannot be reached; try again shortly", 503
        ) from err


_RELAYED_HEADERS = (HEADER_HUB, HEADER_SIGNATURE, HEADER_OFFSET, "Content-Type")
#: Headers of a pack passed back from the worker that made it.
_PACK_HEADERS = ("Content-Type", "Content-Disposition", "Content-Length", "Cache-Control")


async def _from_holder(
    request: web.Request, desk: FootageDesk, request_id: str, user: Any
) -> web.StreamResponse | None:
    """Several workers: ask the worker that holds a request's clips for its pack, on the officer's behalf.

    The rows are shared, but the clips stay in the folder of the worker that
    asked the hub.  The officer signed in here; the holder is told who they are
    in the signed call, audits the export under their name, and the pack is
    passed back as it comes.  None when this worker holds the request (or runs alone).
    """
    workers = desk.station.workers
    if workers is None:
        return None
    claim = await workers.owner("footage", request_id)
    if claim is None or claim.worker_id == workers.id:
        return None
    if not claim.alive or claim.url is None or workers.session is None:
        raise FootageError("the station server that holds this request is away; try again shortly", 503)
    path_qs = (
        f"{PEER_FOOTAGE_PATH}/{request_id}/pack.zip?{urlencode({'user': user.username, 'role': user.role})}"
    )
    headers = workers.sign("GET", path_qs, remote=request.remote or "")
    try:
        # A big pack takes the holder a while to write before its first byte: no read timeout then.
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=None)
        async with workers.session.get(claim.url + path_qs, headers=headers, timeout=timeout) as resp:
            if resp.status != 200:
                return web.Response(
                    status=resp.status, body=await resp.read(), content_type=resp.content_type
                )
            out = web.StreamResponse(headers={h: resp.headers[h] for h in _PACK_HEADERS if h in resp.headers})
            await out.prepare(request)
            async for chunk in resp.content.iter_chunked(1024 * 1024):
                await out.write(chunk)
            await out.write_eof()
            return out
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        raise FootageError(
            "the station server that holds this request cannot be reached; try again shortly", 503
        ) from err


def _peer_officer(request: web.Request, desk: FootageDesk) -> tuple[str, str, str]:
    """Return (officer, role, their address) of a signed call from another worker; else raise 403."""
    workers = desk.station.workers
    try:
        if workers is None or workers.check(request) is None:
            raise FootageError("only the station's workers may call this", 403)
    except WorkerCallRefused as err:
        raise FootageError(str(err), 403) from err
    user, role = request.query.get("user", ""), request.query.get("role", "")
    if not user or not role:
        raise FootageError("the officer is not named", 400)
    relayed = caller(request)
    return user, role, relayed[1] if relayed is not None else ""


async def peer_pack(request: web.Request) -> web.StreamResponse:
    """The evidence pack of a request this worker holds, for an officer at another worker (audited here)."""
    try:
        desk = _desk(request)
        user, role, ip = _peer_officer(request, desk)
        request_id = _request_id(request)
        path = await export(desk, request_id, user=user, role=role, ip=ip)
    except FootageError as err:
        return _error(err)
    return await _send_pack(request, request_id, path)


async def peer_status(request: web.Request) -> web.Response:
    """A hub's ``footage_status`` that another worker stored, for a request of this worker's."""
    try:
        desk = _desk(request)
        body = await _read_body(request, 64 * 1024)
        workers = desk.station.workers
        try:
            if workers is None or workers.check(request, body) is None:
                raise FootageError("only the station's workers may call this", 403)
        except WorkerCallRefused as err:
            raise FootageError(str(err), 403) from err
        try:
            doc = json.loads(body)
            hub_id, status = doc["hub_id"], doc["status"]
            if not isinstance(hub_id, str) or not NAME_RE.match(hub_id) or not isinstance(status, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError) as err:
            raise FootageError('expected {"hub_id": "...", "status": {...}}') from err
        if status.get("state") != "delivered" and not await desk.hub_status(hub_id, status):
            raise FootageError("no such footage request here", 404)
    except FootageError as err:
        return _error(err)
    return web.json_response({"ok": True})


def _item_id(request: web.Request) -> str:
    value = request.match_info["item_id"]
    if not ITEM_ID_RE.match(value):
        raise FootageError("no such clip", 404)
    return value


async def put_item(request: web.Request) -> web.Response:
    try:
        desk = _desk(request)
        request_id, item_id = _request_id(request), _item_id(request)
        body = await _read_body(request, 64 * 1024)
        hub_id, _key = await _signed(request, desk, body)
        if (relayed := await _elsewhere(request, desk, request_id, body)) is not None:
            return relayed
        try:
            decl = ItemDeclaration.model_validate_json(body)
        except ValidationError as err:
            first = err.errors()[0]
            raise FootageError(f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}") from err
        status = await desk.uploads.declare(request_id, hub_id, item_id, decl)
    except FootageError as err:
        return _error(err)
    return web.json_response(status)


async def patch_item(request: web.Request) -> web.Response:
    try:
        desk = _desk(request)
        request_id, item_id = _request_id(request), _item_id(request)
        try:
            offset = int(request.headers.get(HEADER_OFFSET, ""))
        except ValueError as err:
            raise FootageError(f"{HEADER_OFFSET} header (bytes already sent) is required") from err
        if offset < 0:
            raise FootageError(f"{HEADER_OFFSET} must not be negative")
        body = await _read_body(request, MAX_CHUNK)
        hub_id, _key = await _signed(request, desk, body)
        if (relayed := await _elsewhere(request, desk, request_id, body)) is not None:
            return relayed
        status = await desk.uploads.chunk(request_id, hub_id, item_id, offset, body)
    except FootageError as err:
        return _error(err)
    return web.json_response(status)


async def post_manifest(request: web.Request) -> web.Response:
    try:
        desk = _desk(request)
        request_id = _request_id(request)
        body = await _read_body(request, 1024 * 1024)
        hub_id, key = await _signed(request, desk, body)
        if (relayed := await _elsewhere(request, desk, request_id, body)) is not None:
            return relayed
        try:
            doc = json.loads(body)
            manifest, signature = doc["manifest"], doc["signature"]
            if not isinstance(manifest, str) or not isinstance(signature, str):
                raise TypeError
        except (ValueError, KeyError, TypeError) as err:
            raise FootageError(
                'expected {"manifest": "<the signed JSON text>", "signature": "<base64>"}'
            ) from err
        result = await desk.uploads.deliver(request_id, hub_id, manifest.encode(), signature, key)
    except FootageError as err:
        return _error(err)
    return web.json_response(result)


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["hub_id", "cameras", "start", "end", "reason", "case_number"],
    "properties": {
        "hub_id": {"type": "string"},
        "cameras": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 16},
        "start": {"type": "string", "description": "ISO 8601 (or UNIX seconds)"},
        "end": {
            "type": "string",
            "description": "ISO 8601 (or UNIX seconds); after start, within the maximum",
        },
        "reason": {"type": "string", "maxLength": 500},
        "case_number": {"type": "string", "maxLength": 100},
    },
}


def routes(hub: Hub) -> list[Route]:
    """Return the footage routes (station role)."""
    tags = ("ccoc",)
    upload = "Hub upload, signed with the hub's Ed25519 key (no login; the hub opens no port)"
    return [
        Route(
            "POST",
            "/api/ccoc/footage_requests",
            create_request,
            role="operator",
            tags=tags,
            summary="Ask a hub for recorded footage (the owner's policy decides)",
            request_schema=_REQUEST_SCHEMA,
        ),
        Route(
            "GET",
            "/api/ccoc/footage_requests",
            list_requests,
            role="operator",
            tags=tags,
            summary="Footage requests, newest first",
        ),
        Route(
            "GET",
            "/api/ccoc/footage_requests/{request_id}",
            get_request,
            role="operator",
            tags=tags,
            summary="One footage request: state, items and their SHA-256",
        ),
        Route(
            "GET",
            "/api/ccoc/footage_requests/{request_id}/pack.zip",
            get_pack,
            role="operator",
            tags=tags,
            summary="The signed evidence pack of a delivered request (audited)",
        ),
        Route(
            "GET",
            "/api/station/keys",
            keys,
            role="viewer",
            tags=("station",),
            summary="The station's Ed25519 public key and the hub keys it knows",
        ),
        Route(
            "PUT",
            "/api/station/footage/{request_id}/items/{item_id}",
            put_item,
            public=True,
            csrf=False,
            tags=("station",),
            summary=upload,
        ),
        Route(
            "PATCH",
            "/api/station/footage/{request_id}/items/{item_id}",
            patch_item,
            public=True,
            csrf=False,
            tags=("station",),
            summary=upload,
        ),
        Route(
            "POST",
            "/api/station/footage/{request_id}/manifest",
            post_manifest,
            public=True,
            csrf=False,
            tags=("station",),
            summary=upload,
        ),
        Route(
            "GET",
            PEER_FOOTAGE_PATH + "/{request_id}/pack.zip",
            peer_pack,
            public=True,
            csrf=False,
            tags=("station",),
            summary="A request's evidence pack, for an officer at another station worker (signed; audited)",
        ),
        Route(
            "POST",
            PEER_STATUS_PATH,
            peer_status,
            public=True,
            csrf=False,
            tags=("station",),
            summary="A hub's footage status passed on by another station worker (signed with the workers' key)",
        ),
    ]
