"""PNG baking: one `iTXt` chunk with keyword `openbadgecredential` holding the credential
(JSON or compact JWS), inserted after IHDR (https://www.imsglobal.org/spec/ob/v3p0/#png)."""

from __future__ import annotations

import struct
import zlib

from issuer.errors import CredentialInvalid

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk; CredentialInvalid for anything that is not a whole PNG."""
    if not png.startswith(SIGNATURE):
        raise CredentialInvalid("not a PNG image")
    position, found = len(SIGNATURE), []
    while position < len(png):
        if position + 8 > len(png):
            raise CredentialInvalid("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        end = position + 12 + length
        if end > len(png):
            raise CredentialInvalid("truncated PNG chunk")
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if crc != zlib.crc32(kind + data):
            raise CredentialInvalid(f"PNG chunk {kind!r} has a bad CRC")
        found.append((kind, data))
        position = end
        if kind == b"IEND":
            break
    if not found or found[0][0] != b"IHDR" or found[-1][0] != b"IEND":
        raise CredentialInvalid("a PNG must start with IHDR and end with IEND")
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _is_credential(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.split(b"\x00", 1)[0] == KEYWORD


def bake_png(png: bytes, credential: str) -> bytes:
    """The image with `credential` in its only `openbadgecredential` iTXt chunk."""
    # iTXt: keyword NUL, compression flag 0, method 0, empty language NUL, empty translated NUL.
    payload = KEYWORD + b"\x00\x00\x00\x00\x00" + credential.encode("utf-8")
    out = [SIGNATURE]
    for kind, data in chunks(png):
        if _is_credential(kind, data):
            continue
        out.append(_chunk(kind, data))
        if kind == b"IHDR":
            out.append(_chunk(b"iTXt", payload))
    return b"".join(out)


def extract_png(png: bytes) -> str | None:
    """The baked credential text, or None when the image carries none."""
    for kind, data in chunks(png):
        if _is_credential(kind, data):
            compressed, text = _itxt_text(data[len(KEYWORD) + 1 :])
            if compressed:
                try:
                    text = zlib.decompressobj().decompress(text, 2_000_000)
                except zlib.error as error:
                    raise CredentialInvalid("the baked credential is not valid zlib") from error
            try:
                return text.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CredentialInvalid("the baked credential is not UTF-8") from error
    return None


def _itxt_text(rest: bytes) -> tuple[int, bytes]:
    """(compression flag, text) of an iTXt chunk after its keyword: flag, method, language
    NUL, translated keyword NUL, text (PNG 1.2 §11.3.4.5). CredentialInvalid when a field or
    separator is missing."""
    language_end = rest.find(b"\x00", 2)
    translated_end = rest.find(b"\x00", language_end + 1) if language_end >= 0 else -1
    if len(rest) < 2 or translated_end < 0 or rest[0] not in (0, 1):
        raise CredentialInvalid("the openbadgecredential iTXt chunk is malformed")
    return rest[0], rest[translated_end + 1 :]
