"""CCOC console tests: a real Mosquitto with the station's password file and ACL, on SQLite and on PostgreSQL."""

from integrations.station.testing import federation_lab, station_backend, station_lab  # noqa: F401
