"""The one verification engine behind the verify page, the VC-API and `issuer verify`.

Input: a credential as JSON, a compact JWT, a baked PNG or SVG, or an HTTPS URL to any of
those; at most 1 MB, at most 64 levels deep and 20,000 JSON values (which bounds the JSON-LD
work). Output: a VerificationReport, with, for credentials this issuer signed, a check that the
credential agrees with what is on record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from issuer.baking.png import SIGNATURE, extract_png
from issuer.baking.svg import extract_svg
from issuer.errors import InvalidInput
from issuer.jsonld.canonize import time_limit
from issuer.jsonld.loader import load_document
from issuer.proofs.vc_jwt import looks_like_jwt
from issuer.services.awards import Issuer
from issuer.services.fetching import Fetcher
from issuer.services.identity import make_resolver
from issuer.services.status import make_fetch
from issuer.store.models import CredentialRecord
from issuer.types import JsonObject
from issuer.verification import Check, VerificationReport, verify_credential

MAX_INPUT_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_VALUES = 20_000
# Explicitly labelled blank nodes are how RDFC-1.0 "poison" graphs are built (their
# canonicalization is exponential); credentials rarely use any.
MAX_BLANK_NODE_LABELS = 16
JSON_LD_SECONDS = 5.0


def read_credential(data: bytes) -> JsonObject | str:
    """The credential inside `data`: JSON object, compact JWT, or baked into a PNG or SVG."""
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(f"input larger than {MAX_INPUT_BYTES} bytes")
    if data.startswith(SIGNATURE):
        baked = extract_png(data)
        if baked is None:
            raise InvalidInput("this PNG carries no Open Badge credential")
        return read_credential(baked.encode("utf-8"))
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise InvalidInput("input is not UTF-8 text, a JWT, a PNG or an SVG") from None
    if text.startswith("<"):
        baked = extract_svg(text)
        if baked is None:
            raise InvalidInput("this SVG carries no Open Badge credential")
        return read_credential(baked.encode("utf-8"))
    if looks_like_jwt(text):
        return text
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput("input is not JSON, a JWT, a PNG or an SVG") from None
    if not isinstance(document, dict):
        raise InvalidInput("a credential is a JSON object")
    _check_shape(document)
    return document


def _check_shape(document: Any) -> None:
    values, labels, stack = 0, 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        values += 1
        if isinstance(value, str) and value.startswith("_:"):
            labels += 1
            if labels > MAX_BLANK_NODE_LABELS:
                raise InvalidInput(f"more than {MAX_BLANK_NODE_LABELS} blank node labels (_:…)")
        if depth > MAX_DEPTH or values > MAX_VALUES:
            raise InvalidInput(
                f"credential too deep or large (limits: {MAX_DEPTH} levels, {MAX_VALUES} values)"
            )
        children = (
            value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)


def verify_input(
    data: bytes,
    *,
    session: Session | None,
    issuer: Issuer | None,
    fetcher: Fetcher,
    now: datetime | None = None,
) -> VerificationReport:
    """Verify whatever `data` holds; an https:// URL is fetched first (within limits)."""
    text = data[:2048].decode("utf-8", "replace").strip()
    # Without a database (the CLI on a machine with no issuer set up) we are just a verifier.
    own = issuer if session is not None else None
    fetch = make_fetch(session, own, fetcher)
    if text.startswith(("https://", "http://")) and len(data) <= 2048 and " " not in text:
        data = _fetch_bytes(text, own, session, fetcher)
    credential = read_credential(data)
    now = now or datetime.now(UTC)
    with time_limit(JSON_LD_SECONDS):
        report = verify_credential(
            credential,
            now=now,
            resolve=make_resolver(issuer.identity if issuer else None, fetcher),
            loader=load_document,
            fetch=fetch,
        )
    if own is not None and session is not None and report.credential is not None:
        records = _records_check(session, own, report.credential)
        if records is not None:
            return VerificationReport((*report.checks, records), report.credential)
    return report


def _fetch_bytes(
    url: str, issuer: Issuer | None, session: Session | None, fetcher: Fetcher
) -> bytes:
    if issuer is not None and session is not None and url.startswith(issuer.credential_url("")):
        record = session.get(CredentialRecord, url.removeprefix(issuer.credential_url("")))
        if record is None:
            raise InvalidInput(f"no credential at {url}")
        return record.document.encode("utf-8")
    return fetcher.get(
        url, accept="application/ld+json, application/json, image/png, image/svg+xml"
    )


def _records_check(session: Session, issuer: Issuer, credential: JsonObject) -> Check | None:
    """For our own credentials: does it match what we issued?"""
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id.startswith(
        issuer.credential_url("")
    ):
        return None
    record = session.get(CredentialRecord, credential_id.removeprefix(issuer.credential_url("")))
    if record is None:
        return Check("records", "failed", "this issuer has no record of issuing this credential")
    stored = json.loads(record.document)
    presented = {k: v for k, v in credential.items() if k != "proof"}
    if {k: v for k, v in stored.items() if k != "proof"} != presented:
        return Check("records", "failed", "differs from the credential this issuer recorded")
    if record.superseded_at is not None:
        return Check(
            "records",
            "warning",
            f"superseded on {record.superseded_at:%Y-%m-%d} by a renewed credential",
        )
    if record.revoked_at is not None:
        return Check(
            "records",
            "failed",
            f"revoked on {record.revoked_at:%Y-%m-%d}: {record.revocation_reason}",
        )
    return Check(
        "records", "passed", f"matches the issuer's record (issued {record.issued_at:%Y-%m-%d})"
    )
