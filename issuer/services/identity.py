"""Who the issuer is when it signs: its DID, current keys, Profile and DID document; and signing.

did:key (the default) is derived from the current Ed25519 key; with ISSUER_DID=did:web:… the
app serves the DID document listing every published key, Ed25519 and P-256. A did:key holds one
key, so P-256 (ES256 JWTs, ecdsa-rdfc-2019 proofs) needs a did:web: its keys must be
verification methods of the issuer's own DID, or no verifier can bind them to the issuer.
Credentials get one Data Integrity proof per configured cryptosuite (ISSUER_PROOFS; several
make a proof set) and VC-JWTs the configured algorithm (ISSUER_JWT_ALG; by default ES256 when a
P-256 key and a did:web allow it, else EdDSA). The resolver answers for our own DID without the
network, did:key locally, and other did:web through the bounded Fetcher.
"""

from __future__ import annotations

import json
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
from issuer.errors import CredentialInvalid, InvalidInput, KeyMaterialError
from issuer.jsonld.canonize import copy_json
from issuer.jsonld.loader import CREDENTIALS_V2, load_document
from issuer.jsonld.strict import expand_strictly
from issuer.keys import P256, AnySigningKey, P256SigningKey, SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs import cryptosuites, eddsa_rdfc_2022
from issuer.proofs.data_integrity import (
    ASSERTION_METHOD,
    Resolve,
    Signer,
    add_proofs,
    xsd_datetime,
)
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.fetching import Fetcher
from issuer.services.keyring import KeyRing
from issuer.types import JsonObject

FORMATS = ("di", OB3_JWT, VC_JOSE)
CONTROLLER_MEDIA_TYPES = "application/did+json, application/cid, application/json"


DEFAULT_PROOFS = (eddsa_rdfc_2022.NAME,)
ES256 = P256SigningKey.jwt_algorithm


@dataclass(frozen=True, slots=True)
class IssuerIdentity:
    """The issuer's DID, its current Ed25519 key (and P-256 key, when it has one), every key it
    has published, its Profile, and what it signs with: one Data Integrity proof per suite in
    `proofs`, and VC-JWTs with `jwt_algorithm` (None: ES256 when possible, else EdDSA)."""

    did: str
    key: SigningKey
    public_keys: tuple[str, ...]
    profile: IssuerProfile
    p256_key: P256SigningKey | None = None
    proofs: tuple[str, ...] = DEFAULT_PROOFS
    jwt_algorithm: str | None = None

    def __post_init__(self) -> None:
        """Refuse a configuration that could only sign what no verifier binds to us."""
        for name in self.proofs:
            self._key_for(cryptosuites.named(name).KEY_TYPE, name)
        if self.jwt_algorithm not in (None, ES256, SigningKey.jwt_algorithm):
            raise InvalidInput(f"JWT algorithm {self.jwt_algorithm!r}: choose ES256 or EdDSA")
        if self.jwt_algorithm == ES256:
            self._key_for(P256, ES256)

    @property
    def verification_method(self) -> str:
        """The Ed25519 key's verification method."""
        return self.method(self.key)

    def method(self, key: AnySigningKey) -> str:
        """`did#multikey`: the verification method of one of our keys."""
        return f"{self.did}#{key.multikey}"

    def signers(self) -> list[Signer]:
        """One signer per configured cryptosuite, in order."""
        keys = [self._key_for(cryptosuites.named(name).KEY_TYPE, name) for name in self.proofs]
        return [Signer(key, self.method(key)) for key in keys]

    def jwt_signer(self) -> Signer:
        """The key VC-JWTs are signed with: ES256 (P-256) when asked for or, unasked, when
        the DID can publish the P-256 key; EdDSA otherwise."""
        wanted = self.jwt_algorithm
        if wanted is None and self.p256_key is not None and not self.did.startswith(DID_KEY):
            wanted = ES256
        key = self._key_for(P256, ES256) if wanted == ES256 else self.key
        return Signer(key, self.method(key))

    def did_document(self) -> JsonObject:
        if self.did.startswith(DID_KEY):
            return did_document(self.did, [self.key.multikey])
        current = [k.multikey for k in (self.key, self.p256_key) if k is not None]
        keys = list(self.public_keys) + [k for k in current if k not in self.public_keys]
        return did_document(self.did, keys)

    def sign(
        self,
        document: JsonObject,
        *,
        created: datetime,
        proof_purpose: str = ASSERTION_METHOD,
        challenge: str | None = None,
        domain: str | None = None,
    ) -> JsonObject:
        """`document` secured by one proof per configured cryptosuite (a proof set when there
        are several); an Open Badge's `proof` is always an array, as its JSON Schema wants."""
        return with_proof_array(
            add_proofs(
                document,
                self.signers(),
                created=created,
                loader=load_document,
                proof_purpose=proof_purpose,
                challenge=challenge,
                domain=domain,
            )
        )

    def sign_jwt(self, credential: JsonObject, *, form: str = OB3_JWT) -> str:
        """`credential` (without a proof) as a VC-JWT (`jwt`) or VC-JOSE-COSE (`vc+jwt`)."""
        signer = self.jwt_signer()
        return encode_vc_jwt(credential, key=signer.key, kid=signer.verification_method, form=form)

    def _key_for(self, key_type: str, use: str) -> AnySigningKey:
        if key_type != P256:
            return self.key
        if self.p256_key is None:
            raise KeyMaterialError(
                f"{use} needs a P-256 key: run `issuer keys generate --type p256`"
            )
        if self.did.startswith(DID_KEY):
            raise InvalidInput(
                f"{use} needs ISSUER_DID=did:web:…: the issuer's did:key names its Ed25519 key "
                "only, so no verifier could bind a P-256 key to the issuer"
            )
        return self.p256_key


def load_identity(
    keys_dir: Path,
    passphrase: str | None,
    did: str | None,
    profile: IssuerProfile,
    *,
    proofs: tuple[str, ...] = DEFAULT_PROOFS,
    jwt_algorithm: str | None = None,
) -> IssuerIdentity:
    """The identity from the key ring; `did` is ISSUER_DID (None means the Ed25519 key's
    did:key), `proofs` ISSUER_PROOFS and `jwt_algorithm` ISSUER_JWT_ALG."""
    ring = KeyRing(keys_dir)
    key = ring.load(passphrase)
    if did and not did.startswith(DID_WEB):
        raise InvalidInput(f"ISSUER_DID {did!r} must be a did:web (or unset for did:key)")
    own = did or did_key(key.multikey)
    return IssuerIdentity(
        own,
        key,
        tuple(ring.public_keys()),
        profile.with_id(own),
        ring.load_p256(passphrase),
        proofs,
        jwt_algorithm,
    )


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
    credential = copy_json(unsigned)
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
    return identity.sign(
        credential,
        created=created,
        proof_purpose=proof_purpose,
        challenge=challenge,
        domain=domain,
    )


def sign_credential(
    unsigned: JsonObject, identity: IssuerIdentity, *, form: str, now: datetime
) -> JsonObject | str:
    """Sign as Data Integrity (`di`) or as a compact JWS (`jwt`, `vc+jwt`)."""
    if form not in FORMATS:
        raise InvalidInput(f"unknown format {form!r}; choose one of {', '.join(FORMATS)}")
    credential = prepare_credential(unsigned, identity, now)
    if form == "di":
        return identity.sign(credential, created=now)
    expand_strictly(credential, load_document)
    return identity.sign_jwt(credential, form=form)
