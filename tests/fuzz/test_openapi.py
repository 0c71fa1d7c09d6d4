"""Schemathesis against the app's own OpenAPI document: for every operation, generated input
that fits the schema and input that breaks it, signed in with every role; never a server error,
and an answer within seconds. On SQLite and on PostgreSQL: issue 15's 500s (a title too long
for its column, a CSV name too long) happened on PostgreSQL only.

Schemathesis's own pytest plugin does not run under pytest 9, so each operation is driven here
through its Hypothesis strategy; the checks are Schemathesis's.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.conftest import postgres_database, prepare_database
from tests.web.helpers import make_token

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Longer than any answer may take: a slow answer is then measured and reported as such, not
# cut off while the app still holds its database, which would fail the next operation too.
REQUEST_TIMEOUT = 120.0
# Seconds: Schemathesis's own default timeout, which the run used to rely on. It caught, on
# SQLite, routes that answered only after the 30 s busy timeout: the key-ring version check
# behind their issuer dependency waited on the write lock of the request's own session.
SLOW = 10.0


def app_settings(root: Path) -> Settings:
    return Settings(
        base_url="http://127.0.0.1:8000",
        data_dir=root / "data",
        keys_dir=root / "keys",
        database_url=f"sqlite:///{root / 'data' / 'issuer.db'}",
        verify_rate_limit=0,
        login_rate_limit=0,
    )


@pytest.fixture(scope="module", params=DATABASES)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    """(backend, settings) of one database for the whole run, as `database_url` makes them in
    tests/conftest.py but module-wide: a SQLite file, or a new PostgreSQL database."""
    configured = app_settings(tmp_path_factory.mktemp(f"openapi-{request.param}"))
    if request.param == "sqlite":
        yield request.param, configured
        return
    admin = os.environ.get("ISSUER_TEST_POSTGRES_URL")
    if not admin:
        if os.environ.get("CI"):
            pytest.fail("ISSUER_TEST_POSTGRES_URL is required in CI (see .ci/postgres)")
        pytest.skip('no PostgreSQL: run `eval "$(.ci/postgres)"` to test against one')
    with postgres_database(admin) as url:
        yield request.param, replace(configured, database_url=url)


# Read at collection time, one test per operation; building the app touches no database.
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(app_settings(Path("/nonexistent"))).openapi()["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module")
def api(database: tuple[str, Settings]) -> Iterator[tuple[schemathesis.BaseSchema, str, str]]:
    """(schema, token, backend)."""
    backend, configured = database
    KeyRing(configured.keys_dir).generate(None, dev=True)
    prepare_database(configured)
    # One account holding every role, so generated requests get past the role checks and
    # reach each route's own validation.
    token = make_token(
        configured, "all@example.org", "All Roles", ["coordinator", "supervisor", "learner"]
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(configured)), token, backend


# Counted per database: each run must get past sign-in on its own.
STATUSES: dict[str, Counter[int]] = {"sqlite": Counter(), "postgres": Counter()}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_operation_answers_with_a_server_error(
    api: tuple[schemathesis.BaseSchema, str, str], method: str, path: str
) -> None:
    schema, token, backend = api
    operation = schema[path][method]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(mode, headers={"authorization": f"Bearer {token}"}))
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            # No shrinking: the first failing example is reported as found (derandomized, so
            # reproducible); shrinking a slow answer would cost hundreds of slow requests.
            phases=[Phase.explicit, Phase.generate],
        )
        def no_server_error(case: schemathesis.Case[Any]) -> None:
            response = case.call(timeout=REQUEST_TIMEOUT)
            STATUSES[backend][response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])
            assert response.elapsed < SLOW, f"{response.elapsed:.1f} s to answer {case!r}"

        try:
            no_server_error()
        except Unsatisfiable:
            # Only free-form strings and no body: no input can break this schema.
            assert mode is GenerationMode.NEGATIVE


def test_the_generated_requests_got_past_sign_in(database: tuple[str, Settings]) -> None:
    """Guards the run above on each database: it must not be a run of 401s (runs after it:
    it shares the module-wide `database` fixture, so pytest keeps it with that database's
    run, in file order)."""
    statuses = STATUSES[database[0]]
    assert sum(statuses.values()) > 500, statuses
    assert sum(n for status, n in statuses.items() if 200 <= status < 300) > 50
    assert statuses[401] < sum(statuses.values()) / 10, statuses
