"""Backpacks and hosts registered with our Open Badges API: dynamic client registration
(RFC 7591 as OB 3.0 §7.1.1.2 profiles it), the client as Authlib's server sees it, and
revoking one.

OB 3.0 asks more of a registration than RFC 7591 does: client_name, client_uri, logo_uri,
tos_uri, policy_uri, software_id, software_version, redirect_uris and scope are all required,
every URL is https and all of them share one host name, and no initial access token may be
asked for. A client authenticates at the token and revocation endpoints with HTTP Basic
(`client_secret_basic`, the only method the specification allows); its secret is shown once,
in the registration response, and stored as its SHA-256.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error
from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import NotFound
from issuer.services import audit
from issuer.services.accounts import token_hash
from issuer.services.obapi import scopes
from issuer.services.obapi.messages import OAuthAnswer, OAuthRequest, answer, json_request
from issuer.store.models import ObClient, ObToken, User

REQUIRED = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "redirect_uris",
    "scope",
)
URLS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
TEXTS = ("client_name", "software_id", "software_version", "scope", "token_endpoint_auth_method")
LISTS = ("redirect_uris", "grant_types", "response_types", "contacts")
# The longest values we keep (the registration is stored whole and shown to learners).
MAX_TEXT = 200
MAX_URL = 2000
MAX_ITEMS = 10
GRANT_TYPES = ("authorization_code", "refresh_token")
# Client keys are for private_key_jwt, which OB 3.0 does not allow; refused rather than stored
# (a jwks object has no size but the body's).
REFUSED = ("jwks", "jwks_uri")
# Unicode's directional formatting characters: invisible, and they reorder what follows, so a
# name holding them reads differently on the consent page than it is ("Kcapkcab" shown as
# "Backpack"). issuer.limits.has_control_character does not refuse them (yet).
SERVER_METADATA = {
    "scopes_supported": list(scopes.SUPPORTED),
    "response_types_supported": ["code"],
    "grant_types_supported": list(GRANT_TYPES),
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
}


class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """A registered, unrevoked client, as Authlib's grants and endpoints ask about it."""

    def __init__(self, record: ObClient) -> None:
        self.record = record
        self.registration: dict[str, Any] = record.registration

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str:
        uri: str = self.registration["redirect_uris"][0]
        return uri

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client registered for; None (invalid_scope) if none."""
        registered = set(scopes.parse(self.registration.get("scope")))
        allowed = [name for name in scopes.parse(scope) if name in registered]
        return " ".join(allowed) if allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration["redirect_uris"]

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(token_hash(client_secret), self.record.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        # RFC 7591 §2: without grant_types, a client uses the authorization code alone.
        return grant_type in self.registration.get("grant_types", ["authorization_code"])


def query_client(session: Session, client_id: object) -> RegisteredClient | None:
    """The client with this id, unless it is unknown or revoked."""
    if not isinstance(client_id, str) or len(client_id) > limits.RANDOM_TOKEN:
        return None
    record = session.get(ObClient, client_id)
    if record is None or record.revoked_at is not None:
        return None
    return RegisteredClient(record)


class _Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    def __init__(self, session: Session, now: datetime, allow_loopback_http: bool) -> None:
        super().__init__()
        self.session = session
        self.now = now
        self.allow_loopback_http = allow_loopback_http

    def authenticate_token(self, request: Any) -> str:
        return "anyone"  # OB 3.0: registration MUST NOT require an initial access token

    def get_server_metadata(self) -> dict[str, Any]:
        return dict(SERVER_METADATA)

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        check_registration(request.payload.data, allow_loopback_http=self.allow_loopback_http)
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        return metadata

    def generate_client_id(self, request: Any) -> str:
        return "obc_" + secrets.token_urlsafe(24)

    def generate_client_secret(self, request: Any) -> str:
        return secrets.token_urlsafe(32)

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> ObClient:
        record = ObClient(
            client_id=client_info["client_id"],
            secret_hash=token_hash(client_info["client_secret"]),
            name=client_metadata["client_name"],
            registration=client_metadata,
            registered_at=self.now,
        )
        self.session.add(record)
        self.session.flush()
        host = urlsplit(client_metadata["client_uri"]).hostname or ""
        audit.record(self.session, None, "ob_client.registered", record.client_id, host=host)
        return record


def register(
    session: Session,
    request: OAuthRequest,
    *,
    allow_loopback_http: bool = False,
    now: datetime | None = None,
) -> OAuthAnswer:
    """RFC 7591 §3: 201 with the client's credentials and metadata, or 400 saying why not."""
    endpoint = _Registration(session, now or datetime.now(UTC), allow_loopback_http)
    try:
        return answer(*endpoint.create_registration_response(json_request(request)))
    except OAuth2Error as error:
        return answer(*error())


def check_registration(metadata: object, *, allow_loopback_http: bool) -> None:
    """OB 3.0's rules for a registration request, on top of RFC 7591's (which Authlib checks
    next): every required property, of its type and within our limits; https URLs on one host."""
    if not isinstance(metadata, dict):
        raise InvalidClientMetadataError("the registration request is a JSON object")
    missing = [name for name in REQUIRED if not metadata.get(name)]
    if missing:
        raise InvalidClientMetadataError(f"required: {', '.join(missing)}")
    refused = [name for name in REFUSED if name in metadata]
    if refused:
        raise InvalidClientMetadataError(
            f"not accepted: {', '.join(refused)} (clients authenticate with client_secret_basic)"
        )
    for name in TEXTS + URLS:
        value = metadata.get(name)
        longest = MAX_URL if name in (*URLS, "scope") else MAX_TEXT
        if value is not None and not _text(value, longest):
            raise InvalidClientMetadataError(f"{name} must be one line of text, not too long")
    for name in LISTS:
        values = metadata.get(name, [])
        if not isinstance(values, list) or len(values) > MAX_ITEMS:
            raise InvalidClientMetadataError(f"{name} must be an array of at most {MAX_ITEMS}")
        if not all(_text(value, MAX_URL) for value in values):
            raise InvalidClientMetadataError(f"{name} must hold strings of one line")
    hosts = {_host(metadata[name], name, allow_loopback_http) for name in URLS}
    for uri in metadata["redirect_uris"]:
        hosts.add(_host(uri, "redirect_uris", allow_loopback_http, redirect=True))
    if len(hosts) > 1:
        raise InvalidClientMetadataError("all URLs must have the same host name")


def _text(value: object, longest: int) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= longest
        and not limits.has_control_character(value)
        and not has_format_control(value)
    )


def has_format_control(value: str) -> bool:
    """Whether `value` holds a bidirectional formatting character (U+202A–U+202E,
    U+2066–U+2069, U+200E, U+200F, U+061C): refused in names people read."""
    return limits.has_control_character(value, multiline=True)


def _host(url: str, name: str, allow_loopback_http: bool, *, redirect: bool = False) -> str:
    error = InvalidRedirectURIError if redirect else InvalidClientMetadataError
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # port: ValueError past 65535
    except ValueError:
        raise error(f"{name}: not a URL with a valid port") from None
    if port == 0 or parts.netloc.endswith(":"):
        raise error(f"{name}: a port, when there is one, is a number from 1 to 65535")
    if not host or parts.username is not None or parts.fragment:
        raise error(f"{name}: an absolute URL with a host, without user or fragment")
    if parts.scheme != "https" and not (
        allow_loopback_http and parts.scheme == "http" and _loopback(host)
    ):
        raise error(f"{name}: only https URLs are accepted")
    return host.lower()


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


def clients(session: Session) -> list[ObClient]:
    """Every registered client, newest first."""
    return list(session.scalars(select(ObClient).order_by(ObClient.registered_at.desc())))


def revoke_client(
    session: Session, actor: User, client_id: str, now: datetime | None = None
) -> ObClient:
    """Shut a client out (audited): it can no longer get or use a token, and every token it
    holds stops working at once. Revoking twice changes nothing more."""
    now = now or datetime.now(UTC)
    record = session.get(ObClient, client_id) if len(client_id) <= limits.RANDOM_TOKEN else None
    if record is None:
        raise NotFound(f"no client {client_id}")
    if record.revoked_at is None:
        record.revoked_at = now
        session.execute(
            update(ObToken)
            .where(ObToken.client_id == client_id, ObToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(session, actor, "ob_client.revoked", client_id, name=record.name)
    return record
