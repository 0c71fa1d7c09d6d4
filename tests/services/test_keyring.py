import stat
from pathlib import Path

import pytest

from issuer.errors import Conflict, KeyMaterialError
from issuer.keys import P256, P256SigningKey
from issuer.services.keyring import KeyRing


def test_refuses_an_unencrypted_key_without_dev(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="--dev"):
        KeyRing(tmp_path).generate(None, dev=False)
    assert not any(tmp_path.iterdir())


def test_writes_an_encrypted_owner_only_key(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    key = ring.generate("s3cret-pass", dev=False)
    assert b"ENCRYPTED" in ring.signing_key_path.read_bytes()
    assert stat.S_IMODE(ring.signing_key_path.stat().st_mode) == 0o600
    assert ring.load("s3cret-pass").multikey == key.multikey
    with pytest.raises(Conflict):
        ring.generate("s3cret-pass", dev=False)


def test_rotation_keeps_every_old_public_key_published(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    first = ring.generate(None, dev=True)
    second = ring.rotate(None, dev=True)
    third = ring.rotate(None, dev=True)
    assert ring.public_keys() == [first.multikey, second.multikey, third.multikey]
    assert ring.load(None).multikey == third.multikey


def test_missing_key_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="issuer keys generate"):
        KeyRing(tmp_path).load(None)


# ── a P-256 key beside the Ed25519 one ──────────────────────────────────────────────────


def test_a_p256_key_sits_beside_the_ed25519_key(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    ed25519 = ring.generate("s3cret-pass", dev=False)
    p256 = ring.generate("s3cret-pass", dev=False, key_type=P256)
    assert ring.key_path(P256).name == "signing-key-p256.pem"
    assert b"ENCRYPTED" in ring.key_path(P256).read_bytes()
    assert stat.S_IMODE(ring.key_path(P256).stat().st_mode) == 0o600
    assert ring.public_keys() == [ed25519.multikey, p256.multikey]
    assert ring.load("s3cret-pass").multikey == ed25519.multikey
    loaded = ring.load_p256("s3cret-pass")
    assert loaded is not None and loaded.multikey == p256.multikey
    with pytest.raises(Conflict):
        ring.generate("s3cret-pass", dev=False, key_type=P256)


def test_a_key_directory_from_before_p256_keys_keeps_working(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    first = ring.generate(None, dev=True)
    assert ring.load_p256(None) is None and not ring.exists(P256)
    p256 = ring.generate(None, dev=True, key_type=P256)
    assert ring.public_keys() == [first.multikey, p256.multikey]


def test_rotating_one_type_keeps_the_other_and_every_old_public_key(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    ed25519 = ring.generate(None, dev=True)
    first = ring.generate(None, dev=True, key_type=P256)
    second = ring.rotate(None, dev=True, key_type=P256)
    assert ring.public_keys() == [ed25519.multikey, first.multikey, second.multikey]
    assert ring.load(None).multikey == ed25519.multikey
    loaded = ring.load_p256(None)
    assert loaded is not None and loaded.multikey == second.multikey


def test_rotating_a_missing_p256_key_says_how_to_create_one(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    ring.generate(None, dev=True)
    with pytest.raises(KeyMaterialError, match="issuer keys generate --type p256"):
        ring.rotate(None, dev=True, key_type=P256)


def test_refuses_a_p256_key_whose_public_half_is_unpublished(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    ring.generate(None, dev=True)
    ring.key_path(P256).write_bytes(P256SigningKey.generate().to_pem(None))
    with pytest.raises(KeyMaterialError, match="does not match"):
        ring.load_p256(None)
