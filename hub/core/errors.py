"""The hub's exception hierarchy."""

from __future__ import annotations

__all__ = (
    "HubError",
    "Refused",
    "PluginSetupError",
    "StartupError",
    "PluginNotReady",
    "ServiceNotFound",
    "ServiceValidationError",
    "ServiceError",
    "Unauthorized",
)


class HubError(Exception):
    """Base class for errors raised by the hub."""


class Refused(HubError):
    """The caller asked for something the hub will not do: a client's mistake, not a failure.

    An unknown entity or incident, data a service cannot use, an empty request.  Services
    raise it as is (the registry neither wraps nor logs it as a crash), the web layer
    answers ``status`` (a 4xx) with the message, and an automation's trace shows the
    message.  Anything else a handler raises is a bug or an outage: wrapped in
    :class:`ServiceError`, logged with its traceback, a 500.
    """

    #: The HTTP status the web layer answers with.
    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class StartupError(HubError):
    """The hub cannot start (its port is taken, its database cannot be opened).

    The message is one line for the person starting it (``port 8123 is already in
    use``); the library's error is the cause.  By the time it is raised, everything
    that had started is stopped again and queued writes are on disk.
    """


class PluginSetupError(HubError):
    """A plugin could not be set up; the message is shown to the admin."""


class PluginNotReady(HubError):
    """A plugin's device or service is not reachable yet; setup is retried."""


class ServiceNotFound(Refused):
    """No service is registered under that domain and name."""

    status = 404

    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"service {domain}.{service} not found")
        self.domain = domain
        self.service = service


class ServiceValidationError(Refused):
    """The data given to a service does not match its schema."""


class ServiceError(HubError):
    """A service handler failed; the original exception is the cause."""


class Unauthorized(Refused):
    """The caller may not do this."""

    status = 403
