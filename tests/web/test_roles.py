"""Every route, every role, and no sign-in at all: who is let in and who is not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.web.helpers import bearer, make_token

PUBLIC = "public"
ANY_USER = "signed in"
OAUTH = "an OpenID4VCI access token"  # no account token opens it
OB_TOKEN = "an Open Badges API access token"  # nor these
OB_CLIENT = "an Open Badges API client's credentials (HTTP Basic)"
# path template -> who may use it. A new route without an entry fails the test below.
ACCESS = {
    ("GET", "/"): PUBLIC,
    ("GET", "/achievements/{soc}/{level}"): PUBLIC,
    ("GET", "/achievements/{soc}/{level}/image.svg"): PUBLIC,
    ("GET", "/credentials/{credential_id}"): PUBLIC,
    ("GET", "/issuer"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/endorsements/{endorsement_id}"): PUBLIC,
    ("GET", "/render/{key}/certificate.svg"): PUBLIC,
    ("GET", "/status/{list_id}"): PUBLIC,
    ("GET", "/verify"): PUBLIC,
    ("POST", "/verify"): PUBLIC,
    ("POST", "/credentials/verify"): PUBLIC,
    ("POST", "/presentations/verify"): PUBLIC,
    ("GET", "/.well-known/did.json"): PUBLIC,
    ("GET", "/{path}/did.json"): PUBLIC,
    ("POST", "/api/login"): PUBLIC,
    ("POST", "/api/logout"): ANY_USER,
    ("GET", "/api/whoami"): ANY_USER,
    ("POST", "/api/frameworks"): "coordinator",
    ("GET", "/api/frameworks"): "coordinator",
    ("POST", "/api/users"): "coordinator",
    ("POST", "/api/users/{user_id}/roles"): "coordinator",
    ("GET", "/api/users"): "coordinator",
    ("GET", "/api/users/{user_id}"): "coordinator",
    ("PATCH", "/api/users/{user_id}"): "coordinator",
    ("POST", "/api/users/{user_id}/deactivate"): "coordinator",
    ("POST", "/api/users/{user_id}/reactivate"): "coordinator",
    ("DELETE", "/api/users/{user_id}/roles/{role}"): "coordinator",
    ("POST", "/api/users/{user_id}/invitation"): "coordinator",
    # The pages of the links we e-mail: the token in the URL is the key.
    ("GET", "/invitations/{token}"): PUBLIC,
    ("POST", "/invitations/{token}"): PUBLIC,
    ("GET", "/account/reset"): PUBLIC,
    ("POST", "/account/reset"): PUBLIC,
    ("GET", "/account/reset/{token}"): PUBLIC,
    ("POST", "/account/reset/{token}"): PUBLIC,
    ("POST", "/account/sign-in-link"): PUBLIC,
    ("GET", "/account/sign-in/{token}"): PUBLIC,
    ("POST", "/account/sign-in/{token}"): PUBLIC,
    ("GET", "/account/email/{token}"): PUBLIC,
    ("POST", "/account/email/{token}"): PUBLIC,
    ("POST", "/api/assignments"): "coordinator",
    ("POST", "/api/enrolments"): "coordinator",
    ("POST", "/api/records/imports"): "coordinator",
    ("GET", "/api/records/imports/{job_id}"): "coordinator",
    ("POST", "/api/credentials/{credential_id}/resend"): "coordinator",
    ("GET", "/claim/{token}"): PUBLIC,
    ("POST", "/claim/{token}"): PUBLIC,
    ("GET", "/api/learners/{learner_id}/progress"): "coordinator",
    ("GET", "/api/credentials"): "coordinator",
    ("GET", "/api/credentials/expiring"): "coordinator",
    ("GET", "/api/me/expiring"): "learner",
    ("POST", "/api/credentials/{credential_id}/revoke"): "coordinator",
    ("POST", "/api/credentials/{credential_id}/suspend"): "coordinator",
    ("POST", "/api/credentials/{credential_id}/unsuspend"): "coordinator",
    ("GET", "/api/audit"): "coordinator",
    ("GET", "/api/mail/dead-letters"): "coordinator",
    ("POST", "/api/mail/dead-letters/{message_id}/retry"): "coordinator",
    ("POST", "/credentials/issue"): "coordinator",
    ("GET", "/api/supervisor/learners"): "supervisor",
    ("GET", "/api/supervisor/learners/{learner_id}/progress"): "supervisor",
    ("POST", "/api/supervisor/learners/{learner_id}/confirmations"): "supervisor",
    (
        "DELETE",
        "/api/supervisor/learners/{learner_id}/confirmations/{soc}/{level}/{statement}",
    ): "supervisor",
    ("POST", "/api/supervisor/learners/{learner_id}/attestations"): "supervisor",
    ("GET", "/api/me/progress"): "learner",
    ("GET", "/api/me/credentials"): "learner",
    ("POST", "/api/me/credentials/{credential_id}/visibility"): "learner",
    ("POST", "/api/me/credentials/{credential_id}/exchanges"): "learner",
    ("POST", "/api/me/credentials/{credential_id}/openid-offer"): "learner",
    ("GET", "/interactions/{exchange_id}"): PUBLIC,
    ("POST", "/exchanges/{exchange_id}"): PUBLIC,
    ("POST", "/exchanges/{exchange_id}/legacy"): PUBLIC,
    ("GET", "/oid4vci/offers/{exchange_id}"): PUBLIC,
    ("GET", "/.well-known/openid-credential-issuer"): PUBLIC,
    ("GET", "/.well-known/oauth-authorization-server"): PUBLIC,
    ("POST", "/oid4vci/token"): PUBLIC,
    ("POST", "/oid4vci/nonce"): PUBLIC,
    ("POST", "/oid4vci/credential"): OAUTH,
    ("GET", "/credentials/{credential_id}/credential.json"): PUBLIC,
    ("GET", "/credentials/{credential_id}/badge.png"): PUBLIC,
    ("GET", "/credentials/{credential_id}/badge.svg"): PUBLIC,
    ("GET", "/credentials/{credential_id}/credential.jwt"): PUBLIC,
    ("GET", "/credentials/{credential_id}/certificate.pdf"): PUBLIC,
    ("GET", "/credentials/{credential_id}/preview.png"): PUBLIC,
    # The Open Badges API (OB 3.0 §6-7): discovery and registration open to all, the resource
    # endpoints to its own access tokens, the token and revocation endpoints to its clients.
    ("GET", "/ims/ob/v3p0/discovery"): PUBLIC,
    ("POST", "/ims/ob/v3p0/oauth/register"): PUBLIC,
    ("POST", "/ims/ob/v3p0/oauth/token"): OB_CLIENT,
    ("POST", "/ims/ob/v3p0/oauth/revoke"): OB_CLIENT,
    ("GET", "/ims/ob/v3p0/credentials"): OB_TOKEN,
    ("POST", "/ims/ob/v3p0/credentials"): OB_TOKEN,
    ("GET", "/ims/ob/v3p0/profile"): OB_TOKEN,
    ("PUT", "/ims/ob/v3p0/profile"): OB_TOKEN,
    ("GET", "/api/ob/clients"): "coordinator",
    ("POST", "/api/ob/clients/{client_id}/revoke"): "coordinator",
}
PAGES = {
    ("GET", "/coordinator"): "coordinator",
    ("GET", "/coordinator/frameworks"): "coordinator",
    ("POST", "/coordinator/frameworks"): "coordinator",
    ("POST", "/coordinator/people"): "coordinator",
    ("POST", "/coordinator/people/roles"): "coordinator",
    ("GET", "/coordinator/people"): "coordinator",
    ("GET", "/coordinator/people/{user_id}"): "coordinator",
    ("POST", "/coordinator/people/{user_id}"): "coordinator",
    ("POST", "/coordinator/people/{user_id}/roles"): "coordinator",
    ("POST", "/coordinator/people/{user_id}/roles/remove"): "coordinator",
    ("POST", "/coordinator/people/{user_id}/deactivate"): "coordinator",
    ("POST", "/coordinator/people/{user_id}/reactivate"): "coordinator",
    ("POST", "/coordinator/people/{user_id}/invitation"): "coordinator",
    ("POST", "/coordinator/assignments"): "coordinator",
    ("GET", "/coordinator/enrolment"): "coordinator",
    ("GET", "/coordinator/enrolment/sample.csv"): "coordinator",
    ("POST", "/coordinator/enrolment"): "coordinator",
    ("GET", "/coordinator/imports"): "coordinator",
    ("GET", "/coordinator/imports/sample.csv"): "coordinator",
    ("POST", "/coordinator/imports"): "coordinator",
    ("GET", "/coordinator/imports/{job_id}"): "coordinator",
    ("GET", "/coordinator/imports/{job_id}/progress"): "coordinator",
    ("GET", "/coordinator/learners/{learner_id}"): "coordinator",
    ("GET", "/coordinator/credentials"): "coordinator",
    ("GET", "/coordinator/credentials/{credential_id}/revoke"): "coordinator",
    ("POST", "/coordinator/credentials/{credential_id}/revoke"): "coordinator",
    ("GET", "/coordinator/credentials/{credential_id}/suspend"): "coordinator",
    ("POST", "/coordinator/credentials/{credential_id}/suspend"): "coordinator",
    ("POST", "/coordinator/credentials/{credential_id}/unsuspend"): "coordinator",
    ("POST", "/coordinator/credentials/{credential_id}/resend"): "coordinator",
    ("GET", "/coordinator/audit"): "coordinator",
    ("GET", "/coordinator/mail"): "coordinator",
    ("POST", "/coordinator/mail/{message_id}/retry"): "coordinator",
    ("GET", "/supervisor"): "supervisor",
    ("GET", "/supervisor/learners/{learner_id}/{soc}/{level}"): "supervisor",
    ("POST", "/supervisor/learners/{learner_id}/{soc}/{level}/confirm"): "supervisor",
    ("POST", "/supervisor/learners/{learner_id}/{soc}/{level}/withdraw"): "supervisor",
    ("POST", "/supervisor/learners/{learner_id}/{soc}/{level}/attest"): "supervisor",
    ("GET", "/learner"): "learner",
    # The owner's buttons on their credential page.
    ("POST", "/credentials/{credential_id}/visibility"): "learner",
    ("POST", "/credentials/{credential_id}/wallet"): "learner",
    ("POST", "/credentials/{credential_id}/openid-offer"): "learner",
    # The learner's consent to an Open Badges API client, and their backpacks.
    ("GET", "/ims/ob/v3p0/oauth/authorize"): "learner",
    ("POST", "/ims/ob/v3p0/oauth/authorize"): "learner",
    ("GET", "/learner/backpacks"): "learner",
    ("POST", "/learner/backpacks/send"): "learner",
    ("GET", "/learner/backpacks/callback"): "learner",
    ("POST", "/learner/backpacks/apps/{client_id}/disconnect"): "learner",
    ("GET", "/account/password"): ANY_USER,
    ("POST", "/account/password"): ANY_USER,
}
# Pages for browsers: without a session they redirect to /login; with one, roles apply.
ACCESS.update(
    {("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): ANY_USER}
)
ROLES = ("coordinator", "supervisor", "learner")
SAMPLE = {
    "soc": "29-2034.00",
    "list_id": "1",
    "exchange_id": "no-such-exchange",
    "token": "no-such-token",
    "level": "proficient",
    "statement": "1",
    "learner_id": "1",
    # Nobody's: a coordinator let in must not deactivate (or strip) a person the matrix signs
    # in as later; a missing person is a 404, which is neither 401 nor 403.
    "user_id": "999999",
    "role": "learner",
    "message_id": "1",
    "credential_id": "00000000-0000-0000-0000-000000000000",
    "path": "issuers/x",
    "client_id": "obc_nobody",
    "endorsement_id": "no-such-endorsement",
    "key": "no-such-template",
    "job_id": "999999",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    directory = tmp_path_factory.mktemp("roles")
    settings = Settings(
        data_dir=directory,
        keys_dir=directory / "keys",
        database_url=f"sqlite:///{directory / 'r.db'}",
        login_rate_limit=0,  # the matrix signs in a dozen times a minute
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    tokens = {
        role: make_token(settings, f"{role}@example.org", role.title(), [role]) for role in ROLES
    }
    with TestClient(create_app(settings)) as client:
        yield client, tokens


def routes(client: TestClient) -> list[tuple[str, str]]:
    """Every route of the app, from its own OpenAPI document (every route is documented)."""
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path) for path, operations in paths.items() for method in operations
    )


def test_every_route_is_in_the_matrix(setup: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = setup
    assert set(routes(client)) == set(ACCESS) | set(PAGES)


@pytest.mark.parametrize("who", [None, *ROLES])
def test_page_matrix(setup: tuple[TestClient, dict[str, str]], who: str | None) -> None:
    """Pages authenticate by the session cookie; bearer tokens do not open them."""
    client, _ = setup
    sessions = _sessions(client)
    for (method, path), allowed in PAGES.items():
        client.cookies.clear()
        headers = {}
        if who:
            client.cookies.set("issuer_session", sessions[who][0])
            headers = {"x-csrf-token": sessions[who][1]}
        status = call(client, method, path, headers, follow=False)
        if who is None:
            assert status == 303, (who, method, path, status)
        elif allowed in (ANY_USER, who):
            assert status not in (401, 403), (who, method, path, status)
        else:
            assert status == 403, (who, method, path, status)
    client.cookies.clear()


def _sessions(client: TestClient) -> dict[str, tuple[str, str]]:
    found = {}
    for role in ROLES:
        response = client.post(
            "/api/login", json={"email": f"{role}@example.org", "password": "correct horse battery"}
        )
        found[role] = (response.cookies["issuer_session"], response.json()["csrf_token"])
    client.cookies.clear()
    return found


def call(
    client: TestClient, method: str, path: str, headers: dict[str, str], follow: bool = True
) -> int:
    url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    query = {"soc": "29-2034.00"}
    return client.request(
        method,
        url,
        params=query,
        headers={"accept": "application/json", **headers},
        json={},
        follow_redirects=follow,
    ).status_code


@pytest.mark.parametrize("who", [None, *ROLES])
def test_role_matrix(setup: tuple[TestClient, dict[str, str]], who: str | None) -> None:
    client, tokens = setup
    headers = bearer(tokens[who]) if who else {}
    for (method, path), allowed in ACCESS.items():
        status = call(client, method, path, headers)
        if allowed in (OAUTH, OB_TOKEN):
            assert status == 401, (who, method, path, status)
        elif allowed == OB_CLIENT:  # a grant type or a client first: 400 or 401, never in
            assert status in (400, 401), (who, method, path, status)
        elif allowed == PUBLIC or (allowed == ANY_USER and who) or allowed == who:
            assert status not in (401, 403), (who, method, path, status)
        elif who is None:
            assert status == 401, (who, method, path, status)
        else:
            assert status == 403, (who, method, path, status)
