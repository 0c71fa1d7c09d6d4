"""Signing keys (Ed25519 and P-256): generation, PKCS#8 files, and the Multikey form we publish.

A Multikey `publicKeyMultibase` is `z` + base58btc(multicodec prefix + public key)
(https://www.w3.org/TR/cid-1.0/#Multikey): 0xed 0x01 + the 32-byte Ed25519 key (`z6Mk…`), or
0x80 0x24 (the varint of 0x1200, p256-pub) + the 33-byte compressed P-256 point (`zDn…`,
https://www.w3.org/TR/vc-di-ecdsa/#multikey). Ed25519 signs EdDSA JWTs and eddsa-rdfc-2022;
P-256 signs ES256 JWTs and ecdsa-rdfc-2019. Private key bytes and passphrases never appear in a
repr, a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from issuer.errors import InvalidInput, KeyMaterialError

ED25519 = "Ed25519"
P256 = "P-256"
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
P256_PUB_PREFIX = b"\x80\x24"
P256_PRIV_PREFIX = b"\x86\x26"  # 0x1306 p256-priv, as in the W3C vectors' secretKeyMultibase
P256_BYTES = 32


def encode_multikey(public_key: bytes) -> str:
    """Multikey `publicKeyMultibase` for a raw 32-byte Ed25519 public key (`z6Mk…`)."""
    return "z" + base58.b58encode(ED25519_PUB_PREFIX + public_key).decode("ascii")


def encode_p256_multikey(compressed_point: bytes) -> str:
    """Multikey `publicKeyMultibase` for a compressed 33-byte P-256 public key (`zDn…`)."""
    return "z" + base58.b58encode(P256_PUB_PREFIX + compressed_point).decode("ascii")


def _multibase_bytes(multibase: str) -> bytes:
    if not multibase.startswith("z"):
        raise InvalidInput(f"publicKeyMultibase {multibase[:16]!r} is not base58btc ('z')")
    try:
        return bytes(base58.b58decode(multibase[1:]))
    except ValueError as error:
        raise InvalidInput("publicKeyMultibase is not valid base58btc") from error


def decode_multikey(multibase: str) -> bytes:
    """The raw Ed25519 public key inside a `z6Mk…` Multikey; InvalidInput for anything else."""
    raw = _multibase_bytes(multibase)
    if raw[:2] != ED25519_PUB_PREFIX or len(raw) != 34:
        raise InvalidInput("publicKeyMultibase is not an Ed25519 Multikey (0xed01 + 32 bytes)")
    return raw[2:]


def multikey_type(multibase: str) -> str:
    """ED25519 or P256 for a Multikey of one of our two key types; InvalidInput otherwise."""
    raw = _multibase_bytes(multibase)
    if raw[:2] == ED25519_PUB_PREFIX and len(raw) == 34:
        return ED25519
    if raw[:2] == P256_PUB_PREFIX and len(raw) == 35 and raw[2] in (2, 3):
        return P256
    raise InvalidInput(f"{multibase[:16]!r}… is not an Ed25519 or P-256 Multikey")


def public_key_type(public_key: object) -> str | None:
    """ED25519 or P256 for a public key of one of our two types, else None."""
    if isinstance(public_key, Ed25519PublicKey):
        return ED25519
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return P256
    return None


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key. Its repr shows only the public Multikey."""

    key_type: ClassVar[str] = ED25519
    jwt_algorithm: ClassVar[str] = "EdDSA"
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """A key from a 32-byte seed: for test vectors and fixtures, never for production."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def multikey(self) -> str:
        return encode_multikey(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def to_pem(self, passphrase: str | None) -> bytes:
        """PKCS#8 PEM, encrypted with `passphrase` (unencrypted only when it is None)."""
        return _pem(self.private_key, passphrase)

    @classmethod
    def from_pem(cls, data: bytes, passphrase: str | None, source: str) -> SigningKey:
        key = _load_pem(data, passphrase, source)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(f"{source}: not an Ed25519 private key")
        return cls(key)


@dataclass(frozen=True, slots=True)
class P256SigningKey:
    """A P-256 private key, for ES256 JWTs and ecdsa-rdfc-2019. Its repr shows only the public
    Multikey."""

    key_type: ClassVar[str] = P256
    jwt_algorithm: ClassVar[str] = "ES256"
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> P256SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_secret(cls, secret: bytes) -> P256SigningKey:
        """A key from its 32-byte secret scalar: for test vectors and fixtures only."""
        if len(secret) != P256_BYTES:
            raise InvalidInput("a P-256 secret key is 32 bytes")
        return cls(ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1()))

    @property
    def public_key(self) -> bytes:
        """The compressed point (33 bytes), as the Multikey carries it."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )

    @property
    def multikey(self) -> str:
        return encode_p256_multikey(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """ECDSA over SHA-256(`message`) as r‖s (IEEE P1363, 64 bytes), with the deterministic
        k of RFC 6979: vc-di-ecdsa §3 says all ECDSA signatures SHOULD be deterministic, and
        its test vectors were made so, which lets us reproduce them byte for byte. The `s` is
        left as computed (no low-S rule): see proofs/ecdsa_rdfc_2019.py on malleability."""
        der = self.private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(P256_BYTES, "big") + s.to_bytes(P256_BYTES, "big")

    def to_pem(self, passphrase: str | None) -> bytes:
        """PKCS#8 PEM, encrypted with `passphrase` (unencrypted only when it is None)."""
        return _pem(self.private_key, passphrase)

    @classmethod
    def from_pem(cls, data: bytes, passphrase: str | None, source: str) -> P256SigningKey:
        key = _load_pem(data, passphrase, source)
        if not (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        ):
            raise KeyMaterialError(f"{source}: not a P-256 private key")
        return cls(key)


AnySigningKey = SigningKey | P256SigningKey


def _pem(
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, passphrase: str | None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _load_pem(data: bytes, passphrase: str | None, source: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, passphrase.encode() if passphrase else None)
    except TypeError as error:
        # cryptography says "Password was not given but private key is encrypted" or the
        # reverse: both are configuration problems, reported without any key material.
        raise KeyMaterialError(f"{source}: {error}") from None
    except ValueError:
        raise KeyMaterialError(
            f"{source}: cannot decrypt or parse the key (wrong ISSUER_KEY_PASSPHRASE?)"
        ) from None
