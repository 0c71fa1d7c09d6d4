"""Bitstring Status List v1.0: the bit order, the encoding, and what a decoder refuses."""

import base64
import gzip

import pytest

from issuer.errors import CredentialInvalid
from issuer.status_list import MINIMUM_BITS, StatusList, status_list_credential

# The all-zero 131,072-bit list of the Bitstring Status List specification's examples.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_decodes_the_specification_example() -> None:
    empty = StatusList.decode(SPEC_EMPTY_LIST)
    assert empty.size == MINIMUM_BITS
    assert not any(empty.get(i) for i in (0, 1, 94567, MINIMUM_BITS - 1))


def test_bit_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    listing = StatusList.with_set([0, 9])
    assert listing.bits[:2] == bytes([0b1000_0000, 0b0100_0000])


def test_round_trip_and_format() -> None:
    listing = StatusList.with_set([3, 94567, MINIMUM_BITS - 1])
    encoded = listing.encode()
    assert (
        encoded.startswith("u") and "=" not in encoded and "+" not in encoded and "/" not in encoded
    )
    assert gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "==")) == listing.bits
    decoded = StatusList.decode(encoded)
    assert [i for i in (2, 3, 4, 94567, MINIMUM_BITS - 1) if decoded.get(i)] == [
        3,
        94567,
        MINIMUM_BITS - 1,
    ]


@pytest.mark.parametrize(
    "bad",
    ["zH4sI", "u!!!", "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="), 42],
)
def test_refuses_what_is_not_an_encoded_list(bad: object) -> None:
    with pytest.raises(CredentialInvalid):
        StatusList.decode(bad)


def test_refuses_a_gzip_bomb() -> None:
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(20 * 1024 * 1024))).decode().rstrip(
        "="
    )
    with pytest.raises(CredentialInvalid, match="16 MiB"):
        StatusList.decode(bomb)


def test_index_outside_the_list_is_an_error() -> None:
    with pytest.raises(CredentialInvalid):
        StatusList.with_set([MINIMUM_BITS])
    with pytest.raises(CredentialInvalid):
        StatusList.with_set([]).get(-1)


def test_the_list_credential_has_the_specified_shape() -> None:
    from datetime import UTC, datetime

    document = status_list_credential(
        list_url="https://b.example/status/1",
        issuer="did:key:z6Mk",
        purpose="revocation",
        status_list=StatusList.with_set([]),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    from issuer.jsonld.strict import expand_strictly

    expand_strictly(document)
