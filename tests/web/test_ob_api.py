"""Our Open Badges API 3.0 as a backpack meets it: the app served by uvicorn on loopback, a
learner signed in with a browser-like client, and Authlib's OAuth client doing what a backpack
does (registration, consent, token, read, upsert, refresh, revoke), on each database.

Every response of the API is checked, as it arrives (an httpx response hook on every client
these tests use), against the operation it answers in the specification's own OpenAPI file
(its status, media type, headers and schema) and, for the bodies they describe, the OB 3.0
JSON Schemas; the OAuth endpoints' answers against RFC 6749 and RFC 7591. The bundled files
are byte-identical to the specification's (checked by SHA-256 here and in tests/schemas).
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, Draft201909Validator
from sqlalchemy import func, select, update

from issuer.config import Settings
from issuer.dids import did_key
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.identity import IssuerIdentity, sign_credential
from issuer.services.obapi import scopes
from issuer.services.obapi.discovery import OPENAPI
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import ObAuthorizationCode, ObClient, ObToken
from issuer.web.app import create_app
from tests.conftest import ROOT
from tests.web.helpers import World, bearer, build_world, free_port

API = "/ims/ob/v3p0"
REDIRECT = "https://backpack.example/callback"
EVERY_SCOPE = " ".join([*scopes.DESCRIPTIONS, scopes.OFFLINE_ACCESS])
SPEC_OPENAPI_SHA256 = "850d2addb584b19d1fe0dbfd839c85d0976734f2c3123245e0e84af4ecc50825"
ELSEWHERE = SigningKey.from_seed(bytes(range(1, 33)))  # another issuer's key


SPEC = json.loads(OPENAPI.read_text(encoding="utf-8"))
COMPONENTS = SPEC["components"]
# The OB 3.0 JSON Schema of each OpenAPI component that has one.
JSON_SCHEMAS = {
    "AchievementCredential": "achievementcredential.json",
    "GetOpenBadgeCredentialsResponse": "getopenbadgecredentialsresponse.json",
    "Profile": "profile.json",
    "Imsx_StatusInfo": "imsx_statusinfo.json",
}
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "invalid_redirect_uri",
    "invalid_client_metadata",
}


def valid(schema_file: str, document: Any) -> None:
    """`document` against a bundled OB 3.0 JSON Schema (draft 2019-09)."""
    schema = json.loads((ROOT / "issuer" / "schemas" / schema_file).read_text(encoding="utf-8"))
    errors = [error.message for error in Draft201909Validator(schema).iter_errors(document)]
    assert errors == [], (schema_file, errors[:3])


def conforms(component: str, document: Any) -> None:
    """`document` against a component schema of the specification's OpenAPI file."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": COMPONENTS}
    errors = [error.message for error in Draft7Validator(schema).iter_errors(document)]
    assert errors == [], (component, errors[:3])


class Checked:
    """Counts the API responses checked, so a test cannot pass by checking none."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, response: httpx.Response) -> None:
        path = urlsplit(str(response.request.url)).path
        if not path.startswith(API + "/"):
            return
        response.read()
        name = path.removeprefix(API)
        if name.startswith("/oauth/") and name != "/oauth/authorize":
            oauth_answer(name, response)
        elif name in SPEC["paths"]:
            against_openapi(name, response)
        else:
            return
        self.count += 1


def against_openapi(name: str, response: httpx.Response) -> None:
    """The response as the OpenAPI file declares it for its operation and status."""
    operation = SPEC["paths"][name].get(response.request.method.lower())
    if operation is None:  # a method the API does not have
        assert response.status_code == 405, response.text
        against_schema(
            "Imsx_StatusInfo", {"$ref": "#/components/schemas/Imsx_StatusInfo"}, response
        )
        return
    declared = operation["responses"].get(str(response.status_code))
    declared = declared or operation["responses"]["default"]
    for header, spec in declared.get("headers", {}).items():
        spec = COMPONENTS["headers"][spec["$ref"].rsplit("/", 1)[-1]] if "$ref" in spec else spec
        assert spec["schema"]["type"] == "integer"
        assert response.headers[header].isdigit(), (header, response.headers.get(header))
    content = declared.get("content")
    if not content:
        assert not response.content
        return
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in content, (name, response.status_code, media_type)
    schema = content[media_type]["schema"]
    against_schema(operation["operationId"], schema, response)


def against_schema(operation: str, schema: dict[str, Any], response: httpx.Response) -> None:
    body = response.json() if "json" in response.headers["content-type"] else response.text
    checker = Draft7Validator({**schema, "components": COMPONENTS})
    errors = [error.message for error in checker.iter_errors(body)]
    assert errors == [], (operation, response.status_code, errors[:3])
    component = schema.get("$ref", "").rsplit("/", 1)[-1]
    if component in JSON_SCHEMAS:
        valid(JSON_SCHEMAS[component], body)


def oauth_answer(name: str, response: httpx.Response) -> None:
    """RFC 6749 §5.1–5.2, RFC 7009 §2.2 and RFC 7591 §3.2 answers."""
    if response.status_code >= 400:
        assert response.json()["error"] in OAUTH_ERRORS, response.text
        return
    if name == "/oauth/token":
        issued = response.json()
        assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600
        assert isinstance(issued["access_token"], str) and isinstance(issued["scope"], str)
        assert response.headers["cache-control"] == "no-store"  # §5.1: tokens are never cached
    elif name == "/oauth/register":
        registered = response.json()
        assert response.status_code == 201
        assert {"client_id", "client_secret", "client_id_issued_at"} <= set(registered)
        assert registered["client_secret_expires_at"] == 0
    else:
        assert response.status_code == 200  # revocation: known or not


def imsx(response: httpx.Response, status: int, minor: str) -> None:
    """An error of the resource endpoints: Imsx_StatusInfo with the expected code minor."""
    assert response.status_code == status, response.text
    body = response.json()
    valid("imsx_statusinfo.json", body)
    conforms("Imsx_StatusInfo", body)
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    field = body["imsx_codeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldValue"] == minor


class Recorder:
    """ASGI middleware keeping the app's answers under the API as httpx responses, to be
    checked like any other: the Consumer's requests come from the app under test, not from a
    client the test holds."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answers: list[httpx.Response] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API + "/"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def keep(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        request = httpx.Request(scope["method"], "http://recorded" + scope["path"])
        self.answers.append(
            httpx.Response(start["status"], headers=headers, content=bytes(body), request=request)
        )


@contextmanager
def serving(settings: Settings, app: Any = None) -> Iterator[str]:
    """The app on its port in a thread of this process; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(
            app or create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield settings.base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def on_a_port(settings: Settings) -> Settings:
    port = free_port()
    return replace(
        settings,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        allow_private_fetch=True,
        verify_rate_limit=0,
        login_rate_limit=0,
    )


class Browser:
    """A person's browser at one site: its own cookies, signed in with a password."""

    def __init__(self, base: str, email: str, password: str, check: Checked) -> None:
        hooks = {"response": [check]}
        self.http = httpx.Client(
            base_url=base, follow_redirects=False, timeout=30, event_hooks=hooks
        )
        signed_in = self.http.post("/api/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        self.csrf = signed_in.json()["csrf_token"]

    def consent(self, url: str, decision: str = "allow") -> str:
        """Open the consent page at `url`, answer it; where the site sends the browser."""
        page = self.http.get(url, headers={"accept": "text/html"})
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields = {name: html.unescape(value) for name, value in fields.items()}
        answer = self.http.post(urlsplit(url).path, data={**fields, "decision": decision})
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


@dataclass
class Site:
    """Our app on loopback, with a coordinator, a supervisor and a learner (Lee)."""

    base: str
    settings: Settings
    world: World
    checked: Checked = field(default_factory=Checked)
    recorder: Recorder | None = None  # the answers the app gave others, when recorded
    opened: list[Any] = field(default_factory=list)  # clients to close at the end

    def __post_init__(self) -> None:
        # A client without cookies, for requests a backpack makes by hand.
        self.http = httpx.Client(timeout=30, event_hooks={"response": [self.checked]})
        self.opened.append(self.http)

    def url(self, path: str) -> str:
        return self.base + path

    def learner(self) -> Browser:
        browser = Browser(self.base, "lee@example.org", "learner-password-1", self.checked)
        self.opened.append(browser.http)
        return browser

    def register(self, **changes: Any) -> httpx.Response:
        return self.http.post(self.url(API + "/oauth/register"), json=registration(**changes))

    def client(self, scope: str = EVERY_SCOPE, **changes: Any) -> OAuth2Client:
        """A backpack registered here, as Authlib's OAuth client."""
        registered = self.register(**changes)
        assert registered.status_code == 201, registered.text
        client = OAuth2Client(
            registered.json()["client_id"],
            registered.json()["client_secret"],
            scope=scope,
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            timeout=30,
            event_hooks={"response": [self.checked]},
        )
        self.opened.append(client)
        return client

    def connect(self, client: OAuth2Client, browser: Browser) -> dict[str, Any]:
        """The authorization code flow with PKCE: the learner allows, the client gets tokens."""
        verifier = generate_token(48)
        url, state = client.create_authorization_url(
            self.url(API + "/oauth/authorize"), code_verifier=verifier
        )
        location = browser.consent(url)
        assert location.startswith(REDIRECT)
        token: dict[str, Any] = client.fetch_token(
            self.url(API + "/oauth/token"),
            authorization_response=location,
            code_verifier=verifier,
            state=state,
        )
        return token


def registration(**changes: Any) -> dict[str, Any]:
    """A registration request as OB 3.0 §7.1.1.2 has it."""
    body = {
        "client_name": "Example Backpack",
        "client_uri": "https://backpack.example/",
        "logo_uri": "https://backpack.example/logo.png",
        "tos_uri": "https://backpack.example/terms",
        "policy_uri": "https://backpack.example/privacy",
        "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
        "software_version": "v4.0.30319",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": EVERY_SCOPE,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    settings = on_a_port(db_settings)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        with serving(settings) as base:
            made = Site(base, settings, world)
            yield made
            for opened in made.opened:
                opened.close()


@pytest.fixture(autouse=True)
def every_test_speaks_to_the_api(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test of this module checked at least one answer of the API (the hooks ran)."""
    yield
    site = request.node.funcargs.get("site")
    assert site is None or site.checked.count > 0


def elsewhere(unsigned: dict[str, Any], form: str = "di", **changes: Any) -> Any:
    """A credential another issuer (a did:key) signed: JSON with a proof, or a VC-JWT."""
    profile = IssuerProfile(id="", name="Elsewhere College")
    identity = IssuerIdentity(
        did_key(ELSEWHERE.multikey),
        ELSEWHERE,
        (ELSEWHERE.multikey,),
        profile.with_id(did_key(ELSEWHERE.multikey)),
        None,
        ("eddsa-rdfc-2022",),
        None,
    )
    document = copy.deepcopy(unsigned) | changes
    return sign_credential(document, identity, form=form, now=datetime.now(UTC) - timedelta(1))


def test_the_service_description_document_is_the_profiled_openapi_file(site: Site) -> None:
    assert hashlib.sha256(OPENAPI.read_bytes()).hexdigest() == SPEC_OPENAPI_SHA256
    document = site.http.get(site.url(API + "/discovery")).json()
    conforms("ServiceDescriptionDocument", document)
    info = document["info"]
    assert info["title"] == "Development Issuer" and info["termsOfService"] == site.base + "/"
    assert info["x-imssf-privacyPolicyUrl"] == site.base + "/"
    assert info["x-imssf-image"].startswith(site.base + "/static/logo.")
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["x-imssf-registrationUrl"] == site.url(API + "/oauth/register")
    assert scheme["x-revocationUrl"] == site.url(API + "/oauth/revoke")
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == site.url(API + "/oauth/authorize")
    assert flow["tokenUrl"] == flow["refreshUrl"] == site.url(API + "/oauth/token")
    assert set(flow["scopes"]) == set(scopes.DESCRIPTIONS)
    assert document["servers"] == [{"url": site.url(API), "description": "Development Issuer"}]
    assert {"/credentials", "/profile", "/discovery"} <= set(document["paths"])


def test_a_backpack_registers_is_let_in_and_reads_upserts_refreshes_and_revokes(
    site: Site, unsigned_credential: dict[str, Any]
) -> None:
    site.world.confirm_all()
    assert site.world.attest().status_code == 201
    client = site.client()
    browser = site.learner()
    token = site.connect(client, browser)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert set(token["scope"].split()) == set(EVERY_SCOPE.split())

    # getCredentials: what we issued Lee, as signed.
    read = client.get(site.url(API + "/credentials"))
    assert read.status_code == 200 and read.headers["x-total-count"] == "1"
    valid("getopenbadgecredentialsresponse.json", read.json())
    conforms("GetOpenBadgeCredentialsResponse", read.json())
    [ours] = read.json()["credential"]
    valid("achievementcredential.json", ours)
    assert ours["credentialSubject"]["achievement"]["name"].endswith("Proficient")

    # upsertCredential, JSON: 201 new, 200 the same again; the body is what was sent.
    foreign = elsewhere(unsigned_credential)
    created = client.post(site.url(API + "/credentials"), json=foreign)
    assert created.status_code == 201, created.text
    assert created.json() == foreign
    valid("achievementcredential.json", created.json())
    conforms("AchievementCredential", created.json())
    again = client.post(site.url(API + "/credentials"), json=foreign)
    assert again.status_code == 200 and again.json() == foreign

    # upsertCredential, a VC-JWT as text/plain.
    jws = elsewhere(unsigned_credential, "jwt", id="urn:uuid:3f9a4b7e-21c9-4c0e-9a55-0c6d2b9f1e11")
    sent = client.post(
        site.url(API + "/credentials"), content=jws, headers={"content-type": "text/plain"}
    )
    assert sent.status_code == 201 and sent.text == jws
    assert sent.headers["content-type"].startswith("text/plain")
    read = client.get(site.url(API + "/credentials")).json()
    assert read["compactJwsString"] == [jws] and len(read["credential"]) == 2
    valid("getopenbadgecredentialsresponse.json", read)

    # getProfile and putProfile.
    profile = client.get(site.url(API + "/profile"))
    assert profile.status_code == 200
    valid("profile.json", profile.json())
    conforms("Profile", profile.json())
    assert profile.json()["name"] == "Lee Learner" and profile.json()["email"] == "lee@example.org"
    renamed = client.put(site.url(API + "/profile"), json=profile.json() | {"name": "Lee Ng"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Lee Ng"
    valid("profile.json", renamed.json())

    # Refresh: a new pair; the old refresh token is spent.
    old = token["refresh_token"]
    fresh = client.refresh_token(site.url(API + "/oauth/token"), refresh_token=old)
    assert fresh["refresh_token"] != old and fresh["access_token"] != token["access_token"]
    assert client.get(site.url(API + "/credentials")).status_code == 200
    replayed = site.http.post(
        site.url(API + "/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": old},
        auth=(client.client_id, client.client_secret),
    )
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    # The replay revoked the family: the fresh token is gone too (OAuth 2.0 Security BCP).
    imsx(client.get(site.url(API + "/credentials")), 401, "unauthorizedrequest")

    # Revocation (RFC 7009) of a new grant's refresh token takes its access token with it.
    token = site.connect(client, browser)
    assert client.get(site.url(API + "/credentials")).status_code == 200
    revoked = client.revoke_token(
        site.url(API + "/oauth/revoke"),
        token=token["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    unauthorized = client.get(site.url(API + "/credentials"))
    imsx(unauthorized, 401, "unauthorizedrequest")
    assert unauthorized.headers["www-authenticate"].startswith("Bearer ")
    unknown = client.revoke_token(site.url(API + "/oauth/revoke"), token="never-issued")
    assert unknown.status_code == 200  # RFC 7009 §2.2


def test_a_token_without_the_scope_is_refused(site: Site) -> None:
    client = site.client(scope=scopes.CREDENTIAL_READONLY)
    token = site.connect(client, site.learner())
    assert token["scope"] == scopes.CREDENTIAL_READONLY
    assert client.get(site.url(API + "/credentials")).status_code == 200
    refused = client.post(site.url(API + "/credentials"), json={"a": 1})
    imsx(refused, 403, "forbidden")
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    imsx(client.get(site.url(API + "/profile")), 403, "forbidden")
    imsx(client.put(site.url(API + "/profile"), json={"name": "x"}), 403, "forbidden")
    # A refresh cannot widen the scope, and asking does not cost the refresh token.
    wider = site.http.post(
        site.url(API + "/oauth/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "scope": EVERY_SCOPE,
        },
        auth=(client.client_id, client.client_secret),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    client.refresh_token(site.url(API + "/oauth/token"), refresh_token=token["refresh_token"])
    # A scope the server does not know is refused at the authorization request.
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=generate_token(48), scope="admin"
    )
    page = site.learner().http.get(url)
    assert page.status_code == 303
    assert parse_qs(urlsplit(page.headers["location"]).query)["error"] == ["invalid_scope"]


def test_an_expired_token_is_refused(site: Site) -> None:
    client = site.client()
    site.connect(client, site.learner())
    assert client.get(site.url(API + "/profile")).status_code == 200
    engine = make_engine(site.settings.database_url)
    with transaction(session_factory(engine)) as session:
        an_hour_ago = datetime.now(UTC) - timedelta(seconds=3601)
        session.execute(update(ObToken).values(expires_at=an_hour_ago + timedelta(seconds=3600)))
    engine.dispose()
    expired = client.get(site.url(API + "/profile"))
    imsx(expired, 401, "unauthorizedrequest")
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


def test_a_revoked_client_is_refused(site: Site) -> None:
    client = site.client()
    browser = site.learner()
    token = site.connect(client, browser)
    listed = site.http.get(site.url("/api/ob/clients"), headers=bearer(site.world.coordinator))
    assert [c["client_id"] for c in listed.json()] == [client.client_id]
    assert "Example Backpack" in browser.http.get("/learner/backpacks").text
    revoked = site.http.post(
        site.url(f"/api/ob/clients/{client.client_id}/revoke"),
        headers=bearer(site.world.coordinator),
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    imsx(client.get(site.url(API + "/credentials")), 401, "unauthorizedrequest")
    refreshed = site.http.post(
        site.url(API + "/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client.client_id, client.client_secret),
    )
    assert refreshed.status_code == 401 and refreshed.json()["error"] == "invalid_client"
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=generate_token(48)
    )
    assert browser.http.get(url, headers={"accept": "text/html"}).status_code == 400
    assert "Example Backpack" not in browser.http.get("/learner/backpacks").text


def test_a_learner_disconnects_an_app(site: Site) -> None:
    client = site.client()
    browser = site.learner()
    site.connect(client, browser)
    page = browser.http.get("/learner/backpacks").text
    assert "Example Backpack" in page and "see the badges you earned here" in page
    gone = browser.http.post(
        f"/learner/backpacks/apps/{client.client_id}/disconnect",
        data={"csrf_token": browser.csrf},
    )
    assert gone.status_code == 303
    imsx(client.get(site.url(API + "/credentials")), 401, "unauthorizedrequest")
    assert "Example Backpack" not in browser.http.get("/learner/backpacks").text


def authorization_url(client: OAuth2Client, site: Site, **params: str) -> str:
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=generate_token(48), **params
    )
    return str(url)


def test_pkce_is_required_and_only_s256(site: Site) -> None:
    client = site.client()
    browser = site.learner()
    plain = OAuth2Client(
        client.client_id,
        client.client_secret,
        scope=EVERY_SCOPE,
        redirect_uri=REDIRECT,
        event_hooks={"response": [site.checked]},
    )
    site.opened.append(plain)
    for url in (
        authorization_url(plain, site),  # no code_challenge at all
        authorization_url(plain, site, code_challenge="a" * 43, code_challenge_method="plain"),
        authorization_url(plain, site, code_challenge="a" * 43),  # plain, by default
    ):
        sent_back = browser.http.get(url).headers["location"]
        assert parse_qs(urlsplit(sent_back).query)["error"] == ["invalid_request"], url
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=verifier
    )
    code = parse_qs(urlsplit(browser.consent(url)).query)["code"][0]
    wrong = site.http.post(
        site.url(API + "/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": generate_token(48),
        },
        auth=(client.client_id, client.client_secret),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_a_code_is_spent_once_even_by_racing_requests(site: Site) -> None:
    """Eight token requests race with one code: exactly one gets a token, and the replays
    revoke it (RFC 6749 §4.1.2)."""
    client = site.client()
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=verifier
    )
    code = parse_qs(urlsplit(site.learner().consent(url)).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    auth = (client.client_id, client.client_secret)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: site.http.post(site.url(API + "/oauth/token"), data=form, auth=auth),
                range(8),
            )
        )
    granted = [a for a in answers if a.status_code == 200]
    assert len(granted) == 1, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code != 200} == {"invalid_grant"}
    access = granted[0].json()["access_token"]
    replay = site.http.get(site.url(API + "/profile"), headers=bearer(access))
    imsx(replay, 401, "unauthorizedrequest")


def test_the_learner_decides_and_an_untrusted_redirect_is_never_followed(site: Site) -> None:
    client = site.client()
    browser = site.learner()
    denied = browser.consent(authorization_url(client, site, state="s-1"), decision="deny")
    answer = parse_qs(urlsplit(denied).query)
    assert answer["error"] == ["access_denied"] and answer["state"] == ["s-1"]
    assert denied.startswith(REDIRECT + "?") and "code" not in answer
    # Not this client's redirect URI, or no such client: an error page, no redirect.
    elsewhere_url = authorization_url(client, site, redirect_uri="https://evil.example/cb")
    page = browser.http.get(elsewhere_url, headers={"accept": "text/html"})
    assert page.status_code == 400 and "evil.example" not in page.headers.get("location", "")
    unknown = authorization_url(client, site).replace(client.client_id, "obc_nobody")
    assert browser.http.get(unknown, headers={"accept": "text/html"}).status_code == 400
    # Signed out: to the sign-in page, which comes back to the whole request.
    url = authorization_url(client, site)
    signed_out = site.http.get(url, follow_redirects=False)
    assert signed_out.status_code == 303 and "next=%2Fims%2Fob" in signed_out.headers["location"]
    # The consent page may send its form's answer to the client's redirect URI's origin only.
    policy = browser.http.get(url).headers["content-security-policy"]
    assert "form-action 'self' https://backpack.example;" in policy
    assert "'unsafe-inline'" not in policy


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_uri": None}, "invalid_client_metadata"),
        ({"software_version": None}, "invalid_client_metadata"),
        ({"logo_uri": "http://backpack.example/logo.png"}, "invalid_client_metadata"),
        ({"tos_uri": "https://elsewhere.example/terms"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://evil.example/cb"]}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://backpack.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://backpack.example/cb"}, "invalid_client_metadata"),
        (
            {"scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/admin"},
            "invalid_client_metadata",
        ),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
        ({"client_name": "Back\npack"}, "invalid_client_metadata"),
    ],
)
def test_fails_to_register_if_the_request_breaks_the_ob_profile(
    site: Site, changes: dict[str, Any], error: str
) -> None:
    refused = site.register(**changes)
    assert refused.status_code == 400 and refused.json()["error"] == error, refused.text


def test_fails_to_upsert_if_the_credential_does_not_verify(
    site: Site, unsigned_credential: dict[str, Any]
) -> None:
    client = site.client()
    site.connect(client, site.learner())
    forged = elsewhere(unsigned_credential)
    forged["name"] = "A badge nobody issued"
    refused = client.post(site.url(API + "/credentials"), json=forged)
    imsx(refused, 400, "invalid_data")
    assert "does not verify" in refused.json()["imsx_description"]
    for body, media_type in (("not json", "application/json"), ("a.b", "text/plain")):
        bad = client.post(
            site.url(API + "/credentials"), content=body, headers={"content-type": media_type}
        )
        imsx(bad, 400, "invalid_data")
    assert client.get(site.url(API + "/credentials")).json()["credential"] == []


def test_pages_of_credentials_carry_the_total_and_the_links(
    site: Site, unsigned_credential: dict[str, Any]
) -> None:
    client = site.client()
    site.connect(client, site.learner())
    for n in range(5):
        badge = elsewhere(
            unsigned_credential, id=f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"
        )
        assert client.post(site.url(API + "/credentials"), json=badge).status_code == 201
    page = client.get(site.url(API + "/credentials"), params={"limit": 2, "offset": 2})
    assert page.headers["x-total-count"] == "5" and len(page.json()["credential"]) == 2
    links = dict(
        (rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', page.headers["link"])
    )
    base = site.url(API + "/credentials")
    assert links == {
        "next": f"{base}?limit=2&offset=4",
        "first": f"{base}?limit=2&offset=0",
        "last": f"{base}?limit=2&offset=4",
        "prev": f"{base}?limit=2&offset=0",
    }
    last = client.get(links["last"])
    assert len(last.json()["credential"]) == 1 and 'rel="next"' not in last.headers["link"]
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    none = client.get(site.url(API + "/credentials"), params={"since": later})
    assert none.json()["credential"] == [] and none.headers["x-total-count"] == "0"
    imsx(
        client.get(site.url(API + "/credentials"), params={"limit": 0}),
        400,
        "invalid_query_parameter",
    )
    imsx(
        client.get(site.url(API + "/credentials"), params={"since": "soon"}),
        400,
        "invalid_query_parameter",
    )


def test_errors_are_imsx_status_info(site: Site) -> None:
    for method, path in (("DELETE", "/credentials"), ("POST", "/profile"), ("PUT", "/discovery")):
        refused = site.http.request(method, site.url(API + path))
        imsx(refused, 405, "not_allowed")
        assert refused.headers["allow"].startswith("GET")
    imsx(site.http.get(site.url(API + "/credentials")), 401, "unauthorizedrequest")
    account_token = bearer(site.world.learner)  # an account's API token is no OAuth token
    imsx(
        site.http.get(site.url(API + "/profile"), headers=account_token), 401, "unauthorizedrequest"
    )


def test_put_profile_changes_the_name_and_nothing_else(site: Site) -> None:
    client = site.client()
    site.connect(client, site.learner())
    profile = client.get(site.url(API + "/profile")).json()
    for changed in (
        {"email": "someone@example.org"},
        {"phone": "111-222-3333"},
        {"id": "https://example.org/someone"},
        {"name": "Lee\u2028Learner"},
    ):
        imsx(client.put(site.url(API + "/profile"), json=profile | changed), 400, "invalid_data")
    assert client.get(site.url(API + "/profile")).json() == profile


def test_fails_to_consent_without_the_csrf_token(site: Site) -> None:
    """The consent form is a signed-in learner's action: another site's form that posts it
    (without the session's CSRF token) gets nothing, and no code is made."""
    client = site.client()
    browser = site.learner()
    url = authorization_url(client, site)
    page = browser.http.get(url, headers={"accept": "text/html"})
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {name: html.unescape(value) for name, value in fields.items()}
    assert fields["csrf_token"] == browser.csrf
    for token in (None, "forged"):
        sent = {**fields, "decision": "allow"}
        if token is None:
            del sent["csrf_token"]
        else:
            sent["csrf_token"] = token
        refused = browser.http.post(API + "/oauth/authorize", data=sent)
        assert refused.status_code == 403 and "location" not in refused.headers
    engine = make_engine(site.settings.database_url)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ObAuthorizationCode)) == 0
    engine.dispose()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT + "/",
        REDIRECT + "?next=x",
        REDIRECT.replace("backpack", "BACKPACK"),
        REDIRECT.replace("callback", "Callback"),
        REDIRECT.replace("https://backpack.example", "https://backpack.example:443"),
        "https://backpack.example/",
    ],
)
def test_fails_to_authorize_if_the_redirect_uri_is_not_exactly_a_registered_one(
    site: Site, redirect_uri: str
) -> None:
    client = site.client()
    url = authorization_url(client, site, redirect_uri=redirect_uri)
    page = site.learner().http.get(url, headers={"accept": "text/html"})
    assert page.status_code == 400 and "location" not in page.headers


def test_fails_to_exchange_a_code_for_another_redirect_uri(site: Site) -> None:
    """RFC 6749 §4.1.3: the token request names the redirect URI the code was sent to."""
    other = "https://backpack.example/other"
    client = site.client(redirect_uris=[REDIRECT, other])
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=verifier
    )
    code = parse_qs(urlsplit(site.learner().consent(url)).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    auth = (client.client_id, client.client_secret)
    wrong = site.http.post(
        site.url(API + "/oauth/token"), data=form | {"redirect_uri": other}, auth=auth
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The code was spent by that attempt: the right redirect URI is too late now.
    late = site.http.post(
        site.url(API + "/oauth/token"), data=form | {"redirect_uri": REDIRECT}, auth=auth
    )
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_a_refresh_token_is_spent_once_even_by_racing_requests(site: Site) -> None:
    client = site.client()
    token = site.connect(client, site.learner())
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    auth = (client.client_id, client.client_secret)
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: site.http.post(site.url(API + "/oauth/token"), data=form, auth=auth),
                range(6),
            )
        )
    assert [a.status_code for a in answers].count(200) == 1, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code != 200} == {"invalid_grant"}


def test_secrets_are_stored_only_as_hashes(site: Site) -> None:
    """Client secrets, codes, access and refresh tokens: SHA-256 in the database, never the
    values themselves."""
    client = site.client()
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        site.url(API + "/oauth/authorize"), code_verifier=verifier
    )
    location = site.learner().consent(url)
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = client.fetch_token(
        site.url(API + "/oauth/token"),
        authorization_response=location,
        code_verifier=verifier,
        state=state,
    )
    secrets = [client.client_secret, code, token["access_token"], token["refresh_token"]]
    engine = make_engine(site.settings.database_url)
    with session_factory(engine)() as session:
        stored = [
            session.get_one(ObClient, client.client_id).secret_hash,
            session.scalars(select(ObAuthorizationCode.code_hash)).one(),
            *session.execute(select(ObToken.access_token_hash, ObToken.refresh_token_hash)).one(),
        ]
        dump = json.dumps(
            [
                [str(value) for value in row]
                for table in (ObClient, ObAuthorizationCode, ObToken)
                for row in session.execute(select(table.__table__)).all()
            ]
        )
    engine.dispose()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest() for secret in secrets]
    assert not any(secret in dump for secret in secrets)
