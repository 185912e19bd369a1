"""SafetyHub: a plugin-based hub for community safety (Smart Safety Zone 4.0)."""

from hub.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ("__version__", "hookimpl")
