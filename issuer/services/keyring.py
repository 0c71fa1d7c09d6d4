"""The issuer's keys on disk: one current signing key, and every public key ever published.

    ISSUER_KEYS_DIR/signing-key.pem    PKCS#8, encrypted with ISSUER_KEY_PASSPHRASE (or --dev)
    ISSUER_KEYS_DIR/public-keys.json   every Multikey, oldest first; the last is the current one

Rotation replaces the private key and appends its public key, so the DID document keeps every
old key and all credentials signed before still verify. Files are written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from issuer.errors import Conflict, KeyMaterialError
from issuer.files import PRIVATE, write_atomic
from issuer.keys import SigningKey, decode_multikey

SIGNING_KEY = "signing-key.pem"
PUBLIC_KEYS = "public-keys.json"


@dataclass(frozen=True, slots=True)
class KeyRing:
    directory: Path

    @property
    def signing_key_path(self) -> Path:
        return self.directory / SIGNING_KEY

    def exists(self) -> bool:
        return self.signing_key_path.exists()

    def generate(self, passphrase: str | None, *, dev: bool) -> SigningKey:
        """Create the first signing key; refuses to overwrite one (use rotate)."""
        if self.exists():
            raise Conflict(
                f"{self.signing_key_path} exists; use `issuer keys rotate` to replace it"
            )
        return self._install(SigningKey.generate(), passphrase, dev=dev, previous=[])

    def rotate(self, passphrase: str | None, *, dev: bool) -> SigningKey:
        """Make a new signing key; the old public keys stay published."""
        self.load(passphrase)  # prove we hold the current key before replacing it
        return self._install(
            SigningKey.generate(), passphrase, dev=dev, previous=self.public_keys()
        )

    def load(self, passphrase: str | None) -> SigningKey:
        path = self.signing_key_path
        if not path.exists():
            raise KeyMaterialError(
                f"no signing key at {path}: run `issuer keys generate` (or `--dev` on a laptop)"
            )
        key = SigningKey.from_pem(path.read_bytes(), passphrase, str(path))
        if key.multikey not in self.public_keys():
            raise KeyMaterialError(f"{path} does not match {self.directory / PUBLIC_KEYS}")
        return key

    def public_keys(self) -> list[str]:
        """Every published Multikey, oldest first."""
        path = self.directory / PUBLIC_KEYS
        if not path.exists():
            return []
        try:
            keys = json.loads(path.read_text())["publicKeyMultibase"]
            for key in keys:
                decode_multikey(key)
        except (ValueError, KeyError, TypeError) as error:
            raise KeyMaterialError(f"{path} is not a list of Multikeys") from error
        return list(keys)

    def _install(
        self, key: SigningKey, passphrase: str | None, *, dev: bool, previous: list[str]
    ) -> SigningKey:
        if not passphrase and not dev:
            raise KeyMaterialError(
                "set ISSUER_KEY_PASSPHRASE to encrypt the key, or pass --dev to write an "
                "unencrypted development key"
            )
        published = json.dumps({"publicKeyMultibase": [*previous, key.multikey]}, indent=2)
        # Public list first: a crash between the two writes leaves an extra public key (harmless),
        # never a private key whose public half is unpublished.
        # Owner-only, like the keys directory created for them (0700, see issuer/files.py).
        write_atomic(self.directory / PUBLIC_KEYS, published.encode() + b"\n", mode=PRIVATE)
        write_atomic(self.signing_key_path, key.to_pem(passphrase), mode=PRIVATE)
        return key
