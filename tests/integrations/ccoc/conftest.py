"""CCOC console tests: a real Mosquitto with the station's password file and ACL."""

from integrations.federation.testing import federation_lab  # noqa: F401
