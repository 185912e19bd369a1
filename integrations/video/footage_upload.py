"""The hub's resumable upload of clips to the station (the hub dials out; it opens no port).

For each clip: ``PUT`` its declaration (size, SHA-256) and learn the offset
the station holds; ``PATCH`` the following bytes in chunks, each at the
offset the station confirmed; on ``409`` continue from the offset the
station names.  Then ``POST`` the hub's signed manifest.  Every request is
signed with the hub's Ed25519 key (:func:`footage_protocol.signing_text`).

Either side may restart at any moment: the station's partial file is the
offset, the hub's clip and its hash are in the hub's database, so the next
attempt continues where the bytes stop, and a clip already whole is never
sent twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from integrations.video.footage_protocol import (
    HEADER_HUB,
    HEADER_OFFSET,
    HEADER_SIGNATURE,
    item_path,
    manifest_path,
    signing_text,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.video.evidence import EvidenceKey
    from integrations.video.footage_config import FootageConfig

__all__ = ("Uploader", "UploadRefused")

_PIECE = 16 * 1024


class UploadRefused(Exception):
    """The station answered with a refusal; ``final`` when trying again cannot help."""

    def __init__(self, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.final = final


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as src:
        src.seek(offset)
        return src.read(size)


class Uploader:
    """One upload session to the station (an aiohttp client session)."""

    def __init__(self, hub: Hub, key: EvidenceKey, cfg: FootageConfig, base_url: str) -> None:
        self.hub = hub
        self.key = key
        self.cfg = cfg
        self.base = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        #: Bytes per second at most (None: as fast as the link goes).
        self.rate = cfg.upload_kbps * 1000 / 8 if cfg.upload_kbps else None
        self._next_at = 0.0
        #: Bytes sent in this session (for the benchmark and the log).
        self.sent = 0

    async def __aenter__(self) -> Uploader:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self, method: str, path: str, body: bytes, offset: str = ""
    ) -> tuple[int, dict[str, Any]]:
        assert self._session is not None
        headers = {
            HEADER_HUB: self.hub.id,
            HEADER_SIGNATURE: self.key.sign_b64(signing_text(method, path, offset, body)),
            "Content-Type": "application/json" if method != "PATCH" else "application/offset+octet-stream",
        }
        if offset:
            headers[HEADER_OFFSET] = offset
        data: Any = body if method != "PATCH" or self.rate is None else self._paced(body)
        try:
            async with self._session.request(method, self.base + path, data=data, headers=headers) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientError as err:
            raise OSError(f"station unreachable: {err}") from err
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            doc = {}
        if status >= 500:
            raise OSError(f"station answered {status}: {doc.get('error') or text[:200]}")
        return status, doc if isinstance(doc, dict) else {}

    async def _paced(self, body: bytes) -> AsyncIterator[bytes]:
        """Yield the body in small pieces, no faster than ``upload_kbps``.

        A shop's uplink is 1–5 Mbit/s and SOS messages share it: a clip must
        never take all of it.  Pieces of 16 KiB keep the bursts short.
        """
        assert self.rate is not None
        loop = asyncio.get_running_loop()
        for start in range(0, len(body), _PIECE):
            now = loop.time()
            if self._next_at > now:
                await asyncio.sleep(self._next_at - now)
            piece = body[start : start + _PIECE]
            self._next_at = max(self._next_at, now) + len(piece) / self.rate
            yield piece

    async def upload_item(self, request_id: str, item: dict[str, Any], path: Path) -> None:
        """Send one clip from wherever the station's copy stops; return once the station holds it whole."""
        where = item_path(request_id, item["id"])
        declaration = json.dumps(
            {k: item[k] for k in ("camera", "start", "end", "size", "sha256")}, separators=(",", ":")
        ).encode()
        status, doc = await self._call("PUT", where, declaration)
        self._check(status, doc)
        offset = int(doc.get("offset", 0))
        size = int(item["size"])
        while not doc.get("complete"):
            chunk = await self.hub.loop.run_in_executor(None, _read_at, path, offset, self.cfg.chunk_bytes)
            if not chunk and offset < size:
                raise UploadRefused(
                    f"the clip file {path.name} is shorter than its declared size", final=True
                )
            status, doc = await self._call("PATCH", where, chunk, str(offset))
            if status == 409 and "offset" in doc:
                offset = int(doc["offset"])  # the station holds more (or less) than we thought
                continue
            if status == 404:
                raise OSError("the station lost the clip's declaration; declaring it again")
            if status == 422:
                offset = int(doc.get("offset", 0))  # the whole clip did not hash right: again from 0
                continue
            self._check(status, doc)
            self.sent += len(chunk)
            offset = int(doc.get("offset", offset + len(chunk)))

    async def deliver(self, request_id: str, manifest: bytes, signature: str) -> None:
        """Send the hub's signed manifest; the station then marks the request delivered."""
        body = json.dumps(
            {"manifest": manifest.decode(), "signature": signature}, ensure_ascii=False
        ).encode()
        status, doc = await self._call("POST", manifest_path(request_id), body)
        self._check(status, doc)

    @staticmethod
    def _check(status: int, doc: dict[str, Any]) -> None:
        if status < 300:
            return
        error = str(doc.get("error") or f"HTTP {status}")
        # Unknown or denied request: nothing to retry.  A signature the station cannot check yet
        # (it has not stored this hub's registry with the key) may pass later.
        raise UploadRefused(
            f"station answered {status}: {error}", final=status in (404, 410) or "denied" in error
        )
