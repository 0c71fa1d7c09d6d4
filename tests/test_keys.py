import pytest

from issuer.errors import InvalidInput, KeyMaterialError
from issuer.keys import SigningKey, decode_multikey, encode_multikey
from tests.conftest import OB_VECTOR


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
