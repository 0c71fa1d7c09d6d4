from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app
from tests.web.helpers import World, build_world


@pytest.fixture
def world(db_settings: Settings) -> Iterator[World]:
    """Coordinator, supervisor and learner (assigned) on each database backend."""
    with TestClient(create_app(db_settings)) as client:
        yield build_world(client, db_settings)
