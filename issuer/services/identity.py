"""Who the issuer is when it signs: its DID, current key, Profile and DID document; and signing.

did:key (the default) is derived from the current key; with ISSUER_DID=did:web:… the app
serves the DID document listing every published key. The resolver answers for our own DID
without the network, did:key locally, and other did:web through the bounded Fetcher.
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from issuer.credentials import with_proof_array
from issuer.dids import (
    DID_JWK,
    DID_KEY,
    DID_WEB,
    did_document,
    did_key,
    did_web_url,
    resolve_locally,
)
from issuer.errors import CredentialInvalid, InvalidInput
from issuer.jsonld.loader import CREDENTIALS_V2, load_document
from issuer.jsonld.strict import expand_strictly
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.data_integrity import ASSERTION_METHOD, Resolve, add_proof, xsd_datetime
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.fetching import Fetcher
from issuer.services.keyring import KeyRing
from issuer.types import JsonObject

FORMATS = ("di", OB3_JWT, VC_JOSE)
CONTROLLER_MEDIA_TYPES = "application/did+json, application/cid, application/json"


@dataclass(frozen=True, slots=True)
class IssuerIdentity:
    did: str
    key: SigningKey
    public_keys: tuple[str, ...]
    profile: IssuerProfile

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.key.multikey}"

    def did_document(self) -> JsonObject:
        keys = [self.key.multikey] if self.did.startswith(DID_KEY) else list(self.public_keys)
        return did_document(self.did, keys)


def load_identity(
    keys_dir: Path, passphrase: str | None, did: str | None, profile: IssuerProfile
) -> IssuerIdentity:
    """The identity from the key ring; `did` is ISSUER_DID (None means the key's did:key)."""
    ring = KeyRing(keys_dir)
    key = ring.load(passphrase)
    if did and not did.startswith(DID_WEB):
        raise InvalidInput(f"ISSUER_DID {did!r} must be a did:web (or unset for did:key)")
    own = did or did_key(key.multikey)
    return IssuerIdentity(own, key, tuple(ring.public_keys()), profile.with_id(own))


def make_resolver(identity: IssuerIdentity | None, fetcher: Fetcher) -> Resolve:
    """Controller documents for key binding: our own DID from memory, did:key and did:jwk
    derived locally, did:web and https: controller documents through the bounded fetcher
    (each fetched once per resolver). Unreachable when a document cannot be had."""
    fetched: dict[str, JsonObject] = {}

    def resolve(url: str) -> JsonObject:
        if identity is not None and url == identity.did:
            return identity.did_document()
        if url.startswith((DID_KEY, DID_JWK)):
            return resolve_locally(url)
        if not url.startswith((DID_WEB, "https://")):
            raise InvalidInput(f"cannot resolve {url!r}: did:key, did:jwk, did:web or https: only")
        if url not in fetched:
            fetched[url] = _controller_document(url, fetcher)
        return fetched[url]

    return resolve


def _controller_document(url: str, fetcher: Fetcher) -> JsonObject:
    """A did:web DID document or an https: controller document (Controlled Identifiers 1.0
    §3.3: its `id` must be the URL it was retrieved for)."""
    location = did_web_url(url) if url.startswith(DID_WEB) else url
    try:
        document = json.loads(fetcher.get(location, accept=CONTROLLER_MEDIA_TYPES))
    except ValueError as error:
        raise InvalidInput(f"the controller document of {url} is not JSON") from error
    if not isinstance(document, dict) or document.get("id") != url:
        raise InvalidInput(f"the document fetched for {url} is not about {url}")
    return document


def prepare_credential(unsigned: JsonObject, identity: IssuerIdentity, now: datetime) -> JsonObject:
    """Set `issuer` to our Profile (unless it already is) and `validFrom` when absent."""
    if not isinstance(unsigned, dict) or "@context" not in unsigned:
        raise CredentialInvalid("a credential is a JSON object with an @context")
    credential = deepcopy(unsigned)
    credential.pop("proof", None)
    issuer = credential.get("issuer")
    if not (isinstance(issuer, dict) and issuer.get("id") == identity.did):
        credential["issuer"] = identity.profile.to_json()
    if CREDENTIALS_V2 in credential["@context"] and "validFrom" not in credential:
        credential["validFrom"] = xsd_datetime(now)
    return credential


def sign_as_given(
    credential: JsonObject,
    identity: IssuerIdentity,
    *,
    created: datetime,
    proof_purpose: str = ASSERTION_METHOD,
    challenge: str | None = None,
    domain: str | None = None,
) -> JsonObject:
    """Sign `credential` exactly as sent (VC-API issue): no issuer or validFrom is filled in.

    The caller has checked that the credential is well formed and names this issuer; only the
    Data Integrity context may be added (to a VC 1.1 credential), as the reference does, so
    every proof term is defined.
    """
    return with_proof_array(
        add_proof(
            credential,
            key=identity.key,
            verification_method=identity.verification_method,
            created=created,
            loader=load_document,
            proof_purpose=proof_purpose,
            challenge=challenge,
            domain=domain,
        )
    )


def sign_credential(
    unsigned: JsonObject, identity: IssuerIdentity, *, form: str, now: datetime
) -> JsonObject | str:
    """Sign as Data Integrity (`di`) or as a compact JWS (`jwt`, `vc+jwt`)."""
    if form not in FORMATS:
        raise InvalidInput(f"unknown format {form!r}; choose one of {', '.join(FORMATS)}")
    credential = prepare_credential(unsigned, identity, now)
    if form == "di":
        return with_proof_array(
            add_proof(
                credential,
                key=identity.key,
                verification_method=identity.verification_method,
                created=now,
                loader=load_document,
            )
        )
    expand_strictly(credential, load_document)
    return encode_vc_jwt(credential, key=identity.key, kid=identity.verification_method, form=form)
