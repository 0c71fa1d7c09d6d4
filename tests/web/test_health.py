"""GET /health tells a load balancer whether to send this instance traffic."""

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.cli import app as cli


def test_ok_once_the_database_answers_and_a_signing_key_exists(
    client: TestClient, runner: CliRunner
) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "no signing key"})
    generated = runner.invoke(cli, ["keys", "generate", "--dev"])
    assert "key ring version 1" in generated.output  # the running app is told, and loads it
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["cache-control"] == "no-store"


def test_how_fresh_the_keys_must_be_is_no_parameter_of_the_api(client: TestClient) -> None:
    """The dependencies that give routes the issuer take a freshness argument internally;
    once it leaked into the OpenAPI as a query parameter any client could set."""
    for path in client.get("/openapi.json").json()["paths"].values():
        for operation in path.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "max_age" not in names
