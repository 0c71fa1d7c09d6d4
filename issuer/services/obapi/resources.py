"""The protected endpoints of our Open Badges API (OB 3.0 §6.2): who the bearer token speaks
for, a learner's credentials a page at a time, keeping a credential received elsewhere, and
the learner's Profile.

getCredentials returns what we issued the learner (signed, as stored; wallet copies and
revoked awards left out) and what they keep here from elsewhere, oldest first. upsertCredential
keeps a credential only once it verifies (through `verifying.verify_input`, under its limits),
by the spec's credential equality: the same issuer id and credential id replace the stored one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from uuid import NAMESPACE_URL, uuid5

from authlib.oauth2.rfc6749 import OAuth2Error, ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import limits
from issuer.data_model import parse_date_time
from issuer.errors import InvalidInput, NotAuthenticated, PermissionDenied
from issuer.proofs.vc_jwt import looks_like_jwt
from issuer.services import audit, people
from issuer.services.fetching import Fetcher
from issuer.services.issuing import Issuer
from issuer.services.obapi import tokens
from issuer.services.obapi.clients import has_format_control
from issuer.services.obapi.messages import Headers
from issuer.services.verifying import read_document, verify_input
from issuer.store.models import CredentialRecord, HeldCredential, User
from issuer.types import JsonObject

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
PROFILE_FIELDS = {"@context", "id", "type", "name", "email"}


class TokenRefused(NotAuthenticated):
    """No access token, or one that is unknown, expired or revoked (401). `challenge` is the
    WWW-Authenticate header RFC 6750 §3 asks for."""

    def __init__(self, message: str, challenge: str) -> None:
        self.challenge = challenge
        super().__init__(message)


class ScopeRefused(PermissionDenied):
    """A live token without the scope this endpoint needs (403, RFC 6750 §3.1)."""

    def __init__(self, message: str, challenge: str) -> None:
        self.challenge = challenge
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Bearer:
    """Who an access token speaks for, and which app holds it."""

    user: User
    client_id: str


class _Validator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, session: Session, now: datetime) -> None:
        super().__init__(realm="Open Badges API")
        self.session = session
        self.now = now

    def authenticate_token(self, token_string: str) -> tokens.IssuedToken | None:
        record = tokens.access(self.session, token_string, self.now)
        return tokens.IssuedToken(record) if record is not None else None


class _Request:
    def __init__(self, authorization: str | None) -> None:
        self.headers = Headers({"authorization": authorization} if authorization else {})


def bearer(
    session: Session, authorization: str | None, scope: str, now: datetime | None = None
) -> Bearer:
    """The learner a request's `Authorization: Bearer …` speaks for, if its token holds
    `scope`; TokenRefused or ScopeRefused otherwise."""
    protector = ResourceProtector()
    protector.register_token_validator(_Validator(session, now or datetime.now(UTC)))
    try:
        token: tokens.IssuedToken = protector.validate_request([scope], _Request(authorization))
    except OAuth2Error as error:
        challenge = dict(error.get_headers()).get(
            "WWW-Authenticate", f'Bearer realm="Open Badges API", error="{error.error}"'
        )
        message = error.get_error_description() or error.error
        if error.status_code == 403:
            raise ScopeRefused(f"this token does not allow that: {scope}", challenge) from None
        raise TokenRefused(message, challenge) from None
    user = session.get(User, token.record.user_id)
    if user is None:  # tokens.access joined it: only a concurrent delete could get here
        raise TokenRefused("unknown access token", 'Bearer error="invalid_token"')
    return Bearer(user, token.record.client_id)


@dataclass(frozen=True, slots=True)
class CredentialsPage:
    """One page of a learner's credentials: JSON ones and compact JWS ones, and how many
    there are in all (for X-Total-Count and the Link header)."""

    credential: list[JsonObject]
    compact_jws: list[str]
    total: int


def credentials_page(
    session: Session, user: User, *, limit: int, offset: int, since: datetime | None = None
) -> CredentialsPage:
    """Issued here and held here, oldest first (by when each was issued), `since` excluded."""
    issued = select(CredentialRecord.issued_at, CredentialRecord.id).where(
        CredentialRecord.learner_id == user.id,
        CredentialRecord.copy_of.is_(None),
        CredentialRecord.revoked_at.is_(None),
    )
    held = select(HeldCredential.issued_at, HeldCredential.id).where(
        HeldCredential.user_id == user.id
    )
    if since is not None:
        issued = issued.where(CredentialRecord.issued_at > since)
        held = held.where(HeldCredential.issued_at > since)
    keys = sorted(
        [(at, 0, str(key)) for at, key in session.execute(issued)]
        + [(at, 1, str(key)) for at, key in session.execute(held)]
    )
    page = keys[offset : offset + limit]
    ours = _by_id(session, CredentialRecord, [key for _, kind, key in page if kind == 0])
    theirs = _by_id(session, HeldCredential, [int(key) for _, kind, key in page if kind == 1])
    found = CredentialsPage([], [], len(keys))
    for _, kind, key in page:
        if kind == 0:
            found.credential.append(json.loads(ours[key].document))
        elif theirs[key].compact_jws:
            found.compact_jws.append(theirs[key].document)
        else:
            found.credential.append(json.loads(theirs[key].document))
    return found


def _by_id(session: Session, table: Any, ids: list[Any]) -> dict[str, Any]:
    """Rows of `table` by their id (as a string)."""
    return {str(row.id): row for row in session.scalars(select(table).where(table.id.in_(ids)))}


@dataclass(frozen=True, slots=True)
class Received:
    """A credential sent to upsertCredential that verified: as sent, and as read."""

    document: str
    compact_jws: bool
    credential: JsonObject


def receive(
    data: bytes,
    *,
    compact_jws: bool,
    session: Session,
    issuer: Issuer | None,
    fetcher: Fetcher,
    now: datetime | None = None,
) -> Received:
    """Verify a credential before it is kept; InvalidInput saying why it is refused."""
    text = data.decode("utf-8", "replace").strip()
    if compact_jws and not looks_like_jwt(text):
        raise InvalidInput("a text/plain body must be a compact JWS (a VC-JWT)")
    if not compact_jws:
        read_document(data, "an AchievementCredential")
    report = verify_input(
        text.encode("utf-8"), session=session, issuer=issuer, fetcher=fetcher, now=now
    )
    credential = report.credential
    if credential is None or not report.verified:
        problems = [c.message for c in report.failed + report.not_checked if c.essential]
        words = "; ".join(problems[:3]) or report.verdict
        raise InvalidInput(f"the credential does not verify ({report.verdict}): {words}")
    types = credential.get("type")
    if not OB_TYPES.intersection(types if isinstance(types, list) else [types]):
        raise InvalidInput("only an OpenBadgeCredential (AchievementCredential) is kept here")
    return Received(text, compact_jws, credential)


def keep(
    session: Session,
    user: User,
    received: Received,
    *,
    client_id: str | None,
    now: datetime | None = None,
) -> tuple[HeldCredential, bool]:
    """Keep a verified credential for `user`: (the row, True) when new, (the row, False) when
    it replaced the one equal to it. Two racing upserts of one credential: one inserts, the
    other finds the row and replaces it (the unique key decides, on either database)."""
    now = now or datetime.now(UTC)
    values = _held_values(received, now) | {"client_id": client_id, "received_at": now}
    key = credential_key(received.credential, received.document)
    replace = (
        update(HeldCredential)
        .where(HeldCredential.user_id == user.id, HeldCredential.key == key)
        .values(**values)
        .returning(HeldCredential)
    )
    replaced = session.scalar(replace)
    if replaced is None:
        try:
            with session.begin_nested():
                created = HeldCredential(user_id=user.id, key=key, **values)
                session.add(created)
            audit.record(session, user, "credential.received", values["name"][:200])
            return created, True
        except IntegrityError:
            replaced = session.scalar(replace)
    if replaced is None:
        raise InvalidInput("the credential could not be kept; please send it again")
    return replaced, False


def credential_key(credential: JsonObject, document: str) -> str:
    """OB 3.0 credential equality: issuer id and credential id, percent-decoded and trimmed
    (a credential without an id equals only itself)."""
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    credential_id = credential.get("id")
    if not isinstance(credential_id, str):
        credential_id = "sha256:" + hashlib.sha256(document.encode("utf-8")).hexdigest()
    name = f"{unquote(str(issuer_id)).strip()}\n{unquote(credential_id).strip()}"
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def _held_values(received: Received, now: datetime) -> dict[str, Any]:
    credential = received.credential
    issuer = credential.get("issuer")
    issuer_name = issuer.get("name") or issuer.get("id") if isinstance(issuer, dict) else issuer
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    name = credential.get("name") or (
        achievement.get("name") if isinstance(achievement, dict) else None
    )
    issued = credential.get("validFrom") or credential.get("issuanceDate")
    return {
        "document": received.document,
        "compact_jws": received.compact_jws,
        "name": str(name or "An Open Badge")[: limits.ACHIEVEMENT_NAME],
        "issuer_name": str(issuer_name or "an unnamed issuer")[: limits.PERSON_NAME],
        "issued_at": (parse_date_time(issued) if isinstance(issued, str) else None) or now,
    }


def held_credentials(session: Session, user: User) -> list[HeldCredential]:
    """What the learner keeps here from elsewhere, newest first."""
    query = select(HeldCredential).where(HeldCredential.user_id == user.id)
    return list(session.scalars(query.order_by(HeldCredential.received_at.desc())))


def profile_id(user: User, base_url: str) -> str:
    """A learner's Profile id: stable, and telling nothing (not their e-mail, not a row id)."""
    return f"urn:uuid:{uuid5(NAMESPACE_URL, f'{base_url}/learners/{user.id}')}"


def profile(user: User, base_url: str) -> JsonObject:
    """The learner as an OB 3.0 Profile."""
    return {
        "@context": [OB_CONTEXT],
        "id": profile_id(user, base_url),
        "type": ["Profile"],
        "name": user.name,
        "email": user.email,
    }


def update_profile(session: Session, user: User, document: object, base_url: str) -> JsonObject:
    """putProfile takes the entire Profile; we change the name only. Anything else must stay
    as it is (the e-mail address changes from the account page, where the new one is
    confirmed), and a property we do not keep is refused, so no host believes it stored."""
    if not isinstance(document, dict):
        raise InvalidInput("a Profile is a JSON object")
    unknown = sorted(set(document) - PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(f"only the name can be changed here; not kept: {', '.join(unknown)}")
    if document.get("id") != profile_id(user, base_url):
        raise InvalidInput("id must be this learner's Profile id")
    types = document.get("type")
    if "Profile" not in (types if isinstance(types, list) else [types]):
        raise InvalidInput("type must include Profile")
    if "email" in document and document["email"] != user.email:
        raise InvalidInput("the e-mail address is changed from the account page, not here")
    name = document.get("name")
    if not isinstance(name, str):
        raise InvalidInput("name is required, as a string")
    if has_format_control(name):
        raise InvalidInput("name: no bidirectional formatting characters")
    people.rename(session, user, name, actor=user)
    return profile(user, base_url)
