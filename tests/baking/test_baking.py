"""Baked PNG and SVG: exactly one credential, replaced (never duplicated) on re-baking."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from issuer.baking.png import bake_png, chunks, extract_png
from issuer.baking.svg import bake_svg, extract_svg
from issuer.errors import CredentialInvalid


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


CREDENTIAL = '{"id": "urn:uuid:1", "name": "Café — “quoted” <&>"}'
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10"/></svg>'
)


def test_png_round_trip_with_exactly_one_chunk() -> None:
    baked = bake_png(tiny_png(), CREDENTIAL)
    assert extract_png(baked) == CREDENTIAL
    rebaked = bake_png(baked, '{"id": "urn:uuid:2"}')
    kinds = [kind for kind, _ in chunks(rebaked)]
    assert kinds == [b"IHDR", b"iTXt", b"IDAT", b"IEND"]
    assert extract_png(rebaked) == '{"id": "urn:uuid:2"}'
    assert extract_png(tiny_png()) is None


@pytest.mark.parametrize(
    "bad", [b"GIF89a", tiny_png()[:-6], tiny_png()[:20] + b"X" + tiny_png()[21:]]
)
def test_png_that_is_not_whole_is_refused(bad: bytes) -> None:
    with pytest.raises(CredentialInvalid):
        extract_png(bad)


def test_svg_round_trip_json_and_jws() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert baked.index("<openbadges:credential>") == baked.index(">") + 1  # right after <svg>
    assert extract_svg(baked) == CREDENTIAL
    jws = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2ln"
    rebaked = bake_svg(baked, jws, jws=True)
    assert rebaked.count("openbadges:credential") == 1
    assert extract_svg(rebaked) == jws
    assert extract_svg(SVG) is None


@pytest.mark.parametrize(
    "bad",
    [
        "<svg",
        '<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
    ],
)
def test_malformed_or_entity_svg_is_refused(bad: str) -> None:
    with pytest.raises(CredentialInvalid):
        extract_svg(bad)


def test_a_credential_holding_cdata_end_still_bakes_into_svg() -> None:
    """A supervisor's note with `]]>` once made that credential's SVG a permanent 422."""
    credential = json.dumps({"id": "urn:uuid:1", "note": "tricky ]]> note ]]]> end"})
    baked = bake_svg(SVG, credential)
    assert json.loads(extract_svg(baked) or "") == json.loads(credential)


def itxt(payload: bytes) -> bytes:
    png = tiny_png()
    data = b"openbadgecredential\x00" + payload
    chunk = (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )
    return png[:33] + chunk + png[33:]


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x00\x00", b"\x00\x00en", b"\x00\x00en\x00tr", b"\x07\x00\x00\x00{}"],
)
def test_a_malformed_itxt_chunk_is_refused_clearly(payload: bytes) -> None:
    with pytest.raises(CredentialInvalid, match="iTXt chunk is malformed"):
        extract_png(itxt(payload))
    assert extract_png(itxt(b"\x00\x00\x00\x00{}")) == "{}"
