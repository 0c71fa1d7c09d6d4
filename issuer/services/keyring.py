"""The issuer's keys on disk: one current key of each type, and every public key ever published.

    ISSUER_KEYS_DIR/signing-key.pem       Ed25519 (EdDSA JWTs, eddsa-rdfc-2022)
    ISSUER_KEYS_DIR/signing-key-p256.pem  P-256 (ES256 JWTs, ecdsa-rdfc-2019), optional
    ISSUER_KEYS_DIR/public-keys.json      every Multikey of both types, oldest first

Private keys are PKCS#8, encrypted with ISSUER_KEY_PASSPHRASE (or unencrypted with --dev),
owner-only. A key directory from before P-256 keys (no signing-key-p256.pem) keeps working: it
simply has no P-256 key until `issuer keys generate --type p256` adds one. Rotation replaces a
private key and appends its public key, so the DID document keeps every old key and everything
signed before still verifies. Files are written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from issuer.errors import Conflict, InvalidInput, KeyMaterialError
from issuer.files import PRIVATE, write_atomic
from issuer.keys import ED25519, P256, AnySigningKey, P256SigningKey, SigningKey, multikey_type

SIGNING_KEY = "signing-key.pem"
P256_SIGNING_KEY = "signing-key-p256.pem"
PUBLIC_KEYS = "public-keys.json"
KEY_FILES = {ED25519: SIGNING_KEY, P256: P256_SIGNING_KEY}
KEY_CLASSES: dict[str, type[SigningKey] | type[P256SigningKey]] = {
    ED25519: SigningKey,
    P256: P256SigningKey,
}
Key = TypeVar("Key", SigningKey, P256SigningKey)


@dataclass(frozen=True, slots=True)
class KeyRing:
    directory: Path

    @property
    def signing_key_path(self) -> Path:
        """The Ed25519 key, the one every issuer has."""
        return self.key_path(ED25519)

    def key_path(self, key_type: str = ED25519) -> Path:
        if key_type not in KEY_FILES:
            raise InvalidInput(f"unknown key type {key_type!r}; choose {ED25519} or {P256}")
        return self.directory / KEY_FILES[key_type]

    def exists(self, key_type: str = ED25519) -> bool:
        return self.key_path(key_type).exists()

    def generate(
        self, passphrase: str | None, *, dev: bool, key_type: str = ED25519
    ) -> AnySigningKey:
        """Create the first key of `key_type`; refuses to overwrite one (use rotate)."""
        if self.exists(key_type):
            raise Conflict(
                f"{self.key_path(key_type)} exists; use `issuer keys rotate` to replace it"
            )
        return self._install(KEY_CLASSES[key_type].generate(), passphrase, dev=dev)

    def rotate(
        self, passphrase: str | None, *, dev: bool, key_type: str = ED25519
    ) -> AnySigningKey:
        """Make a new key of `key_type`; the old public keys stay published."""
        if key_type == P256:  # prove we hold the current key before replacing it
            self._load(P256SigningKey, passphrase)
        else:
            self.load(passphrase)
        return self._install(KEY_CLASSES[key_type].generate(), passphrase, dev=dev)

    def load(self, passphrase: str | None) -> SigningKey:
        """The current Ed25519 key."""
        return self._load(SigningKey, passphrase)

    def load_p256(self, passphrase: str | None) -> P256SigningKey | None:
        """The current P-256 key, or None when this ring has none yet."""
        return self._load(P256SigningKey, passphrase) if self.exists(P256) else None

    def public_keys(self) -> list[str]:
        """Every published Multikey (Ed25519 and P-256), oldest first."""
        path = self.directory / PUBLIC_KEYS
        if not path.exists():
            return []
        try:
            keys = json.loads(path.read_text())["publicKeyMultibase"]
            for key in keys:
                multikey_type(key)
        except (ValueError, KeyError, TypeError, InvalidInput) as error:
            raise KeyMaterialError(f"{path} is not a list of Multikeys") from error
        return list(keys)

    def _load(self, kind: type[Key], passphrase: str | None) -> Key:
        path = self.key_path(kind.key_type)
        if not path.exists():
            option = "" if kind.key_type == ED25519 else " --type p256"
            raise KeyMaterialError(
                f"no {kind.key_type} signing key at {path}: run `issuer keys generate{option}` "
                "(or `--dev` on a laptop)"
            )
        key = kind.from_pem(path.read_bytes(), passphrase, str(path))
        if key.multikey not in self.public_keys():
            raise KeyMaterialError(f"{path} does not match {self.directory / PUBLIC_KEYS}")
        return key

    def _install(self, key: AnySigningKey, passphrase: str | None, *, dev: bool) -> AnySigningKey:
        if not passphrase and not dev:
            raise KeyMaterialError(
                "set ISSUER_KEY_PASSPHRASE to encrypt the key, or pass --dev to write an "
                "unencrypted development key"
            )
        keys = [*self.public_keys(), key.multikey]
        published = json.dumps({"publicKeyMultibase": keys}, indent=2)
        # Public list first: a crash between the two writes leaves an extra public key (harmless),
        # never a private key whose public half is unpublished.
        # Owner-only, like the keys directory created for them (0700, see issuer/files.py).
        write_atomic(self.directory / PUBLIC_KEYS, published.encode() + b"\n", mode=PRIVATE)
        write_atomic(self.key_path(key.key_type), key.to_pem(passphrase), mode=PRIVATE)
        return key
