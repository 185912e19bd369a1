"""The service registry: ``domain.service`` handlers with schemas."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from hub.core.bus import EventBus
from hub.core.context import Context
from hub.core.errors import ServiceError, ServiceNotFound, ServiceValidationError

__all__ = ("Service", "ServiceCall", "ServiceHandler", "ServiceRegistry", "ROLES")

_LOGGER = logging.getLogger(__name__)

#: Roles in increasing order of power.  ``supervisor`` is the station (CCOC) shift lead:
#: everything an operator does, plus the audit log of camera views.
ROLES = ("viewer", "operator", "supervisor", "admin")

ServiceHandler = Callable[["ServiceCall"], Awaitable[Any] | Any]


@dataclass(slots=True)
class ServiceCall:
    """One call of a service."""

    domain: str
    service: str
    data: dict[str, Any]
    context: Context
    #: The validated schema instance, when the service has a schema.
    model: Any = None
    #: Idempotency key: the same key means the same call repeated (an automation run re-run
    #: after a crash, an API client retrying).  Services that create things honour it.
    key: str | None = None


@dataclass(slots=True)
class Service:
    """A registered service."""

    domain: str
    name: str
    handler: ServiceHandler
    schema: type[pydantic.BaseModel] | None = None
    description: str = ""
    #: Least role allowed to call this service through the API.
    role: str = "operator"
    is_coro: bool = field(default=False)

    def describe(self) -> dict[str, Any]:
        """Return a description for the API and UI."""
        return {
            "domain": self.domain,
            "service": self.name,
            "description": self.description,
            "role": self.role,
            "fields": self.schema.model_json_schema() if self.schema is not None else {},
        }


def _merge_target(data: Mapping[str, Any]) -> dict[str, Any]:
    """Fold HA's ``target:`` into the data, as HA does for entity services."""
    out = dict(data)
    target = out.get("target")
    # notify.* services take HA's ``target`` as a list of recipients: only a mapping is folded.
    if isinstance(target, Mapping):
        del out["target"]
        for key, value in target.items():
            if key in out and isinstance(out[key], list) and isinstance(value, list):
                out[key] = [*out[key], *value]
            else:
                out.setdefault(key, value)
    return out


class ServiceRegistry:
    """Holds every service; a handler that raises is logged and isolated."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._services: dict[str, dict[str, Service]] = {}

    def register(
        self,
        domain: str,
        service: str,
        handler: ServiceHandler,
        schema: type[pydantic.BaseModel] | None = None,
        *,
        description: str = "",
        role: str = "operator",
    ) -> None:
        """Register ``domain.service``; a second registration replaces the first."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        is_coro = asyncio.iscoroutinefunction(handler)
        self._services.setdefault(domain, {})[service] = Service(
            domain, service, handler, schema, description, role, is_coro
        )
        self._bus.fire("service_registered", {"domain": domain, "service": service})

    def remove(self, domain: str, service: str) -> None:
        """Remove a service if registered."""
        self._services.get(domain, {}).pop(service, None)

    def has(self, domain: str, service: str) -> bool:
        """Return whether ``domain.service`` exists."""
        return service in self._services.get(domain, {})

    def get(self, domain: str, service: str) -> Service:
        """Return the service or raise ServiceNotFound."""
        try:
            return self._services[domain][service]
        except KeyError:
            raise ServiceNotFound(domain, service) from None

    def services(self) -> dict[str, dict[str, Service]]:
        """Return all services by domain."""
        return {domain: dict(svcs) for domain, svcs in self._services.items()}

    def validate(self, domain: str, service: str, data: Mapping[str, Any] | None) -> ServiceCall:
        """Return a validated (not yet executed) call, raising on bad data."""
        svc = self.get(domain, service)
        merged = _merge_target(data or {})
        model = None
        if svc.schema is not None:
            try:
                model = svc.schema.model_validate(merged)
            except pydantic.ValidationError as err:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in err.errors()
                )
                raise ServiceValidationError(f"{domain}.{service}: {problems}") from None
            merged = model.model_dump()
        return ServiceCall(domain, service, merged, Context(), model)

    async def call(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
        key: str | None = None,
    ) -> Any:
        """Validate and run a service; return its response.

        ``key`` is passed on as :attr:`ServiceCall.key` (idempotency).

        Raises ServiceNotFound, ServiceValidationError, or ServiceError wrapping
        whatever the handler raised (after logging it).
        """
        call = self.validate(domain, service, data)
        if context is not None:
            call.context = context
        call.key = key
        svc = self._services[domain][service]
        try:
            result = svc.handler(call)
            if svc.is_coro or asyncio.iscoroutine(result):
                result = await result
        except (ServiceValidationError, ServiceNotFound):
            raise
        except asyncio.CancelledError:
            raise
        except Exception as err:
            _LOGGER.exception("Error in service %s.%s", domain, service)
            raise ServiceError(f"{domain}.{service} failed: {err}") from err
        return result
