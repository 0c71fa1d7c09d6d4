"""Schemathesis against the app's own OpenAPI document: for every operation, generated input
that fits the schema and input that breaks it, signed in with every role; never a server error.

Schemathesis's own pytest plugin does not run under pytest 9, so each operation is driven here
through its Hypothesis strategy; the checks are Schemathesis's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.web.helpers import make_token


def app_settings(root: Path) -> Settings:
    return Settings(
        base_url="http://127.0.0.1:8000",
        data_dir=root / "data",
        keys_dir=root / "keys",
        database_url=f"sqlite:///{root / 'data' / 'issuer.db'}",
        verify_rate_limit=0,
        login_rate_limit=0,
    )


# Read at collection time, one test per operation; building the app touches no database.
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(app_settings(Path("/nonexistent"))).openapi()["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    root = tmp_path_factory.mktemp("openapi")
    configured = app_settings(root)
    KeyRing(configured.keys_dir).generate(None, dev=True)
    prepare_database(configured)
    # One account holding every role, so generated requests get past the role checks and
    # reach each route's own validation.
    token = make_token(
        configured, "all@example.org", "All Roles", ["coordinator", "supervisor", "learner"]
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(configured)), token


STATUSES: Counter[int] = Counter()


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_operation_answers_with_a_server_error(
    api: tuple[schemathesis.BaseSchema, str], method: str, path: str
) -> None:
    schema, token = api
    operation = schema[path][method]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(mode, headers={"authorization": f"Bearer {token}"}))
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call()
            STATUSES[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            no_server_error()
        except Unsatisfiable:
            # Only free-form strings and no body: no input can break this schema.
            assert mode is GenerationMode.NEGATIVE


def test_the_generated_requests_got_past_sign_in() -> None:
    """Guards the run above: it must not be a run of 401s (runs after it, in file order)."""
    assert sum(STATUSES.values()) > 500, STATUSES
    assert sum(n for status, n in STATUSES.items() if 200 <= status < 300) > 50
    assert STATUSES[401] < sum(STATUSES.values()) / 10, STATUSES
