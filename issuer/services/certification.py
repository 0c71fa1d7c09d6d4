"""`issuer conformance check`: what 1EdTech's Issuer certification and validator would say of
one credential (a file: JSON, JWT, baked PNG or SVG) or of every credential this issuer has
stored, before an organisation submits its badge to the conformance test system.

Each credential is verified as any verifier here would (`verifying.verify_input`, under the
same limits; our own status lists and DID document come from the database and memory), and
the report is read the way the certification reads it (`issuer.certification`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.certification import (
    did_document_check,
    jwt_algorithm_check,
    recipient_check,
    safe_mode_check,
    schema_check,
    signature_check,
    status_list_check,
)
from issuer.checks import Check
from issuer.errors import IssuerError
from issuer.services.fetching import Fetcher
from issuer.services.identity import make_resolver
from issuer.services.issuing import Issuer
from issuer.services.verifying import FETCH_SECONDS, read_credential, verify_input
from issuer.store.models import CredentialRecord
from issuer.types import JsonObject


@dataclass(frozen=True, slots=True)
class Certification:
    """What the certification checks say of one credential (`subject`: a file or an id)."""

    subject: str
    checks: tuple[Check, ...]

    @property
    def passes(self) -> bool:
        return not any(check.status == "failed" for check in self.checks)


def check_input(
    data: bytes,
    subject: str,
    *,
    session: Session | None,
    issuer: Issuer | None,
    fetcher: Fetcher,
    recipient: str | None = None,
    now: datetime | None = None,
) -> Certification:
    """One credential. InvalidInput when `data` holds no credential at all."""
    secured = read_credential(data)
    report = verify_input(data, session=session, issuer=issuer, fetcher=fetcher, now=now)
    credential = report.credential
    checks = [safe_mode_check(report), signature_check(report)]
    if isinstance(secured, str):
        checks.append(jwt_algorithm_check(secured))
    if credential is not None:
        checks.insert(0, schema_check(report, credential))
        checks.append(_issuer_document_check(credential, issuer, fetcher))
        checks.append(recipient_check(credential, recipient))
        checks.append(status_list_check(report, credential))
    return Certification(subject, tuple(checks))


def check_stored(
    session: Session, issuer: Issuer, fetcher: Fetcher, *, now: datetime | None = None
) -> Iterator[Certification]:
    """Every credential on record, as signed (Data Integrity), then once the VC-JWT form this
    issuer serves for download (signed on request, with the key and algorithm it would use)."""
    first: CredentialRecord | None = None
    records = session.scalars(
        select(CredentialRecord).order_by(CredentialRecord.issued_at, CredentialRecord.id)
    )
    for record in records.yield_per(200):
        first = first or record
        yield check_input(
            record.document.encode("utf-8"),
            issuer.credential_url(record.id),
            session=session,
            issuer=issuer,
            fetcher=fetcher,
            now=now,
        )
    if first is not None:
        document = json.loads(first.document)
        unsecured = {key: value for key, value in document.items() if key != "proof"}
        token = issuer.identity.sign_jwt(unsecured)
        served = check_input(
            token.encode("utf-8"),
            f"{issuer.credential_url(first.id)} as a VC-JWT download",
            session=session,
            issuer=issuer,
            fetcher=fetcher,
            now=now,
        )
        yield Certification(served.subject, tuple(_as_download(c) for c in served.checks))


def _as_download(check: Check) -> Check:
    """The VC-JWT download is another form of a credential, not what is submitted for
    certification (the baked badge is): an algorithm the validator refuses is a warning."""
    if check.name != "JWT alg" or check.status != "failed":
        return check
    return Check(
        check.name,
        "warning",
        f"{check.message}; submit the baked badge, or use a did:web with a P-256 key "
        "(`issuer keys generate --type p256`) so that downloads are ES256",
        essential=False,
    )


def _issuer_document_check(
    credential: JsonObject, issuer: Issuer | None, fetcher: Fetcher
) -> Check:
    """The issuer's DID document, as the validator would resolve it."""
    named = credential.get("issuer")
    issuer_id = named.get("id") if isinstance(named, dict) else named
    if not isinstance(issuer_id, str) or not issuer_id.startswith("did:"):
        return Check(
            "DID document",
            "not checked",
            "the issuer is not a DID: the validator's DID document checks do not apply",
            essential=False,
        )
    resolve = make_resolver(issuer.identity if issuer else None, fetcher.within(FETCH_SECONDS))
    try:
        document = resolve(issuer_id.split("#", 1)[0])
    except IssuerError as error:
        return Check("DID document", "failed", f"{issuer_id} does not resolve: {error}")
    return did_document_check(document)
