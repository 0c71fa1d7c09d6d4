"""Ed25519 signing keys: generation, PKCS#8 files, and the Multikey form we publish.

A Multikey `publicKeyMultibase` is `z` + base58btc(0xed 0x01 + the 32-byte public key)
(https://www.w3.org/TR/controller-document/#multikey). Private key bytes and passphrases never
appear in a repr, a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from issuer.errors import InvalidInput, KeyMaterialError

ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"


def encode_multikey(public_key: bytes) -> str:
    """Multikey `publicKeyMultibase` for a raw 32-byte Ed25519 public key (`z6Mk…`)."""
    return "z" + base58.b58encode(ED25519_PUB_PREFIX + public_key).decode("ascii")


def decode_multikey(multibase: str) -> bytes:
    """The raw Ed25519 public key inside a `z6Mk…` Multikey; InvalidInput for anything else."""
    if not multibase.startswith("z"):
        raise InvalidInput(f"publicKeyMultibase {multibase[:16]!r} is not base58btc ('z')")
    try:
        raw = base58.b58decode(multibase[1:])
    except ValueError as error:
        raise InvalidInput("publicKeyMultibase is not valid base58btc") from error
    if raw[:2] != ED25519_PUB_PREFIX or len(raw) != 34:
        raise InvalidInput("publicKeyMultibase is not an Ed25519 Multikey (0xed01 + 32 bytes)")
    return bytes(raw[2:])


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key. Its repr shows only the public Multikey."""

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
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase
            else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, data: bytes, passphrase: str | None, source: str) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(
                data, passphrase.encode() if passphrase else None
            )
        except TypeError as error:
            # cryptography says "Password was not given but private key is encrypted" or the
            # reverse: both are configuration problems, reported without any key material.
            raise KeyMaterialError(f"{source}: {error}") from None
        except ValueError:
            raise KeyMaterialError(
                f"{source}: cannot decrypt or parse the key (wrong ISSUER_KEY_PASSPHRASE?)"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(f"{source}: not an Ed25519 private key")
        return cls(key)
