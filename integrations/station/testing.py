"""Test kit for the station: every test that builds its station from ``federation_lab`` runs on both engines.

Import both fixtures into a ``conftest.py`` (the station's and the CCOC
console's tests do)::

    from integrations.station.testing import federation_lab, station_backend, station_lab  # noqa: F401

``federation_lab`` is :mod:`integrations.federation.testing`'s, parametrised:
its station blocks use the default SQLite file, then a fresh PostgreSQL
database on the session's server (:mod:`hub.testing_postgres`, a plugin of
the project's ``tests/conftest.py``).  Without PostgreSQL the
``[postgresql]`` runs fail naming the package, unless
``SAFETYHUB_TEST_POSTGRES=skip``.  ``station_lab`` makes the same lab with
other options (``station_lab(hubs={...})``), on the same engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.testing_postgres import PostgresServer, fresh_database, require
from integrations.federation.testing import FederationLab
from integrations.mqtt.testing import MosquittoFactory

__all__ = ("BACKENDS", "federation_lab", "station_backend", "station_lab")

#: The engines every station test runs on.
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def station_backend(request: pytest.FixtureRequest) -> str:
    """The station database engine this run of the test uses."""
    return str(request.param)


@pytest.fixture
def station_lab(
    mosquitto_factory: MosquittoFactory,
    tmp_path: Path,
    station_backend: str,
    postgres_available: PostgresServer | str,
    request: pytest.FixtureRequest,
) -> Callable[..., FederationLab]:
    """Make the federation lab (``FederationLab``'s options), its station blocks on ``station_backend``."""

    def make(**options: Any) -> FederationLab:
        lab = FederationLab(tmp_path / "lab", mosquitto_factory, **options)
        if station_backend == "postgresql":
            lab.database = fresh_database(require(postgres_available), request)
        return lab

    return make


@pytest.fixture
def federation_lab(station_lab: Callable[..., FederationLab]) -> FederationLab:
    """The federation lab, with its station blocks on ``station_backend``."""
    return station_lab()
