"""A learner sends one of their credentials to a backpack that speaks the Open Badges API:
we are the Consumer (OB 3.0 §7.1, "Service Consumer (Write)").

Discovery (`/ims/ob/v3p0/discovery`), dynamic registration once per backpack, the
authorization code flow with PKCE (S256) and `state` through the learner's browser, then
upsertCredential with the credential exactly as signed. The access token is used for that one
request and revoked at once where the backpack names a revocation URL; no token is kept.

Every request goes through the verifier's `Fetcher` (https, no private or loopback address
unless ISSUER_ALLOW_PRIVATE_FETCH, size and time limits), the whole send under one deadline
(SEND_SECONDS) and the whole delivery under another (DELIVERY_SECONDS); every endpoint a
backpack names must be on its own origin, so a backpack cannot send our code and client
secret to another server (the OAuth mix-up attack). Network calls and database work are
separate functions, so the edge never holds a transaction while a backpack answers.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.errors import InvalidInput, NotFound, Unreachable
from issuer.services import audit
from issuer.services.accounts import token_hash
from issuer.services.fetching import Fetcher
from issuer.services.obapi import scopes
from issuer.services.obapi.discovery import API_PATH
from issuer.services.obapi.outbound import Reply, parse_json, post
from issuer.store.models import CredentialRecord, ObProvider, ObPush, User

# This software's id in every registration (RFC 7591 §2: the same for all its installations).
SOFTWARE_ID = "8b0e8f5c-3f1d-5a57-9d0e-6a1f4b2c9e71"
PUSH_LIFETIME = timedelta(minutes=15)
# One deadline for discovery, registration and the start of the authorization together, and
# one for the token and the upsert: a backpack that drips its answers holds a worker no longer.
SEND_SECONDS = 20.0
DELIVERY_SECONDS = 20.0
# The longest client id and secret a backpack may give us (we keep them and send them back in
# every authorization URL and Basic header); RFC 7591 sets no limit, 255 is generous.
MAX_CLIENT_CREDENTIAL = 255
MAX_ACCESS_TOKEN = 4096
# RFC 6750 §2.1 b64token: what a bearer token may hold (and nothing that breaks a header).
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True)
class Backpack:
    """What a backpack's Service Description Document says of it."""

    base_url: str
    name: str
    registration_url: str
    authorization_url: str
    token_url: str
    revocation_url: str | None


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """How we present ourselves when we register (OB 3.0 §7.1.1.2: all on our host)."""

    name: str
    version: str
    client_uri: str
    logo_uri: str
    tos_uri: str
    policy_uri: str
    redirect_uri: str


def backpack_address(text: str, *, allow_loopback_http: bool) -> str:
    """The base URL a learner typed, checked: https (http on loopback only in tests), no
    query, fragment or user; without a trailing slash."""
    url = text.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise InvalidInput("that is not a web address") from None
    if not host or parts.query or parts.fragment or parts.username is not None:
        raise InvalidInput("type the backpack's address, such as https://backpack.example")
    if parts.scheme != "https" and not (allow_loopback_http and parts.scheme == "http"):
        raise InvalidInput("a backpack's address starts with https://")
    return url


def discover(fetcher: Fetcher, base_url: str) -> Backpack:
    """The backpack's Service Description Document, read and checked."""
    not_api = Unreachable(f"{base_url} does not describe an Open Badges API")
    try:
        document = parse_json(fetcher.get(base_url + API_PATH + "/discovery"))
        scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
        flow = scheme["flows"]["authorizationCode"]
        name = str(document["info"]["title"])[:200]
        offered = flow.get("scopes", {})
        endpoints = [
            scheme["x-imssf-registrationUrl"],
            flow["authorizationUrl"],
            flow["tokenUrl"],
            scheme.get("x-revocationUrl"),
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise not_api from None
    required, revocation = endpoints[:3], endpoints[3]
    if not isinstance(offered, dict) or not all(_is_url(url) for url in required):
        raise not_api
    if revocation is not None and not _is_url(revocation):
        raise not_api
    for url in endpoints:
        if url is not None and not _same_origin(url, base_url):
            raise Unreachable(
                f"{name} names an endpoint on another server ({str(url)[:100]}): "
                f"every endpoint must be on {_origin(base_url)}"
            )
    if scopes.CREDENTIAL_UPSERT not in offered:
        raise Unreachable(f"{name} does not accept badges from elsewhere")
    return Backpack(base_url, name, *endpoints)


def _is_url(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 2000


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in; ValueError if it is no URL."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _same_origin(url: object, base_url: str) -> bool:
    """An endpoint of the backpack's: a URL on the origin (scheme, host, port) of its base URL."""
    if not _is_url(url):
        return False
    try:
        return _origin(str(url)) == _origin(base_url)
    except ValueError:
        return False


def register(fetcher: Fetcher, backpack: Backpack, me: ClientProfile) -> tuple[str, str]:
    """Register with the backpack (RFC 7591): our client id and secret there."""
    body = {
        "client_name": me.name,
        "client_uri": me.client_uri,
        "logo_uri": me.logo_uri,
        "tos_uri": me.tos_uri,
        "policy_uri": me.policy_uri,
        "software_id": SOFTWARE_ID,
        "software_version": me.version,
        "redirect_uris": [me.redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": scopes.CREDENTIAL_UPSERT,
    }
    reply = post(fetcher, backpack.registration_url, json.dumps(body).encode(), _JSON)
    answer = reply.json()
    if reply.status not in (200, 201) or not isinstance(answer, dict):
        raise Unreachable(f"{backpack.name} refused to register us: {_why(reply)}")
    client_id, secret = answer.get("client_id"), answer.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise Unreachable(f"{backpack.name} sent no client credentials")
    if not all(0 < len(value) <= MAX_CLIENT_CREDENTIAL for value in (client_id, secret)):
        longest = MAX_CLIENT_CREDENTIAL
        raise Unreachable(f"{backpack.name} sent a client id or secret over {longest} characters")
    return client_id, secret


_JSON = {"content-type": "application/json", "accept": "application/json"}


def provider(session: Session, base_url: str) -> ObProvider | None:
    return session.scalar(select(ObProvider).where(ObProvider.base_url == base_url))


def remember(
    session: Session, backpack: Backpack, client: tuple[str, str], now: datetime
) -> ObProvider:
    """Keep the registration (a concurrent one for the same backpack: the first stays)."""
    record = ObProvider(
        base_url=backpack.base_url,
        name=backpack.name,
        authorization_url=backpack.authorization_url,
        token_url=backpack.token_url,
        revocation_url=backpack.revocation_url,
        client_id=client[0],
        client_secret=client[1],
        registered_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        existing = provider(session, backpack.base_url)
        if existing is None:
            raise
        return existing
    return record


def start_push(
    session: Session,
    user: User,
    record: ObProvider,
    credential_id: str,
    redirect_uri: str,
    now: datetime,
) -> str:
    """A push of one of the learner's own credentials: where to send their browser."""
    credential = session.get(CredentialRecord, credential_id)
    if (
        credential is None
        or credential.learner_id != user.id
        or credential.copy_of is not None
        or credential.revoked_at is not None
    ):
        raise NotFound("no such badge of yours")
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    session.add(
        ObPush(
            state_hash=token_hash(state),
            user_id=user.id,
            provider_id=record.id,
            credential_id=credential.id,
            code_verifier=verifier,
            created_at=now,
            expires_at=now + PUSH_LIFETIME,
        )
    )
    return str(
        add_params_to_uri(
            record.authorization_url,
            [
                ("response_type", "code"),
                ("client_id", record.client_id),
                ("redirect_uri", redirect_uri),
                ("scope", scopes.CREDENTIAL_UPSERT),
                ("state", state),
                ("code_challenge", create_s256_code_challenge(verifier)),
                ("code_challenge_method", "S256"),
            ],
        )
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A push whose state came back with the learner: what finishing it needs."""

    push_id: int
    backpack: str
    base_url: str
    token_url: str
    revocation_url: str | None
    client_id: str
    client_secret: str
    code_verifier: str
    document: str


def claim_push(session: Session, user: User, state: str, now: datetime) -> Claimed:
    """Spend the push `state` names, once, for this learner (one conditional UPDATE; the
    verifier is erased as it is read). NotFound for an unknown, used or expired one."""
    pushed = session.execute(
        update(ObPush)
        .where(
            ObPush.state_hash == token_hash(state),
            ObPush.user_id == user.id,
            ObPush.used_at.is_(None),
            ObPush.expires_at > now,
        )
        .values(used_at=now)
        .returning(ObPush.id, ObPush.provider_id, ObPush.credential_id, ObPush.code_verifier)
    ).one_or_none()
    if pushed is None:
        raise NotFound("this answer from a backpack was used already or came too late")
    push_id, provider_id, credential_id, verifier = pushed
    # RETURNING gives the row as updated: the verifier is erased once it has been read.
    session.execute(update(ObPush).where(ObPush.id == push_id).values(code_verifier=None))
    record = session.get(ObProvider, provider_id)
    credential = session.get(CredentialRecord, credential_id)
    if record is None or credential is None or verifier is None:
        raise NotFound("this push is gone")
    return Claimed(
        push_id,
        record.name,
        record.base_url,
        record.token_url,
        record.revocation_url,
        record.client_id,
        record.client_secret,
        verifier,
        credential.document,
    )


def deliver(fetcher: Fetcher, claimed: Claimed, code: str, redirect_uri: str) -> str:
    """Exchange the code, upsert the credential, revoke the token: "added" or "updated";
    Unreachable saying what the backpack answered otherwise."""
    fetcher = fetcher.within(DELIVERY_SECONDS)
    basic = base64.b64encode(
        f"{quote(claimed.client_id, safe='')}:{quote(claimed.client_secret, safe='')}".encode()
    ).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "scope": scopes.CREDENTIAL_UPSERT,
        "code_verifier": claimed.code_verifier,
    }
    headers = {
        "authorization": f"Basic {basic}",
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
    }
    reply = post(fetcher, claimed.token_url, urlencode(form).encode(), headers)
    issued = reply.json()
    access = issued.get("access_token") if isinstance(issued, dict) else None
    if reply.status != 200 or not isinstance(access, str) or not isinstance(issued, dict):
        raise Unreachable(f"{claimed.backpack} gave no access: {_why(reply)}")
    if len(access) > MAX_ACCESS_TOKEN or not _B64TOKEN.fullmatch(access):
        raise Unreachable(f"{claimed.backpack} gave an access token that cannot be used")
    try:
        upserted = post(
            fetcher,
            claimed.base_url + API_PATH + "/credentials",
            claimed.document.encode("utf-8"),
            {**_JSON, "authorization": f"Bearer {access}"},
        )
    finally:
        _revoke(fetcher, claimed, headers["authorization"], issued)
    if upserted.status not in (200, 201):
        raise Unreachable(f"{claimed.backpack} did not take the badge: {_why(upserted)}")
    return "added" if upserted.status == 201 else "updated"


def _revoke(fetcher: Fetcher, claimed: Claimed, basic: str, issued: dict[str, Any]) -> None:
    """Give the tokens back (RFC 7009); a backpack that cannot be reached keeps them until
    they expire, which is no reason to report the push as failed."""
    if claimed.revocation_url is None:
        return
    headers = {"authorization": basic, "content-type": "application/x-www-form-urlencoded"}
    for hint in ("refresh_token", "access_token"):
        if isinstance(issued.get(hint), str):
            body = urlencode({"token": issued[hint], "token_type_hint": hint}).encode()
            try:
                post(fetcher, claimed.revocation_url, body, headers)
            except Unreachable:
                return


def _why(reply: Reply) -> str:
    """What a backpack said when it refused: an OAuth error, an Imsx_StatusInfo, or the status."""
    answer = reply.json()
    if isinstance(answer, dict):
        said = answer.get("error_description") or answer.get("error")
        said = said or answer.get("imsx_description")
        if isinstance(said, str):
            return f"{said[:200]} (HTTP {reply.status})"
    return f"HTTP {reply.status}"


def finish(session: Session, user: User, claimed: Claimed, outcome: str, now: datetime) -> None:
    """Record what became of a push (audited when the backpack took the badge)."""
    session.execute(
        update(ObPush).where(ObPush.id == claimed.push_id).values(outcome=outcome, completed_at=now)
    )
    if outcome in ("added", "updated"):
        audit.record(session, user, "credential.sent", claimed.backpack[:200], outcome=outcome)


def pushes(session: Session, user: User, limit: int = 20) -> list[ObPush]:
    """The learner's latest pushes, newest first."""
    query = select(ObPush).where(ObPush.user_id == user.id).order_by(ObPush.created_at.desc())
    return list(session.scalars(query.limit(limit)))
