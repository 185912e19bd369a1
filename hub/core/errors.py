"""The hub's exception hierarchy."""

from __future__ import annotations

__all__ = (
    "HubError",
    "PluginSetupError",
    "PluginNotReady",
    "ServiceNotFound",
    "ServiceValidationError",
    "ServiceError",
    "Unauthorized",
)


class HubError(Exception):
    """Base class for errors raised by the hub."""


class PluginSetupError(HubError):
    """A plugin could not be set up; the message is shown to the admin."""


class PluginNotReady(HubError):
    """A plugin's device or service is not reachable yet; setup is retried."""


class ServiceNotFound(HubError):
    """No service is registered under that domain and name."""

    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"service {domain}.{service} not found")
        self.domain = domain
        self.service = service


class ServiceValidationError(HubError):
    """The data given to a service does not match its schema."""


class ServiceError(HubError):
    """A service handler failed; the original exception is the cause."""


class Unauthorized(HubError):
    """The caller may not do this."""
