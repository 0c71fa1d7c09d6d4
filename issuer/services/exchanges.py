"""Handing a credential to a wallet: the VC-API exchange (Learner Credential Wallet and other
VC-API wallets, plus LCW's legacy deep link) and OpenID4VCI 1.0's pre-authorized code flow.

Both end the same way: the wallet proves control of a did:key, and the learner's credential is
re-signed with `credentialSubject.id` set to that DID (and stored as such). Exchanges are
single-use, expire, and a GET never consumes one (mail scanners pre-fetch links).

Everything single-use (an exchange, a pre-authorized code, an access token, a c_nonce, and
each transaction-code attempt) is spent or counted by one conditional UPDATE … RETURNING whose
WHERE clause says "still unused and unexpired". Reading first and writing later is not enough:
on PostgreSQL, under READ COMMITTED, racing requests all read "unused" before any writes (one
pre-authorized code gave 3 access tokens); an UPDATE waits for the winner's row lock and then
re-checks its WHERE clause against the winner's row, so exactly one request gets a row back.
The earlier reads remain only to refuse the hopeless fast.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from sqlalchemy import update
from sqlalchemy.orm import Session

from issuer.dids import DID_KEY
from issuer.errors import Conflict, InvalidInput, IssuerError, NotFound
from issuer.proofs.vc_jwt import OB3_JWT
from issuer.services import awards
from issuer.services.accounts import token_hash
from issuer.services.awards import credential
from issuer.services.fetching import Fetcher
from issuer.services.issuing import Issuer
from issuer.services.verifying import VerifyOptions, verify_key_proof, verify_presentation_input
from issuer.store.models import CredentialRecord, Exchange, Nonce, User
from issuer.types import JsonObject

EXCHANGE_LIFETIME = timedelta(minutes=15)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
NONCE_LIFETIME = timedelta(minutes=5)
MAX_TX_CODE_ATTEMPTS = 3
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
LDP_VC = "OpenBadgeCredential_ldp_vc"
JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"
PROOF_JWT_TYPE = "openid4vci-proof+jwt"
KEY_PROOF_ALGORITHMS = ("EdDSA", "ES256")  # a wallet's did:key: Ed25519 or P-256


class ExchangeGone(Conflict):
    """Used or expired: the learner starts a new one."""


class OAuthError(InvalidInput):
    """An OpenID4VCI / OAuth error: `error` is the registered code the wallet expects."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.error, self.status = error, status
        super().__init__(description)


def _learners_credential(session: Session, learner: User, credential_id: str) -> CredentialRecord:
    record = credential(session, credential_id)
    if record.learner_id != learner.id:
        raise NotFound(f"no credential {credential_id} of yours")
    if record.revoked_at is not None:
        raise Conflict("a revoked credential cannot go into a wallet")
    if record.suspended_at is not None:
        raise Conflict("a suspended credential cannot go into a wallet until it is lifted")
    return record


# ── VC-API exchange ──


def start_vcapi(
    session: Session, learner: User, credential_id: str, now: datetime | None = None
) -> Exchange:
    now = now or datetime.now(UTC)
    record = _learners_credential(session, learner, credential_id)
    exchange = Exchange(
        id=secrets.token_urlsafe(16),
        credential_id=record.id,
        protocol="vcapi",
        challenge=secrets.token_urlsafe(16),
        created_at=now,
        expires_at=now + EXCHANGE_LIFETIME,
    )
    session.add(exchange)
    return exchange


def links(exchange: Exchange, issuer: Issuer) -> dict[str, str]:
    """The interaction URL (QR and link), the exchange endpoint and LCW's legacy deep links."""
    host = urlsplit(issuer.base_url).netloc
    legacy = urlencode(
        {
            "issuer": host,
            "auth_type": "bearer",
            "challenge": exchange.challenge or "",
            "vc_request_url": f"{issuer.base_url}/exchanges/{exchange.id}/legacy",
        }
    )
    return {
        "interaction_url": f"{issuer.base_url}/interactions/{exchange.id}?iuv=1",
        "vcapi": f"{issuer.base_url}/exchanges/{exchange.id}",
        "lcw_deep_link": f"dccrequest://request?{legacy}",
        "lcw_universal_link": f"https://lcw.app/request.html?{legacy}",
    }


def live_exchange(session: Session, exchange_id: str, protocol: str, now: datetime) -> Exchange:
    exchange = session.get(Exchange, exchange_id)
    if exchange is None or exchange.protocol != protocol:
        raise NotFound("no such exchange")
    if exchange.completed_at is not None or exchange.expires_at <= now:
        raise ExchangeGone("this exchange was used or has expired; ask for a new one")
    return exchange


def presentation_request(
    session: Session, exchange_id: str, issuer: Issuer, now: datetime | None = None
) -> JsonObject:
    """The DIDAuthentication request a wallet gets for `POST {}` (it changes nothing)."""
    exchange = live_exchange(session, exchange_id, "vcapi", now or datetime.now(UTC))
    return {
        "verifiablePresentationRequest": {
            "query": [{"type": "DIDAuthentication", "acceptedMethods": [{"method": "key"}]}],
            "challenge": exchange.challenge,
            "domain": urlsplit(issuer.base_url).netloc,
        }
    }


def complete_vcapi(
    session: Session,
    exchange_id: str,
    presentation: Any,
    issuer: Issuer,
    now: datetime | None = None,
) -> JsonObject:
    """Verify the wallet's DIDAuth presentation and hand over the bound credential (once)."""
    now = now or datetime.now(UTC)
    exchange = live_exchange(session, exchange_id, "vcapi", now)
    if not isinstance(presentation, dict):
        raise InvalidInput("verifiablePresentation must be a JSON object")
    options = VerifyOptions(
        challenge=exchange.challenge,
        domain=urlsplit(issuer.base_url).netloc,
        local_keys_only=True,
    )
    report = verify_presentation_input(
        presentation, session=None, issuer=None, fetcher=Fetcher(), now=now, options=options
    )
    holder = presentation.get("holder")
    holder = holder.get("id") if isinstance(holder, dict) else holder
    if not report.verified:
        reasons = "; ".join(f"{c.name}: {c.message}" for c in report.failed)
        raise InvalidInput(f"the presentation does not verify ({reasons})")
    if not isinstance(holder, str) or not holder.startswith(DID_KEY):
        raise InvalidInput("the presentation's holder must be a did:key")
    if not _close(session, exchange, now):
        raise ExchangeGone("this exchange was used or has expired; ask for a new one")
    return bind(session, exchange, holder, issuer, now)


def _close(session: Session, exchange: Exchange, now: datetime) -> bool:
    """Claim `exchange` for this request: False when another got there first or it expired.

    Called only once the wallet's proof checks out, so a wrong presentation or proof leaves the
    exchange open for the wallet's next try. `bind` then fills in the holder.
    """
    closed = session.execute(
        update(Exchange)
        .where(
            Exchange.id == exchange.id,
            Exchange.completed_at.is_(None),
            Exchange.expires_at > now,
        )
        .values(completed_at=now)
        .returning(Exchange.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return closed is not None


def bind(
    session: Session, exchange: Exchange, holder: str, issuer: Issuer, now: datetime
) -> JsonObject:
    """A copy of the exchange's credential bound to `holder` (credentialSubject.id): a new
    credential of the same award, so everything shared before keeps verifying."""
    copy = awards.bound_copy(session, issuer, exchange.credential, holder, now)
    exchange.completed_at, exchange.holder = now, holder
    exchange.bound_credential_id = copy.id
    signed: JsonObject = json.loads(copy.document)
    return signed


# ── OpenID4VCI, pre-authorized code ──


def start_openid(
    session: Session, learner: User, credential_id: str, now: datetime | None = None
) -> tuple[Exchange, str, str]:
    """A credential offer: (exchange, pre-authorized code, transaction code for the e-mail)."""
    now = now or datetime.now(UTC)
    record = _learners_credential(session, learner, credential_id)
    code, tx_code = secrets.token_urlsafe(24), f"{secrets.randbelow(10**6):06d}"
    exchange = Exchange(
        id=secrets.token_urlsafe(16),
        credential_id=record.id,
        protocol="oid4vci",
        pre_authorized_code=code,
        tx_code_hash=token_hash(tx_code),
        created_at=now,
        expires_at=now + EXCHANGE_LIFETIME,
    )
    session.add(exchange)
    return exchange, code, tx_code


def offer_uri(exchange: Exchange, issuer: Issuer) -> str:
    return f"{issuer.base_url}/oid4vci/offers/{exchange.id}"


def offer_link(exchange: Exchange, issuer: Issuer) -> str:
    return "openid-credential-offer://?" + urlencode(
        {"credential_offer_uri": offer_uri(exchange, issuer)}
    )


def offer(
    session: Session, exchange_id: str, issuer: Issuer, now: datetime | None = None
) -> JsonObject:
    """The credential offer document (OpenID4VCI 1.0 §4.1.1), served at the offer URI."""
    exchange = live_exchange(session, exchange_id, "oid4vci", now or datetime.now(UTC))
    if exchange.access_token_hash is not None:
        raise ExchangeGone("this offer was already redeemed")
    if exchange.tx_attempts >= MAX_TX_CODE_ATTEMPTS:
        raise ExchangeGone("too many wrong transaction codes; ask for a new offer")
    return {
        "credential_issuer": issuer.base_url,
        "credential_configuration_ids": [LDP_VC, JWT_VC_JSON],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": exchange.pre_authorized_code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": 6,
                    "description": "The code we e-mailed you",
                },
            }
        },
    }


def token(
    session: Session, grant_type: str, code: str, tx_code: str | None, now: datetime | None = None
) -> JsonObject:
    """The token endpoint: a single-use pre-authorized code and its transaction code.

    Every attempt is counted before its code is compared, in the same statement that finds
    the offer, so attempt n of any number racing sees the count n: only the first
    MAX_TX_CODE_ATTEMPTS are compared at all (30 simultaneous guesses were all compared when
    the count was read first and written later). The caller commits even when this raises.
    """
    now = now or datetime.now(UTC)
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise OAuthError("unsupported_grant_type", "only the pre-authorized code grant is offered")
    attempt = session.execute(
        update(Exchange)
        .where(
            Exchange.pre_authorized_code == code,
            Exchange.protocol == "oid4vci",
            Exchange.access_token_hash.is_(None),
            Exchange.expires_at > now,
        )
        .values(tx_attempts=Exchange.tx_attempts + 1)
        .returning(Exchange.id, Exchange.tx_attempts, Exchange.tx_code_hash, Exchange.expires_at)
        .execution_options(synchronize_session="fetch")
    ).one_or_none()
    if attempt is None:
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
    if attempt.tx_attempts > MAX_TX_CODE_ATTEMPTS:
        raise OAuthError("invalid_grant", "too many wrong transaction codes; ask for a new offer")
    if tx_code is None or not hmac.compare_digest(token_hash(tx_code), attempt.tx_code_hash or ""):
        raise OAuthError("invalid_grant", "wrong transaction code")
    access = secrets.token_urlsafe(32)
    granted = session.execute(
        update(Exchange)
        .where(Exchange.id == attempt.id, Exchange.access_token_hash.is_(None))
        .values(
            access_token_hash=token_hash(access),
            expires_at=min(attempt.expires_at, now + ACCESS_TOKEN_LIFETIME),
        )
        .returning(Exchange.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    if granted is None:  # cannot happen while the attempt's row lock is held; never hand out two
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def new_nonce(session: Session, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    value = secrets.token_urlsafe(24)
    session.add(Nonce(value=value, expires_at=now + NONCE_LIFETIME))
    return value


def issue_to_wallet(
    session: Session, access_token: str, request: Any, issuer: Issuer, now: datetime | None = None
) -> JsonObject:
    """The credential endpoint: a `jwt` proof of possession bound to our nonce and identifier."""
    now = now or datetime.now(UTC)
    exchange = (
        session.query(Exchange)
        .filter(Exchange.access_token_hash == token_hash(access_token))
        .one_or_none()
    )
    if exchange is None or exchange.expires_at <= now or exchange.completed_at is not None:
        raise OAuthError("invalid_token", "the access token is unknown, used or expired", 401)
    if not isinstance(request, dict):
        raise OAuthError("invalid_credential_request", "the request must be a JSON object")
    configuration = request.get("credential_configuration_id", LDP_VC)
    if configuration not in (LDP_VC, JWT_VC_JSON):
        raise OAuthError("unknown_credential_configuration", f"no configuration {configuration!r}")
    proofs = (
        request.get("proofs", {}).get("jwt") if isinstance(request.get("proofs"), dict) else None
    )
    if not proofs and isinstance(request.get("proof"), dict):  # draft 13 wallets
        proofs = [request["proof"].get("jwt")]
    if not isinstance(proofs, list) or len(proofs) != 1 or not isinstance(proofs[0], str):
        raise OAuthError("invalid_proof", "send exactly one `jwt` proof")
    holder = _holder_from_proof(session, proofs[0], issuer, now)
    if not _close(session, exchange, now):  # the nonce is spent either way: it was presented
        raise OAuthError("invalid_token", "the access token is unknown, used or expired", 401)
    signed = bind(session, exchange, holder, issuer, now)
    if configuration == JWT_VC_JSON:
        unsecured = {k: v for k, v in signed.items() if k != "proof"}
        return {"credentials": [{"credential": issuer.identity.sign_jwt(unsecured, form=OB3_JWT)}]}
    return {"credentials": [{"credential": signed}]}


def _holder_from_proof(session: Session, proof: str, issuer: Issuer, now: datetime) -> str:
    """The did:key that signed a proof JWT for our audience and one of our live nonces."""
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_proof", f"not a JWT: {error}") from None
    kid, algorithm = header.get("kid"), header.get("alg")
    if header.get("typ") != PROOF_JWT_TYPE or algorithm not in KEY_PROOF_ALGORITHMS:
        raise OAuthError(
            "invalid_proof", f"a proof JWT has typ {PROOF_JWT_TYPE} and alg EdDSA or ES256"
        )
    if not isinstance(kid, str) or not kid.startswith(DID_KEY):
        raise OAuthError("invalid_proof", "the proof's kid must be a did:key verification method")
    try:
        claims = verify_key_proof(proof, audience=issuer.base_url, algorithm=algorithm)
    except IssuerError as error:
        raise OAuthError("invalid_proof", f"the proof does not verify: {error}") from None
    spent = session.execute(
        update(Nonce)
        .where(
            Nonce.value == str(claims["nonce"]),
            Nonce.used_at.is_(None),
            Nonce.expires_at > now,
        )
        .values(used_at=now)
        .returning(Nonce.value)
        .execution_options(synchronize_session="fetch")
    ).first()
    if spent is None:
        raise OAuthError("invalid_nonce", "the proof is not bound to a live c_nonce of ours")
    return kid.split("#", 1)[0]


def credential_issuer_metadata(issuer: Issuer, display_name: str) -> JsonObject:
    """`/.well-known/openid-credential-issuer` (OpenID4VCI 1.0 §12.2).

    It advertises what we sign with, nothing more: for `ldp_vc` the Data Integrity cryptosuites
    (every one of them on each credential, a proof set when several), for `jwt_vc_json` the
    one JWS algorithm (ES256 or EdDSA). Wallets' key proofs may be EdDSA or ES256.
    """
    identity = issuer.identity
    definition = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    }
    display = {"credential_metadata": {"display": [{"name": "Open Badge", "locale": "en"}]}}
    proofs = {"jwt": {"proof_signing_alg_values_supported": list(KEY_PROOF_ALGORITHMS)}}
    return {
        "credential_issuer": issuer.base_url,
        "credential_endpoint": f"{issuer.base_url}/oid4vci/credential",
        "nonce_endpoint": f"{issuer.base_url}/oid4vci/nonce",
        "token_endpoint": f"{issuer.base_url}/oid4vci/token",  # drafts read it here
        "display": [{"name": display_name, "locale": "en"}],
        "credential_configurations_supported": {
            LDP_VC: {
                "format": "ldp_vc",
                "credential_signing_alg_values_supported": list(identity.proofs),
                "cryptographic_binding_methods_supported": ["did:key"],
                "proof_types_supported": proofs,
                "credential_definition": definition,
                **display,
            },
            JWT_VC_JSON: {
                "format": "jwt_vc_json",
                "credential_signing_alg_values_supported": [
                    identity.jwt_signer().key.jwt_algorithm
                ],
                "cryptographic_binding_methods_supported": ["did:key"],
                "proof_types_supported": proofs,
                "credential_definition": {"type": definition["type"]},
                **display,
            },
        },
    }
