"""Region tests: a real Mosquitto with the region's station accounts and ACL."""

from integrations.region.testing import region_lab  # noqa: F401
