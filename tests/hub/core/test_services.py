"""The service registry: schemas, targets, isolation."""

import asyncio

import pytest
from pydantic import BaseModel

from hub.core.bus import EventBus
from hub.core.errors import ServiceError, ServiceNotFound, ServiceValidationError
from hub.core.services import ServiceRegistry


class Flash(BaseModel):
    entity_id: str | list[str]
    seconds: int = 10


@pytest.fixture
async def services() -> ServiceRegistry:
    return ServiceRegistry(EventBus(asyncio.get_running_loop()))


async def test_call_validates_and_returns(services: ServiceRegistry) -> None:
    calls = []

    async def handler(call):
        calls.append(call)
        return {"ok": call.data["seconds"]}

    services.register("light", "flash", handler, Flash)
    result = await services.call("light", "flash", {"target": {"entity_id": ["light.a"]}, "seconds": "5"})
    assert result == {"ok": 5}
    assert calls[0].data["entity_id"] == ["light.a"]
    assert isinstance(calls[0].model, Flash)


async def test_bad_data_is_a_validation_error(services: ServiceRegistry) -> None:
    services.register("light", "flash", lambda call: None, Flash)
    with pytest.raises(ServiceValidationError, match="seconds"):
        await services.call("light", "flash", {"entity_id": "light.a", "seconds": "soon"})


async def test_unknown_service(services: ServiceRegistry) -> None:
    with pytest.raises(ServiceNotFound):
        await services.call("nope", "nothing")


async def test_failing_handler_is_wrapped_and_isolated(services: ServiceRegistry) -> None:
    def broken(call):
        raise KeyError("device gone")

    services.register("x", "broken", broken)
    services.register("x", "fine", lambda call: "ok")
    with pytest.raises(ServiceError, match="device gone"):
        await services.call("x", "broken")
    assert await services.call("x", "fine") == "ok"


async def test_sync_handler_and_describe(services: ServiceRegistry) -> None:
    services.register("x", "y", lambda call: 42, Flash, description="d", role="admin")
    assert await services.call("x", "y", {"entity_id": "a.b"}) == 42
    desc = services.get("x", "y").describe()
    assert desc["role"] == "admin" and "seconds" in desc["fields"]["properties"]
    with pytest.raises(ValueError):
        services.register("x", "z", lambda c: 1, role="root")
