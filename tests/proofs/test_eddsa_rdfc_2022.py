"""The W3C vc-di-eddsa and the OB 3.0 specification vectors, reproduced byte for byte."""

import json
from datetime import datetime

import base58

from issuer.jsonld.loader import load_document
from issuer.keys import ED25519_PRIV_PREFIX, SigningKey
from issuer.proofs import eddsa_rdfc_2022 as suite
from issuer.proofs.data_integrity import add_proof
from tests.conftest import OB_VECTOR, VECTORS

W3C = VECTORS / "w3c-vc-di-eddsa"


def text(relative: str) -> str:
    return (W3C / relative).read_text(encoding="utf-8")


def w3c_key() -> SigningKey:
    raw = base58.b58decode(json.loads(text("keyPair.json"))["privateKeyMultibase"][1:])
    assert raw[:2] == ED25519_PRIV_PREFIX
    return SigningKey.from_seed(bytes(raw[2:]))


def test_w3c_vector_step_by_step() -> None:
    unsigned = json.loads(text("unsigned.json"))
    options = json.loads(text("eddsa-rdfc-2022/proofConfigDataInt.json"))
    canonical_document = suite.transform(unsigned, load_document)
    canonical_config = suite.configure_proof(options, unsigned["@context"], load_document)
    assert canonical_document == text("eddsa-rdfc-2022/canonDocDataInt.txt")
    assert canonical_config == text("eddsa-rdfc-2022/proofCanonDataInt.txt")
    data = suite.hash_data(canonical_config, canonical_document)
    assert data.hex() == text("eddsa-rdfc-2022/combinedHashDataInt.txt").strip()
    signature = w3c_key().sign(data)
    assert signature.hex() == text("eddsa-rdfc-2022/sigHexDataInt.txt").strip()
    assert (
        suite.serialize_proof_value(signature)
        == text("eddsa-rdfc-2022/sigBTC58DataInt.txt").strip()
    )


def test_w3c_vector_signed_document() -> None:
    key = w3c_key()
    assert key.multikey == json.loads(text("keyPair.json"))["publicKeyMultibase"]
    expected = json.loads(text("eddsa-rdfc-2022/signedDataInt.json"))
    signed = add_proof(
        json.loads(text("unsigned.json")),
        key=key,
        verification_method=expected["proof"]["verificationMethod"],
        created=datetime.fromisoformat(expected["proof"]["created"]),
        loader=load_document,
    )
    assert signed == expected


def test_ob_v3p0_vector_byte_for_byte() -> None:
    key = SigningKey.from_seed(bytes.fromhex(OB_VECTOR["keyPair"]["privateKeySeedHex"]))
    options = OB_VECTOR["proofOptions"]
    unsigned = OB_VECTOR["unsecuredDocument"]
    canonical_config = suite.configure_proof(options, unsigned["@context"], load_document)
    assert canonical_config == (VECTORS / "1edtech-ob-v3p0-spec/proof-canon.txt").read_text()
    data = suite.hash_data(canonical_config, suite.transform(unsigned, load_document))
    assert data.hex() == OB_VECTOR["dataToSignHex"]
    signed = add_proof(
        unsigned,
        key=key,
        verification_method=options["verificationMethod"],
        created=datetime.fromisoformat(options["created"]),
        loader=load_document,
    )
    indent = json.dumps(OB_VECTOR["signedCredential"], indent=2)
    assert json.dumps(signed, indent=2) == indent
    assert signed["proof"]["proofValue"] == OB_VECTOR["proofValue"]
