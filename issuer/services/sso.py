"""Single sign-on with an institution's OpenID provider (OpenID Connect Core 1.0).

The authorization code flow with PKCE (RFC 7636, S256), `state` and `nonce`, through Authlib.
`OpenIdProvider` is this relying party's view of the provider: its discovery document, its
keys, and the client registered there. It fetches from the configured provider only (the
endpoints its discovery document names, on the issuer's own host), over https (http only on a
loopback address, for tests), each request within a timeout, and never a URL a browser sent.
`sign_in` is the use case: the person whose e-mail the provider says it has **verified**, or,
where the deployment allows it, a new learner. An unverified e-mail matches nobody: anyone can
type anyone's address into an account at many providers.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from issuer.errors import InvalidInput, NotAuthenticated, NotFound, Unreachable
from issuer.services import accounts, audit
from issuer.store.models import User

TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 3600.0  # discovery document and keys; unknown key ids refetch the keys at once
LEEWAY_SECONDS = 60  # clock skew allowed between the provider and us
SCOPE = "openid email profile"
# Signatures by the provider's published keys only: HS256 would make our client secret a
# signing key, and "none" is no signature at all.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class Pending:
    """What must come back from the provider with the browser, which keeps it meanwhile."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in: claims of a validated ID token (and its UserInfo)."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """A single sign-on that signed nobody in; `message` is for the person, and audited."""

    message: str


class OpenIdProvider:
    """The institution's provider and our client there; one per app, shared by its threads
    (each cache is replaced whole, so a race only fetches twice)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        allow_loopback_http: bool = False,
    ) -> None:
        # Kept exactly as configured: ID tokens must name it character for character.
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._allow_loopback_http = allow_loopback_http
        if not self._allowed(issuer):
            raise InvalidInput(f"ISSUER_OIDC_ISSUER must be an https:// address, not {issuer!r}")
        self._host = urlsplit(issuer).netloc.lower()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def authorization(self) -> tuple[str, Pending]:
        """Where to send the browser, and what it must bring back (fresh random values)."""
        pending = Pending(*(secrets.token_urlsafe(n) for n in (32, 32, 48)))
        with self._client() as client:
            url, _ = client.create_authorization_url(
                self.metadata(client)["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return str(url), pending

    def identify(self, pending: Pending | None, response: Mapping[str, str]) -> Identity:
        """Who signed in, from the provider's authorization `response` (the callback's query).

        NotAuthenticated when it answers no request this browser started (`state`), when the
        provider refused, or when its ID token is not valid; Unreachable when the provider
        cannot be asked.
        """
        if pending is None or not hmac.compare_digest(
            response.get("state", "").encode(), pending.state.encode()
        ):
            raise NotAuthenticated("this sign-in was not started here, or it has expired")
        if response.get("iss", self.issuer) != self.issuer:  # RFC 9207: a mixed-up provider
            raise NotAuthenticated("the answer came from another provider")
        if "error" in response or not response.get("code"):
            raise NotAuthenticated(f"the provider answered {response.get('error', '')[:60]!r}")
        with self._client() as client:
            metadata = self.metadata(client)
            token = self._exchange(client, metadata, response["code"], pending.code_verifier)
            claims = self._validated(client, metadata, token, pending.nonce)
            if "email" not in claims:  # OpenID Connect Core 5.4: the code flow's scope claims
                claims.update(self._userinfo(client, metadata, token, claims["sub"]))
        return _identity(self.issuer, claims)

    def metadata(self, client: Any) -> dict[str, Any]:
        """The provider's discovery document (OpenID Connect Discovery 1.0), checked: it names
        this issuer, and each endpoint is on the issuer's host, over https."""
        cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        document = _get(client, f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        if document.get("issuer") != self.issuer:
            raise Unreachable(f"the discovery document names {document.get('issuer')!r}")
        for name in (*ENDPOINTS, "userinfo_endpoint"):
            if name in ENDPOINTS or name in document:
                self._check_endpoint(document.get(name), name)
        self._metadata = (time.monotonic(), document)
        return document

    def _exchange(self, client: Any, metadata: dict[str, Any], code: str, verifier: str) -> Any:
        """The token endpoint's answer for `code` (client_secret_basic, the PKCE verifier)."""
        try:
            token = client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
            )
        except OAuthError as error:
            raise NotAuthenticated(f"the provider refused the code ({error.error})") from None
        except (httpx2.HTTPError, ValueError) as error:
            raise Unreachable(f"the token endpoint failed: {type(error).__name__}") from None
        if not isinstance(token.get("id_token"), str):
            raise NotAuthenticated("the provider sent no ID token")
        return token

    def _validated(
        self, client: Any, metadata: dict[str, Any], token: Any, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims (OpenID Connect Core 3.1.3.7): signed with a key of the
        provider's, by this issuer, for this client alone, unexpired, with our nonce."""
        options = {
            "iss": {"essential": True, "value": self.issuer},
            # No audience but us: a token meant for another client as well is not ours.
            "aud": {"essential": True, "validate": self._for_us},
            "sub": {"essential": True},
        }
        params = {
            "nonce": nonce,
            "client_id": self.client_id,
            "access_token": token.get("access_token"),
        }
        try:
            try:
                decoded = jwt.decode(token["id_token"], self._key_set(client, metadata), ALGORITHMS)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                keys = self._key_set(client, metadata, fresh=True)
                decoded = jwt.decode(token["id_token"], keys, ALGORITHMS)
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)
        except JoseError as error:
            raise NotAuthenticated(f"the ID token was refused ({error.error})") from None
        return dict(claims)

    def _for_us(self, _claims: object, audience: object) -> bool:
        return audience in (self.client_id, [self.client_id])

    def _userinfo(
        self, client: Any, metadata: dict[str, Any], token: Any, subject: str
    ) -> dict[str, Any]:
        if "userinfo_endpoint" not in metadata or not token.get("access_token"):
            return {}
        info = _get(client, metadata["userinfo_endpoint"], token["access_token"])
        if info.get("sub") != subject:  # OpenID Connect Core 5.3.2
            raise NotAuthenticated("the provider's UserInfo is about someone else")
        return {name: info[name] for name in ("email", "email_verified", "name") if name in info}

    def _key_set(self, client: Any, metadata: dict[str, Any], fresh: bool = False) -> KeySet:
        cached = self._keys
        if not fresh and cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            keys = KeySet.import_key_set(_get(client, metadata["jwks_uri"]))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise Unreachable("the provider's keys (jwks_uri) cannot be read") from None
        self._keys = (time.monotonic(), keys)
        return keys

    def _client(self) -> Any:
        """Authlib's client, one per sign-in: it keeps the flow's state in itself."""
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=SCOPE,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )

    def _check_endpoint(self, url: object, name: str) -> None:
        if not isinstance(url, str) or not self._allowed(url):
            raise Unreachable(f"the discovery document has no https:// {name}")
        if urlsplit(url).netloc.lower() != self._host:
            raise Unreachable(f"{name} {url!r} is not on the provider's host {self._host}")

    def _allowed(self, url: str) -> bool:
        """https, or http on a loopback address when a test allows it."""
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return True
        return parts.scheme == "http" and self._allow_loopback_http and _loopback(parts.hostname)


def _get(client: Any, url: str, bearer: str | None = None) -> dict[str, Any]:
    """A JSON object from the provider (discovery, keys, UserInfo); redirects not followed."""
    headers = {"accept": "application/json"}
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer}"
    try:
        response = client.request("GET", url, headers=headers, withhold_token=True)
        response.raise_for_status()
        document = response.json()
    except (httpx2.HTTPError, ValueError) as error:
        raise Unreachable(f"{url}: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise Unreachable(f"{url}: not a JSON object")
    return document


def _identity(issuer: str, claims: dict[str, Any]) -> Identity:
    email, name = claims.get("email"), claims.get("name")
    return Identity(
        issuer=issuer,
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True,  # not "true", not 1
        name=name if isinstance(name, str) else None,
    )


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in(
    session: Session, identity: Identity, *, may_create: bool, client: str
) -> User | Refused:
    """The person with the identity's verified e-mail, their sign-in audited (`login.sso`);
    where `may_create`, a new learner for an e-mail nobody has. Refused (audited as
    `login.failed`) otherwise: returned, not raised, so that the edge commits the entry."""
    if identity.email is None or not identity.email_verified:
        # Checked first, so the answer tells nothing about who has an account here.
        message = "the provider has not verified an e-mail address of yours"
        return refuse(session, message, client=client, identity=identity)
    try:
        email = accounts.normalize_email(identity.email)
    except InvalidInput:
        return refuse(session, "the provider's e-mail is not an address", client=client)
    try:
        user, created = accounts.user_by_email(session, email), False
    except NotFound:
        if not may_create:
            message = f"there is no account for {email} here: ask a coordinator to add you"
            return refuse(session, message, client=client, identity=identity)
        user, created = _new_learner(session, email, identity.name), True
    if user.deactivated_at is not None:
        return refuse(session, accounts.DEACTIVATED, client=client, identity=identity)
    audit.record(session, user, "login.sso", email, created=created, **_detail(client, identity))
    return user


def _new_learner(session: Session, email: str, name: str | None) -> User:
    """A learner (the one role anybody at the institution may hold; a coordinator gives the
    rest), named as the provider names them, or after their e-mail when it names them not."""
    try:
        return accounts.create_user(session, email=email, name=name or "", roles=["learner"])
    except InvalidInput:
        local_part = email.split("@")[0]
        return accounts.create_user(session, email=email, name=local_part, roles=["learner"])


def refuse(
    session: Session, message: str, *, client: str, identity: Identity | None = None
) -> Refused:
    """A failed single sign-on, in the audit log with password failures (`login.failed`)."""
    subject = "(unknown)"
    if identity is not None and identity.email is not None:
        try:
            subject = accounts.normalize_email(identity.email)
        except InvalidInput:
            subject = "(not an e-mail address)"
    audit.record(
        session, None, "login.failed", subject, reason=message, **_detail(client, identity)
    )
    return Refused(message)


def _detail(client: str, identity: Identity | None) -> dict[str, str]:
    detail = {"method": "sso", "client": client}
    if identity is not None:
        detail |= {"issuer": identity.issuer, "sub": identity.subject}
    return detail
