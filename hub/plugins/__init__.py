"""Finding, loading and calling plugins."""

from hub.plugins.host import PluginHost, PluginInfo
from hub.plugins.manifest import Manifest

__all__ = ("Manifest", "PluginHost", "PluginInfo")
