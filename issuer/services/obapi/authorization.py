"""The authorization server of our Open Badges API (OB 3.0 §7.1.2–7.3): Authlib's
AuthorizationServer, its authorization-code grant with PKCE, refresh-token grant and RFC 7009
revocation endpoint, kept in our tables through one session per request.

What OB 3.0 asks beyond RFC 6749, and where it is done:
- `redirect_uri`, `scope`, `state` and PKCE (`code_challenge_method=S256`, nothing else) are
  required in the authorization request (`_CodeGrant`, `_Pkce`);
- the redirect back carries the granted `scope` beside `code` and `state`;
- a code is single-use and lives ten minutes; replaying one revokes what it granted;
- clients authenticate with HTTP Basic only, at the token and revocation endpoints.

A code is spent when it is looked up, by one conditional UPDATE: whatever the token request
does next (a wrong verifier, a wrong redirect_uri), that code is gone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeGrant,
    AuthorizationCodeMixin,
    AuthorizationServer,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    RefreshTokenGrant,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import update
from sqlalchemy.orm import Session

from issuer.errors import InvalidInput
from issuer.services import audit
from issuer.services.accounts import token_hash
from issuer.services.obapi import clients, scopes, tokens
from issuer.services.obapi.messages import (
    OAuthAnswer,
    OAuthRequest,
    answer,
    json_request,
    oauth2_request,
)
from issuer.store.models import ObAuthorizationCode, User

CODE_LIFETIME = timedelta(minutes=10)  # OB 3.0 §7.1.2.2 recommends 600 seconds
S256_CHALLENGE_LENGTH = 43  # BASE64URL(SHA-256(verifier)), unpadded
# What the consent form sends back, to be checked again when the learner decides.
REQUEST_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True, slots=True)
class Consent:
    """What a learner is asked to allow: which app (as it registered), to do what."""

    client_id: str
    name: str
    registration: dict[str, Any]
    scopes: list[str]
    redirect_uri: str
    params: tuple[tuple[str, str], ...]


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, session: Session, now: datetime) -> None:
        super().__init__(scopes_supported=list(scopes.SUPPORTED))
        self.session = session
        self.now = now
        self.register_grant(_CodeGrant, [_Pkce(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_token_generator("default", _generate_token)

    def query_client(self, client_id: object) -> clients.RegisteredClient | None:
        return clients.query_client(self.session, client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        if request.authorization_code is not None:
            grant_id = request.authorization_code.record.code_hash
        else:
            grant_id = request.refresh_token.record.grant_id
        tokens.save(
            self.session,
            token,
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            grant_id=grant_id,
            now=self.now,
        )

    def create_oauth2_request(self, request: Any) -> Any:
        return request if isinstance(request, OAuth2Request) else oauth2_request(request)

    def create_json_request(self, request: Any) -> Any:
        return json_request(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthAnswer:
        return answer(status, body, headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


def _generate_token(
    grant_type: str,
    client: Any,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    token: dict[str, Any] = {
        "access_token": "oba_" + secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": tokens.ACCESS_SECONDS,
        "scope": scope or "",
    }
    if include_refresh_token:
        token["refresh_token"] = "obr_" + secrets.token_urlsafe(32)
    return token


class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, record: ObAuthorizationCode) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = "S256"

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope


class _Pkce(CodeChallenge):  # type: ignore[misc]
    """RFC 7636, as OB 3.0 requires it: always, and S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)
        if len(data["code_challenge"]) != S256_CHALLENGE_LENGTH:
            raise InvalidRequestError("an S256 code_challenge has 43 characters")


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic",)

    def validate_authorization_request(self) -> str:
        if not self.request.payload.redirect_uri:  # OB 3.0 requires it (RFC 6749 does not)
            raise InvalidRequestError("redirect_uri is required")
        redirect_uri: str = super().validate_authorization_request()
        if not self.request.payload.state:
            raise InvalidRequestError("state is required", redirect_uri=redirect_uri)
        return redirect_uri

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
        status, body, headers = super().create_authorization_response(redirect_uri, grant_user)
        location = add_params_to_uri(dict(headers)["Location"], [("scope", self.request.scope)])
        return status, body, [("Location", location)]

    def save_authorization_code(self, code: str, request: Any) -> None:
        server: _Server = self.server
        client_id = request.client.get_client_id()
        server.session.add(
            ObAuthorizationCode(
                code_hash=token_hash(code),
                client_id=client_id,
                user_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=request.payload.data["code_challenge"],
                created_at=server.now,
                expires_at=server.now + CODE_LIFETIME,
            )
        )
        audit.record(
            server.session, request.user, "ob_client.authorized", client_id, scope=request.scope
        )

    def query_authorization_code(self, code: str, client: Any) -> _Code | None:
        """Spend the code; a code spent before is a replay, and what it granted is revoked."""
        server: _Server = self.server
        digest = token_hash(code)
        spent = server.session.scalar(
            update(ObAuthorizationCode)
            .where(
                ObAuthorizationCode.code_hash == digest,
                ObAuthorizationCode.client_id == client.get_client_id(),
                ObAuthorizationCode.used_at.is_(None),
                ObAuthorizationCode.expires_at > server.now,
            )
            .values(used_at=server.now)
            .returning(ObAuthorizationCode)
        )
        if spent is None:
            tokens.revoke_family(server.session, digest, server.now)
            return None
        return _Code(spent)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        pass  # spent when it was looked up

    def authenticate_user(self, authorization_code: _Code) -> User | None:
        return _active_user(self.server, authorization_code.record.user_id)


class _RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic",)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token is used once

    def validate_token_request(self) -> None:
        server: _Server = self.server
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("this client did not register for refresh_token")
        self.request.client = client
        presented = self.request.form.get("refresh_token")
        if not presented:
            raise InvalidRequestError("Missing refresh_token")
        record = tokens.live_refresh(server.session, presented, client.get_client_id(), server.now)
        if record is None:
            raise InvalidGrantError("this refresh token is unknown, spent, revoked or expired")
        # A wider scope than granted is refused before the token is spent: it stays usable.
        requested = scopes.parse(self.request.payload.scope)
        if not set(requested) <= set(scopes.parse(record.scope)):
            raise InvalidScopeError("a refresh cannot widen the scope granted")
        if not tokens.spend_refresh(server.session, record, server.now):
            raise InvalidGrantError("this refresh token was used already")
        self.request.refresh_token = tokens.IssuedToken(record, "refresh_token")

    def authenticate_user(self, refresh_token: tokens.IssuedToken) -> User | None:
        return _active_user(self.server, refresh_token.record.user_id)

    def revoke_old_credential(self, refresh_token: tokens.IssuedToken) -> None:
        pass  # spent in validate_token_request


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ("client_secret_basic",)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return tokens.find(self.server.session, token_string, token_type_hint)

    def revoke_token(self, token: tokens.IssuedToken, request: Any) -> None:
        tokens.revoke(self.server.session, token, self.server.now)


def _active_user(server: _Server, user_id: int) -> User | None:
    user = server.session.get(User, user_id)
    return user if user is not None and user.deactivated_at is None else None


def consent(
    session: Session, request: OAuthRequest, user: User, now: datetime | None = None
) -> Consent | OAuthAnswer:
    """What to ask the learner, or (for a request the client can be told about) the redirect
    back with the error. InvalidInput when the client or its redirect_uri cannot be trusted:
    RFC 6749 §4.1.2.1 forbids sending the browser there."""
    server = _Server(session, now or datetime.now(UTC))
    try:
        grant = server.get_consent_grant(request, end_user=user)
    except OAuth2Error as error:
        return _refused(error)
    registered: clients.RegisteredClient = grant.client
    params = tuple(
        (name, grant.request.payload.data[name])
        for name in REQUEST_PARAMETERS
        if name in grant.request.payload.data
    )
    return Consent(
        client_id=registered.get_client_id(),
        name=registered.record.name,
        registration=registered.registration,
        scopes=scopes.parse(grant.request.scope),
        redirect_uri=grant.redirect_uri,
        params=params,
    )


def decide(
    session: Session,
    request: OAuthRequest,
    user: User,
    *,
    allow: bool,
    now: datetime | None = None,
) -> OAuthAnswer:
    """The learner's answer: back to the client with a code (and the scope granted) or with
    `access_denied`; the request is checked again exactly as when it was shown."""
    server = _Server(session, now or datetime.now(UTC))
    try:
        grant = server.get_consent_grant(request, end_user=user)
    except OAuth2Error as error:
        return _refused(error)
    decided: OAuthAnswer = server.create_authorization_response(
        grant.request, grant_user=user if allow else None, grant=grant
    )
    return decided


def _refused(error: OAuth2Error) -> OAuthAnswer:
    """The redirect that tells the client; InvalidInput where the client may not be told."""
    if error.redirect_uri:
        return answer(*error())
    raise InvalidInput(f"this request to connect an app cannot be used: {error.description}")


def token(session: Session, request: OAuthRequest, now: datetime | None = None) -> OAuthAnswer:
    """The token endpoint: authorization_code and refresh_token grants."""
    server = _Server(session, now or datetime.now(UTC))
    try:
        issued: OAuthAnswer = server.create_token_response(request)
    except OAuth2Error as error:  # before any grant is chosen: an insecure transport
        return answer(*error())
    return issued


def revoke(session: Session, request: OAuthRequest, now: datetime | None = None) -> OAuthAnswer:
    """The revocation endpoint (RFC 7009): 200 whether or not the token was known."""
    server = _Server(session, now or datetime.now(UTC))
    try:
        revoked: OAuthAnswer = server.create_endpoint_response("revocation", request)
    except OAuth2Error as error:
        return answer(*error())
    return revoked
