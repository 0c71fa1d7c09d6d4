"""The one guarded entry into verification: the verify page, the VC-API, wallet exchanges,
OpenID4VCI proofs and `issuer verify` all come through here, under the same limits.

Input: a credential as JSON, a compact JWT, a baked PNG or SVG, or an HTTPS URL to any of
those (or a presentation). Limits: at most 1 MB, 64 levels deep, 20,000 JSON values and 16
explicit blank-node labels (which bound the JSON-LD work), for JSON and for the decoded payload
of every JWT alike (alone or in a presentation); a CPU-time limit on JSON-LD; one
wall-clock deadline for every fetch a verification makes (controller documents, status
lists); a cap on status entries (in `status_check`). Output: a VerificationReport, with, for
credentials this issuer signed, a check that the credential agrees with what is on record.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import jwt
from sqlalchemy.orm import Session

from issuer.baking.png import SIGNATURE, extract_png
from issuer.baking.svg import extract_svg
from issuer.certification import identifies, identity_object_problems
from issuer.checks import RECORDS_MISMATCH, REVOKED, Check, VerificationReport
from issuer.controllers import Resolve, bind_verification_method
from issuer.data_model import Fetch as ResourceFetch
from issuer.dids import resolve_locally
from issuer.errors import InvalidInput
from issuer.jsonld.canonize import time_limit
from issuer.jsonld.loader import load_document
from issuer.proofs.data_integrity import AUTHENTICATION
from issuer.proofs.vc_jwt import fits, looks_like_jwt
from issuer.services.fetching import Fetcher
from issuer.services.identity import make_resolver
from issuer.services.issuing import Issuer
from issuer.services.status import make_fetch
from issuer.store.models import CredentialRecord
from issuer.types import JsonObject
from issuer.verification import Expectations, requested_checks, verify_credential
from issuer.verification import verify_presentation as verify_presentation_document

MAX_INPUT_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_VALUES = 20_000
# Explicitly labelled blank nodes are how RDFC-1.0 "poison" graphs are built (their
# canonicalization is exponential); credentials rarely use any.
MAX_BLANK_NODE_LABELS = 16
JSON_LD_SECONDS = 5.0
# Every fetch of one verification (DID documents, status lists, the credential's URL) together.
FETCH_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the caller asks of a verification (VC-API `options`).

    `challenge` and `domain` must then appear in the proof; `checks` limits the checks run to
    those named (None: all of them). `local_keys_only` resolves did:key and did:jwk but never
    fetches a key (wallet exchanges, whose holders are did:key).
    """

    challenge: str | None = None
    domain: str | None = None
    checks: frozenset[str] | None = None
    local_keys_only: bool = False

    @classmethod
    def from_request(cls, options: object) -> VerifyOptions:
        """VC-API `options`: InvalidInput for a shape or a check name we do not know."""
        if options is None:
            return cls()
        if not isinstance(options, dict):
            raise InvalidInput("options must be a JSON object")
        values = {name: options.get(name) for name in ("challenge", "domain")}
        for name, value in values.items():
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"options.{name} must be a string")
        checks = options.get("checks")
        if checks is not None and not isinstance(checks, list):
            raise InvalidInput("options.checks must be a list of check names")
        return cls(
            challenge=values["challenge"],
            domain=values["domain"],
            checks=requested_checks(checks) if checks is not None else None,
        )

    def expectations(self) -> Expectations:
        return Expectations(self.challenge, self.domain, self.checks)


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
        return read_jwt(text)
    return read_document(text, "a credential")


def read_document(text: str | bytes, what: str) -> JsonObject:
    """A JSON object within the size, depth, value and blank-node limits."""
    if len(text) > MAX_INPUT_BYTES:
        raise InvalidInput(f"input larger than {MAX_INPUT_BYTES} bytes")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput("input is not JSON, a JWT, a PNG or an SVG") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{what} is a JSON object")
    check_shape(document)
    return document


def read_jwt(token: str) -> str:
    """A compact JWS whose payload (the credential, or the OB 3.0 claims carrying it) is
    within the same depth, value and blank-node limits as JSON input. The signature is left to
    the verifier: the limits come first, so no oversized payload is ever verified or expanded.
    A payload that is not JSON at all is left to the verifier too, which reports it as such."""
    token = token.strip()
    payload = token.split(".")[1] if token.count(".") == 2 else ""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except RecursionError:
        raise InvalidInput(f"the JWT's payload is too deep (limit: {MAX_DEPTH} levels)") from None
    except ValueError:  # not base64url, UTF-8 or JSON
        return token
    check_shape(decoded)
    return token


def _check_presented_jwts(presentation: JsonObject) -> None:
    """The limits on every credential a presentation carries as a compact JWS; those given as
    JSON were checked with the presentation itself."""
    credentials = presentation.get("verifiableCredential")
    for credential in credentials if isinstance(credentials, list) else [credentials]:
        if isinstance(credential, str) and looks_like_jwt(credential):
            read_jwt(credential)


def check_shape(document: Any) -> None:
    """Refuse documents too deep, too large, or with too many blank-node labels to process."""
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


def as_input(document: object) -> bytes:
    """A VC-API body's credential as verify_input takes it; InvalidInput for a string that is
    not a compact JWS, or anything that is neither an object nor a string."""
    if isinstance(document, str):
        if not looks_like_jwt(document):
            raise InvalidInput("a credential given as a string must be a compact JWS (a JWT)")
        return document.encode("utf-8")
    if not isinstance(document, dict):
        raise InvalidInput("verifiableCredential must be a JSON object or a compact JWS")
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def verify_input(
    data: bytes,
    *,
    session: Session | None,
    issuer: Issuer | None,
    fetcher: Fetcher,
    now: datetime | None = None,
    options: VerifyOptions | None = None,
) -> VerificationReport:
    """Verify whatever `data` holds; an https:// URL is fetched first (within limits)."""
    options = options or VerifyOptions()
    fetcher = fetcher.within(FETCH_SECONDS)
    # Without a database (the CLI on a machine with no issuer set up) we are just a verifier.
    own = issuer if session is not None else None
    url = _address(data)
    if url is not None:
        data = _fetch_bytes(url, own, session, fetcher)
    credential = read_credential(data)
    with _guarded():
        report = verify_credential(
            credential,
            now=now or datetime.now(UTC),
            resolve=_resolver(issuer, fetcher, options),
            loader=load_document,
            fetch=make_fetch(session, own, fetcher),
            expect=options.expectations(),
            resources=_resources(fetcher, options),
        )
    if own is not None and session is not None and report.credential is not None:
        records = _records_check(session, own, report.credential)
        if records is not None:
            return VerificationReport((*report.checks, records), report.credential)
    return report


def verify_presentation_input(
    presentation: object,
    *,
    session: Session | None,
    issuer: Issuer | None,
    fetcher: Fetcher,
    now: datetime | None = None,
    options: VerifyOptions | None = None,
) -> VerificationReport:
    """A Verifiable Presentation (VC-API, wallet exchanges), under the same limits."""
    options = options or VerifyOptions()
    if not isinstance(presentation, dict):
        raise InvalidInput("verifiablePresentation must be a JSON object")
    document = read_document(json.dumps(presentation, ensure_ascii=False), "a presentation")
    _check_presented_jwts(document)
    fetcher = fetcher.within(FETCH_SECONDS)
    own = issuer if session is not None else None
    with _guarded():
        return verify_presentation_document(
            document,
            now=now or datetime.now(UTC),
            resolve=_resolver(issuer, fetcher, options),
            loader=load_document,
            fetch=make_fetch(session, own, fetcher) if not options.local_keys_only else None,
            expect=options.expectations(),
            resources=_resources(fetcher, options),
        )


Belonging = Literal["match", "no match", "no e-mail"]
MAX_EMAIL_LENGTH = 320


def belongs_to(credential: JsonObject, email: str) -> Belonging:
    """Does the credential name `email` as its earner's (an OB 3.0 IdentityObject of type
    emailAddress, its hash salted as the object says)? "no e-mail" when the credential
    identifies its earner otherwise (a DID, a name) or only by malformed objects.

    The address is hashed and compared here and goes nowhere else: no log, no audit, no URL.
    """
    emails = _email_identifiers(credential)
    if not emails:
        return "no e-mail"
    return "match" if any(identifies(item, email) for item in emails) else "no match"


def names_an_email(credential: JsonObject) -> bool:
    """Can an e-mail address be checked against this credential at all?"""
    return bool(_email_identifiers(credential))


def _email_identifiers(credential: JsonObject) -> list[JsonObject]:
    return [
        item
        for item in _identifiers(credential)
        if isinstance(item, dict)
        and item.get("identityType") == "emailAddress"
        and not identity_object_problems(item)
    ]


def _identifiers(credential: JsonObject) -> list[object]:
    subjects = credential.get("credentialSubject")
    found: list[object] = []
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if isinstance(subject, dict):
            items = subject.get("identifier")
            found += items if isinstance(items, list) else [items] if items is not None else []
    return found


def portable_input(data: bytes) -> tuple[str, str]:
    """(form field, value) that submits `data` again as text: the address it was fetched
    from, or the credential itself (JSON, or the JWT as it came, so its proof still holds)
    out of a baked PNG or SVG. For the verify page's follow-up questions."""
    url = _address(data)
    if url is not None:
        return "url", url
    credential = read_credential(data)
    if isinstance(credential, str):
        return "credential", credential
    return "credential", json.dumps(credential, ensure_ascii=False)


MAX_KEY_PROOF_BYTES = 16_384


def verify_key_proof(token: str, *, audience: str, algorithm: str) -> JsonObject:
    """An OpenID4VCI key proof (a JWT signed by the wallet's did:key or did:jwk, for our
    audience, carrying `iat` and `nonce`): its claims, or InvalidInput saying why not.

    The key is bound like every other (`controllers.py`), locally: no key is fetched for a
    wallet.
    """
    if len(token) > MAX_KEY_PROOF_BYTES or not looks_like_jwt(token):
        raise InvalidInput("a key proof is a compact JWS of at most 16 KB")
    kid = jwt.get_unverified_header(token).get("kid")
    if not isinstance(kid, str):
        raise InvalidInput("the key proof names no kid")
    key = bind_verification_method(kid, resolve_locally, AUTHENTICATION).public_key
    if not fits(algorithm, key):
        raise InvalidInput(f"alg {algorithm} does not fit the key {kid}")
    try:
        claims: JsonObject = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=audience,
            options={"require": ["aud", "iat", "nonce"]},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidInput(str(error)) from None
    return claims


def _resources(fetcher: Fetcher, options: VerifyOptions) -> ResourceFetch | None:
    """Related resources, to check their digests: any media type, within the deadline."""
    if options.local_keys_only:
        return None
    return partial(fetcher.get, accept="*/*")


def _resolver(issuer: Issuer | None, fetcher: Fetcher, options: VerifyOptions) -> Resolve:
    if options.local_keys_only:
        return resolve_locally
    return make_resolver(issuer.identity if issuer else None, fetcher)


@contextmanager
def _guarded() -> Iterator[None]:
    """The CPU-time limit on JSON-LD processing of untrusted input."""
    with time_limit(JSON_LD_SECONDS):
        yield


def _address(data: bytes) -> str | None:
    """The http(s) address `data` is, if it is one (else it is the credential itself)."""
    text = data[:2048].decode("utf-8", "replace").strip()
    if text.startswith(("https://", "http://")) and len(data) <= 2048 and " " not in text:
        return text
    return None


def _fetch_bytes(
    url: str, issuer: Issuer | None, session: Session | None, fetcher: Fetcher
) -> bytes:
    if issuer is not None and session is not None and url.startswith(issuer.credential_url("")):
        # Our own credentials come from our records, as their pages do: a private one is
        # "not found" to a verifier, exactly like one that does not exist.
        record = session.get(CredentialRecord, url.removeprefix(issuer.credential_url("")))
        if record is None or not record.public:
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
        message = "this issuer has no record of issuing this credential"
        return Check("records", "failed", message, RECORDS_MISMATCH)
    stored = json.loads(record.document)
    presented = {k: v for k, v in credential.items() if k != "proof"}
    if {k: v for k, v in stored.items() if k != "proof"} != presented:
        message = "differs from the credential this issuer recorded"
        return Check("records", "failed", message, RECORDS_MISMATCH)
    if record.superseded_at is not None:
        return Check(
            "records",
            "warning",
            f"superseded on {record.superseded_at:%Y-%m-%d} by a renewed credential",
            essential=False,
        )
    if record.revoked_at is not None:
        return Check(
            "records",
            "failed",
            f"revoked on {record.revoked_at:%Y-%m-%d}: {record.revocation_reason}",
            REVOKED,
        )
    return Check(
        "records", "passed", f"matches the issuer's record (issued {record.issued_at:%Y-%m-%d})"
    )
