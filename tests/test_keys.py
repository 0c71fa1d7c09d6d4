import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from issuer.controllers import multikey_public_key
from issuer.errors import InvalidInput, KeyMaterialError
from issuer.keys import (
    ED25519,
    P256,
    P256SigningKey,
    SigningKey,
    decode_multikey,
    encode_multikey,
    multikey_type,
    public_key_type,
)
from tests.conftest import OB_VECTOR, SEED


def test_multikey_of_the_ob_vector_key() -> None:
    key = SigningKey.from_seed(bytes.fromhex(OB_VECTOR["keyPair"]["privateKeySeedHex"]))
    assert key.public_key.hex() == OB_VECTOR["keyPair"]["publicKeyHex"]
    assert key.multikey == OB_VECTOR["keyPair"]["publicKeyMultibase"]
    assert key.multikey.startswith("z6Mk")
    assert decode_multikey(key.multikey) == key.public_key
    assert encode_multikey(key.public_key) == key.multikey


@pytest.mark.parametrize(
    "bad", ["", "6Mkabc", "z0OIl", "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"]
)
def test_refuses_what_is_not_an_ed25519_multikey(bad: str) -> None:
    with pytest.raises(InvalidInput):
        decode_multikey(bad)


def test_encrypted_pem_round_trip(signing_key: SigningKey) -> None:
    pem = signing_key.to_pem("correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert SigningKey.from_pem(pem, "correct horse", "k.pem").multikey == signing_key.multikey


def test_wrong_or_missing_passphrase_is_a_clear_error_without_secrets(
    signing_key: SigningKey,
) -> None:
    pem = signing_key.to_pem("correct horse")
    with pytest.raises(KeyMaterialError) as wrong:
        SigningKey.from_pem(pem, "battery staple", "k.pem")
    assert "k.pem" in str(wrong.value) and "battery staple" not in str(wrong.value)
    with pytest.raises(KeyMaterialError, match=r"k\.pem"):
        SigningKey.from_pem(pem, None, "k.pem")


def test_repr_never_shows_private_key_material(signing_key: SigningKey) -> None:
    seed_hex = bytes(range(32)).hex()
    assert seed_hex not in repr(signing_key)
    assert "private" not in repr(signing_key)


# ── P-256 ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def p256() -> P256SigningKey:
    return P256SigningKey.from_secret(SEED)


def test_p256_multikey_is_the_compressed_point_under_0x1200(p256: P256SigningKey) -> None:
    """Multicodec p256-pub (0x1200, varint 0x80 0x24) + the 33-byte compressed point: `zDn…`."""
    assert len(p256.public_key) == 33 and p256.public_key[0] in (2, 3)
    assert p256.multikey.startswith("zDn")
    assert multikey_type(p256.multikey) == P256
    assert multikey_type(SigningKey.from_seed(SEED).multikey) == ED25519
    decoded = multikey_public_key(p256.multikey)
    assert public_key_type(decoded) == P256
    assert decoded.public_numbers() == p256.private_key.public_key().public_numbers()  # type: ignore[union-attr]


def test_p256_signature_is_raw_r_s_and_deterministic(p256: P256SigningKey) -> None:
    signature = p256.sign(b"hash data")
    assert len(signature) == 64 and signature == p256.sign(b"hash data")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    p256.private_key.public_key().verify(
        encode_dss_signature(r, s), b"hash data", ec.ECDSA(hashes.SHA256())
    )


@pytest.mark.parametrize(
    "bad",
    [
        "zDn",
        "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKV",  # one character short
        "z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ",  # P-384
    ],
)
def test_refuses_what_is_not_one_of_our_multikeys(bad: str) -> None:
    with pytest.raises(InvalidInput):
        multikey_type(bad)


def test_p256_encrypted_pem_round_trip_and_type_check(p256: P256SigningKey) -> None:
    pem = p256.to_pem("correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert P256SigningKey.from_pem(pem, "correct horse", "p.pem").multikey == p256.multikey
    with pytest.raises(KeyMaterialError, match="not a P-256"):
        P256SigningKey.from_pem(SigningKey.from_seed(SEED).to_pem(None), None, "e.pem")
    with pytest.raises(KeyMaterialError, match="not an Ed25519"):
        SigningKey.from_pem(pem, "correct horse", "p.pem")


def test_p256_repr_never_shows_private_key_material(p256: P256SigningKey) -> None:
    assert SEED.hex() not in repr(p256) and "private" not in repr(p256)
