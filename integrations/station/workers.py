"""Several station workers: who is running where, who owns what, and their signed calls to each other.

A hub reaches the station through its public web address, and a balancing
proxy deals each connection to any worker.  Most of what a hub sends is
shared through PostgreSQL (:mod:`.cluster`), but two things live in one
worker: a live stream's upstream (its viewers are that worker's open HTTP
responses) and a footage request's clips (the files, and the request's row in
that worker's own hub database).  So the worker that asks a hub for either
*claims* it here, and a worker that receives the hub's connection for
something another one claimed relays it to the owner over HTTP, signed.

The registry is three tables of the station database (station migration 6):

* ``station_workers``: each worker's id (kept in its data folder, so it
  survives a restart), the URL the *other workers* reach it on
  (``station.worker_url``, else the address it listens on) and a heartbeat
  every :data:`HEARTBEAT` seconds, on PostgreSQL's clock so that machines
  whose clocks disagree judge each other alike.  A worker not heard of for
  :data:`STALE` seconds is gone: its claims are not followed.
* ``worker_claims``: (kind, key) → the worker that owns it and the hub it
  concerns, so a relaying worker refuses a stream asked of another hub before
  it checks any password.
* ``station_secrets``: a random key made by the first worker.  Every call
  between workers carries an HMAC-SHA256 of the method, path, body, time, a
  random nonce and the caller's id under it (:meth:`Workers.sign`); a call
  without a valid one, or a copy of one already accepted, is refused.  Whoever can read the station database is trusted already; no
  key is written in any file or configuration, and none leaves the station.

A single worker on SQLite (the default) runs none of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

import aiohttp
from aiohttp import web

from hub.core.ids import ulid

if TYPE_CHECKING:
    from hub.database_pg import PgConnection
    from hub.hub import Hub
    from integrations.station.runtime import Station
    from integrations.station.store_pg import PgStationStore

__all__ = (
    "Workers",
    "Claim",
    "WorkerCallRefused",
    "HEADER_WORKER",
    "HEADER_TIME",
    "HEADER_SIGNATURE",
    "HEADER_NONCE",
    "HEADER_FOR",
    "HEARTBEAT",
    "STALE",
    "caller",
)

_LOGGER = logging.getLogger(__name__)

HEADER_WORKER = "X-SafetyHub-Worker"
HEADER_TIME = "X-SafetyHub-Worker-Time"
HEADER_SIGNATURE = "X-SafetyHub-Worker-Signature"
#: A random value per call, signed with it: a call seen once is refused if it comes again.
HEADER_NONCE = "X-SafetyHub-Worker-Nonce"
#: The address of the hub whose call is relayed (trusted only when the call is signed).
HEADER_FOR = "X-SafetyHub-Worker-For"
#: Seconds between heartbeats; a worker silent for STALE seconds is taken as gone.
HEARTBEAT = 5.0
STALE = 20.0
#: A signed call older or newer than this (the callers' clocks) is refused.
_SKEW = 60.0
#: Live claims left by a worker that died are dropped after a day; footage claims stay with their request.
_CLAIM_DAYS = 1
_ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
_ID_FILE = "station_worker_id"
_SECRET_NAME = "worker_link"
#: Where the request is kept once its signature was checked (``caller``).
_CALLER: web.RequestKey[tuple[str, str]] = web.RequestKey("station_worker_caller", tuple)
_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


class WorkerCallRefused(Exception):
    """A call between workers without a valid signature."""


@dataclass(frozen=True)
class Claim:
    """Who owns a stream or a request, and whether that worker is alive."""

    worker_id: str
    hub_id: str
    url: str | None
    alive: bool


def _worker_id(folder: Path) -> str:
    """Return this worker's id, made once and kept in its data folder."""
    path = folder / _ID_FILE
    with contextlib.suppress(FileNotFoundError):
        found = path.read_text().strip()
        if _ID_RE.match(found):
            return found
    made = ulid()
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(made + "\n")
    return made


def _signing_text(
    worker: str, at: str, nonce: str, method: str, path_qs: str, body: bytes, remote: str
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        ("safetyhub-worker-2", worker, at, nonce, method.upper(), _canonical(path_qs), digest, remote)
    ).encode()


def _canonical(path_qs: str) -> str:
    """Return the path and query decoded, the query sorted: what was sent and what arrives read alike.

    The client's URL library and the server's may quote the same query
    differently (``%40`` or ``@``), so the text signed is the decoded one.
    """
    parts = urlsplit(path_qs)
    query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{unquote(parts.path)}?{query}"


class Workers:
    """This worker's entry in the registry, its claims, and the signed calls to the others."""

    def __init__(self, hub: Hub, station: Station, store: PgStationStore) -> None:
        self.hub = hub
        self.station = station
        self.store = store
        self.id = _worker_id(hub.data_dir)
        self.url: str | None = None
        self.session: aiohttp.ClientSession | None = None
        self._secret = b""
        #: Nonces of the signed calls accepted, until their signatures are too old to pass anyway.
        self._seen_nonces: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._registered = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read (or make) the shared key and start the heartbeat."""
        self._secret = await self.store.database.write(_load_secret)
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=60)
        )
        self._task = self.hub.create_background_task(self._beat(), "station worker heartbeat")

    async def stop(self) -> None:
        """Leave the registry (the others stop relaying here at once) and close the connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.store.database.write(self._leave)
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _leave(self, db: PgConnection) -> None:
        # Live claims die with this process; footage claims stay (the requests are in its folder).
        db.execute("DELETE FROM worker_claims WHERE worker_id = ? AND kind LIKE 'live%'", (self.id,))
        db.execute("DELETE FROM station_workers WHERE worker_id = ?", (self.id,))

    async def wait_registered(self, within: float) -> bool:
        """Wait until the others can find this worker (tests, and the first relays after a start)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._registered.wait(), within)
        return self._registered.is_set()

    def own_url(self) -> str | None:
        """Return the URL the other workers reach this one on, or None before the web server listens."""
        if self.station.cfg.worker_url:
            return self.station.cfg.worker_url.rstrip("/")
        http = self.hub.http
        if http is None or http.port is None:
            return None
        host = http.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return f"http://{f'[{host}]' if ':' in host else host}:{http.port}"

    async def _beat(self) -> None:
        beats = 0
        while True:
            url = self.own_url()
            if url is not None:
                try:
                    await self.store.database.write(self._register, url, beats % 720 == 0)
                    self.url = url
                    self._registered.set()
                    beats += 1
                except Exception as err:  # noqa: BLE001 - the database is away: beat again later
                    _LOGGER.warning("Station: worker heartbeat not written: %s", err)
            await asyncio.sleep(HEARTBEAT if self._registered.is_set() else 0.2)

    def _register(self, db: PgConnection, url: str, tidy: bool) -> None:
        db.execute(
            f"INSERT INTO station_workers (worker_id, url, started_at, heartbeat) VALUES (?, ?, {_NOW}, {_NOW}) "
            "ON CONFLICT (worker_id) DO UPDATE SET url = excluded.url, heartbeat = excluded.heartbeat",
            (self.id, url),
        )
        if tidy:  # once an hour: what dead workers left behind
            day = 86400 * _CLAIM_DAYS
            db.execute(
                f"DELETE FROM worker_claims WHERE kind LIKE 'live%' AND created_at < {_NOW} - ?", (day,)
            )
            db.execute(f"DELETE FROM station_workers WHERE heartbeat < {_NOW} - ?", (day,))

    # -- claims ------------------------------------------------------------------------------------

    async def claim(self, kind: str, key: str, hub_id: str) -> None:
        """Record that this worker owns ``key`` (a stream id, a footage request id)."""

        def run(db: PgConnection) -> None:
            db.execute(
                f"INSERT INTO worker_claims (kind, key, worker_id, hub_id, created_at) VALUES (?, ?, ?, ?, {_NOW}) "
                "ON CONFLICT (kind, key) DO UPDATE SET worker_id = excluded.worker_id, hub_id = excluded.hub_id",
                (kind, key, self.id, hub_id),
            )

        await self.store.database.write(run)

    async def claim_first(self, kind: str, key: str, hub_id: str, *, force: bool = False) -> Claim | None:
        """Claim ``key`` unless another live worker holds it: None when this worker has it now, else theirs.

        A claim of a worker that stopped beating is taken over; ``force``
        takes it over from a live one too (it said it has no such thing).
        """

        def run(db: PgConnection) -> Claim | None:
            taken = db.execute(
                f"INSERT INTO worker_claims (kind, key, worker_id, hub_id, created_at) VALUES (?, ?, ?, ?, {_NOW}) "
                "ON CONFLICT (kind, key) DO UPDATE SET worker_id = excluded.worker_id, hub_id = excluded.hub_id, "
                "created_at = excluded.created_at WHERE ? OR worker_claims.worker_id = excluded.worker_id "
                "OR NOT EXISTS (SELECT 1 FROM station_workers w WHERE w.worker_id = worker_claims.worker_id "
                f"AND w.heartbeat > {_NOW} - ?) RETURNING worker_id",
                (kind, key, self.id, hub_id, force, STALE),
            ).fetchone()
            if taken is not None:
                return None
            row = db.execute(
                "SELECT c.worker_id, c.hub_id, w.url FROM worker_claims c "
                "JOIN station_workers w ON w.worker_id = c.worker_id WHERE c.kind = ? AND c.key = ?",
                (kind, key),
            ).fetchone()
            return Claim(str(row[0]), str(row[1]), row[2], True) if row is not None else None

        return await self.store.database.write(run)

    async def release(self, kind: str, key: str) -> None:
        """Drop a claim of this worker's (the stream ended)."""
        await self.store.database.write(
            lambda db: db.execute(
                "DELETE FROM worker_claims WHERE kind = ? AND key = ? AND worker_id = ?", (kind, key, self.id)
            )
        )

    async def owner(self, kind: str, key: str) -> Claim | None:
        """Return who claimed ``key``, or None."""

        def run(db: PgConnection) -> Claim | None:
            row = db.execute(
                f"SELECT c.worker_id, c.hub_id, w.url, w.heartbeat > {_NOW} - ? AS alive FROM worker_claims c "
                "LEFT JOIN station_workers w ON w.worker_id = c.worker_id WHERE c.kind = ? AND c.key = ?",
                (STALE, kind, key),
            ).fetchone()
            if row is None:
                return None
            return Claim(str(row[0]), str(row[1]), row[2], bool(row[3]))

        return await self.store.database.read(run)

    # -- signed calls --------------------------------------------------------------------------------

    def sign(self, method: str, path_qs: str, body: bytes = b"", remote: str = "") -> dict[str, str]:
        """Return the headers that let another worker accept this call."""
        at = str(int(time.time()))
        nonce = secrets.token_hex(16)
        text = _signing_text(self.id, at, nonce, method, path_qs, body, remote)
        mac = hmac.new(self._secret, text, "sha256")
        headers = {
            HEADER_WORKER: self.id,
            HEADER_TIME: at,
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: mac.hexdigest(),
        }
        if remote:
            headers[HEADER_FOR] = remote
        return headers

    def check(self, request: web.Request, body: bytes = b"") -> str | None:
        """Return the calling worker's id if ``request`` is a signed call; None if it is not one at all.

        Raises :class:`WorkerCallRefused` for a call that claims to come from
        a worker but whose signature does not verify (forged, too old, or
        signed with another station's key).
        """
        worker = request.headers.get(HEADER_WORKER)
        if worker is None:
            return None
        at = request.headers.get(HEADER_TIME, "")
        nonce = request.headers.get(HEADER_NONCE, "")
        given = request.headers.get(HEADER_SIGNATURE, "")
        remote = request.headers.get(HEADER_FOR, "")
        now = time.time()
        if (
            not _ID_RE.match(worker)
            or not at.isdigit()
            or abs(now - int(at)) > _SKEW
            or not _NONCE_RE.match(nonce)
        ):
            raise WorkerCallRefused("not a valid call from a station worker")
        text = _signing_text(worker, at, nonce, request.method, request.path_qs, body, remote)
        mac = hmac.new(self._secret, text, "sha256").hexdigest()
        if not self._secret or not hmac.compare_digest(mac, given):
            raise WorkerCallRefused("not a valid call from a station worker")
        # A copy of a call someone recorded on the way is refused while its time would still pass.
        for old, until in list(self._seen_nonces.items()):
            if until >= now:
                break  # kept in arrival order, so the rest are newer
            del self._seen_nonces[old]
        if nonce in self._seen_nonces:
            raise WorkerCallRefused("this call from a station worker was already made once")
        self._seen_nonces[nonce] = now + 2 * _SKEW
        request[_CALLER] = (worker, remote)
        return worker

    async def forward(
        self, claim: Claim, request: web.Request, body: bytes, headers: dict[str, str]
    ) -> web.Response:
        """Send ``request`` (its path, ``headers`` and ``body``) to the worker that owns it; return its answer."""
        assert claim.url is not None and self.session is not None
        path_qs = request.path_qs
        signed = {**headers, **self.sign(request.method, path_qs, body, request.remote or "")}
        async with self.session.request(
            request.method, claim.url + path_qs, data=body, headers=signed
        ) as resp:
            data = await resp.read()
            return web.Response(
                status=resp.status, body=data, content_type=resp.content_type, charset=resp.charset
            )


def caller(request: web.Request) -> tuple[str, str] | None:
    """Return (worker id, the hub's address) of a call another worker relayed and signed, else None."""
    return request.get(_CALLER)


def _load_secret(db: PgConnection) -> bytes:
    # The first worker makes it; the others (and later starts) read the same one.
    db.execute(
        "INSERT INTO station_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (_SECRET_NAME, secrets.token_urlsafe(32)),
    )
    row = db.execute("SELECT value FROM station_secrets WHERE name = ?", (_SECRET_NAME,)).fetchone()
    assert row is not None  # inserted just above, in this transaction
    return str(row[0]).encode()
