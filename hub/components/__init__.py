"""The core components: parts of the hub that speak the plugin hooks, one folder each.

``incident``, ``automation``, ``helpers`` (``input_*``, ``timer``, ``counter``) and ``zone``,
each ``hub/components/<domain>/`` with its ``manifest.json``, registered by
:func:`hub.bootstrap.load` before any integration (``CORE_PLUGINS``).
"""
