"""What the hub and the station say to each other about a footage request (both sides import this).

Three channels, each for what it is good at:

* **federation** (durable, ordered, through the outbox): the request goes
  down as the ``footage.request`` command; the hub's first answer is its
  ``command_result``; every later change (owner approved, denied, failed) goes
  up as a ``footage_status`` event;
* **HTTP, dialled out by the hub** to the station's web endpoint (the hub
  opens no port): the clip bytes, uploaded in chunks at offsets the station
  confirms, then the hub's signed manifest, which makes the request
  *delivered*;
* **the hub's Ed25519 key** authenticates every upload request: the station
  knows the key from the hub's federation registry, so no secret travels in
  a federation payload or sits in a config file.  Every upload step is
  idempotent (a chunk at an offset already written is refused with the
  current offset; a finished clip is finished), so a replayed request can
  change nothing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = (
    "STATES",
    "FootageRequestData",
    "ItemDeclaration",
    "HEADER_HUB",
    "HEADER_SIGNATURE",
    "HEADER_OFFSET",
    "item_id_for",
    "item_path",
    "manifest_path",
    "signing_text",
    "MAX_CHUNK",
    "ITEM_ID_RE",
)

#: Request states as the station reports them (DESIGN §12).
STATES: Final = ("pending", "approved", "denied", "delivered", "failed")
State = Literal["pending", "approved", "denied", "delivered", "failed"]

HEADER_HUB: Final = "X-SafetyHub-Hub"
HEADER_SIGNATURE: Final = "X-SafetyHub-Signature"
HEADER_OFFSET: Final = "Upload-Offset"
#: Largest chunk the station accepts in one request (the hub sends smaller ones).
MAX_CHUNK: Final = 16 * 1024 * 1024
ITEM_ID_RE: Final = re.compile(r"^[a-f0-9]{24}$")
_ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ENTITY = r"^camera\.[a-z0-9_]{1,64}$"
#: 2100-01-01: no window reaches past it (and datetime cannot show much later ones).
_LATEST = 4_102_444_800


class FootageRequestData(BaseModel):
    """The ``data`` of a ``footage.request`` command (the station's request as the hub gets it)."""

    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(pattern=_ULID)
    cameras: list[str] = Field(min_length=1, max_length=16)
    start: float = Field(ge=0, le=_LATEST)
    end: float = Field(ge=0, le=_LATEST)
    reason: str = Field(min_length=1, max_length=500)
    case_number: str = Field(min_length=1, max_length=100)
    #: Where the hub uploads: the station's web endpoint (its ``public_url``).
    upload_url: str = Field(min_length=8, max_length=500)
    requested_at: float = Field(ge=0, le=_LATEST)

    @field_validator("cameras")
    @classmethod
    def _cameras(cls, value: list[str]) -> list[str]:
        for entity_id in value:
            if not re.match(_ENTITY, entity_id):
                raise ValueError(f"{entity_id!r} is not a camera entity id (camera.<name>)")
        return list(dict.fromkeys(value))

    @field_validator("upload_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("upload_url must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _window(self) -> FootageRequestData:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ItemDeclaration(BaseModel):
    """What the hub declares about a clip before sending its bytes (PUT)."""

    model_config = ConfigDict(extra="forbid")
    camera: str = Field(pattern=_ENTITY)
    start: float = Field(ge=0, le=_LATEST)
    end: float = Field(ge=0, le=_LATEST)
    size: int = Field(ge=0, le=64 * 1024**3)
    sha256: str = Field(pattern=r"^[a-f0-9]{64}$")


def item_id_for(request_id: str, camera: str, start: float, end: float) -> str:
    """Return the id of a camera's clip for a request: the same after any restart of either side."""
    return hashlib.sha256(f"{request_id}|{camera}|{start:.3f}|{end:.3f}".encode()).hexdigest()[:24]


def item_path(request_id: str, item_id: str) -> str:
    """Return the station path of one clip's upload."""
    return f"/api/station/footage/{request_id}/items/{item_id}"


def manifest_path(request_id: str) -> str:
    """Return the station path where the hub delivers its signed manifest."""
    return f"/api/station/footage/{request_id}/manifest"


def signing_text(method: str, path: str, offset: str, body: bytes) -> bytes:
    """Return what the hub signs for one upload request: method, path, offset and the body's hash."""
    return (
        f"safetyhub-upload/1\n{method.upper()}\n{path}\n{offset}\n{hashlib.sha256(body).hexdigest()}".encode()
    )
