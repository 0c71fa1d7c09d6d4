"""Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/).

A list is a bitstring of at least 131,072 bits (16 KB: herd privacy), bit 0 the left-most bit
of the first byte, published GZIP-compressed and multibase base64url-encoded (`u`, no padding)
in a BitstringStatusListCredential signed like any credential.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from issuer.errors import CredentialInvalid
from issuer.jsonld.loader import CREDENTIALS_V2
from issuer.proofs.data_integrity import xsd_datetime
from issuer.types import JsonObject

MINIMUM_BITS = 131_072
# A gzip bomb guard: no list we accept expands beyond 16 MiB (134 million entries).
MAXIMUM_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StatusList:
    bits: bytes

    @classmethod
    def with_set(cls, indexes: Iterable[int], size: int = MINIMUM_BITS) -> StatusList:
        buffer = bytearray((size + 7) // 8)
        for index in indexes:
            if not 0 <= index < size:
                raise CredentialInvalid(f"status list index {index} is outside 0..{size - 1}")
            buffer[index // 8] |= 0x80 >> (index % 8)
        return cls(bytes(buffer))

    @property
    def size(self) -> int:
        return len(self.bits) * 8

    def get(self, index: int) -> bool:
        if not 0 <= index < self.size:
            raise CredentialInvalid(f"status list index {index} is outside 0..{self.size - 1}")
        return bool(self.bits[index // 8] & (0x80 >> (index % 8)))

    def encode(self) -> str:
        """`encodedList`: multibase base64url (no padding) of the GZIP-compressed bitstring."""
        compressed = gzip.compress(self.bits, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, encoded: object) -> StatusList:
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise CredentialInvalid("encodedList is not multibase base64url ('u')")
        try:
            padded = encoded[1:] + "=" * (-len(encoded[1:]) % 4)
            compressed = base64.b64decode(padded, altchars=b"-_", validate=True)
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            bits = inflater.decompress(compressed, MAXIMUM_BYTES + 1)
        except (ValueError, zlib.error) as error:
            raise CredentialInvalid("encodedList is not a GZIP-compressed bitstring") from error
        if len(bits) > MAXIMUM_BYTES:
            raise CredentialInvalid("encodedList expands beyond 16 MiB")
        if not bits or not inflater.eof:
            raise CredentialInvalid("encodedList is empty or truncated")
        return cls(bits)


def status_list_credential(
    *,
    list_url: str,
    issuer: JsonObject | str,
    purpose: str,
    status_list: StatusList,
    valid_from: datetime,
) -> JsonObject:
    """The unsigned BitstringStatusListCredential publishing `status_list`."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": xsd_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": status_list.encode(),
        },
    }
