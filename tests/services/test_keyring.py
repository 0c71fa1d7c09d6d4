import stat
from pathlib import Path

import pytest

from issuer.errors import Conflict, KeyMaterialError
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
