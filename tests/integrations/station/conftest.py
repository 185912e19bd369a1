"""Station tests: a real Mosquitto with the station's password file and ACL, on both database engines.

Every test that builds its station from ``federation_lab`` runs twice: on the
default SQLite file and on PostgreSQL (a fresh database on the session's
server, ``hub.testing_postgres``, a plugin of tests/conftest.py).  Without PostgreSQL installed the
``[postgresql]`` runs fail with a message naming the package, unless
``SAFETYHUB_TEST_POSTGRES=skip``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.testing_mqtt import MosquittoFactory
from hub.testing_postgres import PostgresServer, fresh_database, require
from integrations.federation.testing import FederationLab

#: The engines every station test runs on.
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def station_backend(request: pytest.FixtureRequest) -> str:
    """The station database engine this run of the test uses."""
    return str(request.param)


@pytest.fixture
def federation_lab(
    mosquitto_factory: MosquittoFactory,
    tmp_path: Path,
    station_backend: str,
    postgres_available: PostgresServer | str,
    request: pytest.FixtureRequest,
) -> Iterator[FederationLab]:
    """The federation lab, with its station blocks on ``station_backend``."""
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    if station_backend == "postgresql":
        lab.database = fresh_database(require(postgres_available), request)
    yield lab
