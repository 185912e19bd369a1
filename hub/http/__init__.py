"""The web server: REST API, live stream and server-rendered pages."""

from hub.http.routes import Route, json_error

__all__ = ("Route", "json_error")
