"""The one engine: every container, both proof formats, and clear errors for the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from issuer.baking.png import bake_png
from issuer.baking.svg import bake_svg
from issuer.dids import did_key
from issuer.errors import InvalidInput
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, sign_credential
from issuer.services.verifying import MAX_INPUT_BYTES, verify_input
from tests.baking.test_baking import SVG, tiny_png

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def containers(text: str, jws: bool) -> dict[str, bytes]:
    return {
        "plain": text.encode(),
        "png": bake_png(tiny_png(), text),
        "svg": bake_svg(SVG, text, jws=jws).encode(),
    }


@pytest.mark.parametrize("form", ["di", "jwt", "vc+jwt"])
def test_every_container_of_every_form_verifies(
    signing_key: SigningKey, unsigned_credential: dict, form: str
) -> None:  # type: ignore[type-arg]
    did = did_key(signing_key.multikey)
    identity = IssuerIdentity(
        did, signing_key, (signing_key.multikey,), IssuerProfile(id=did, name="X")
    )
    signed = sign_credential(unsigned_credential, identity, form=form, now=NOW)
    text = signed if isinstance(signed, str) else json.dumps(signed)
    for name, data in containers(text, jws=isinstance(signed, str)).items():
        report = verify_input(data, session=None, issuer=None, fetcher=Fetcher(), now=NOW)
        assert report.verified, (form, name, report.failed)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tiny_png(), "carries no Open Badge"),
        (SVG.encode(), "carries no Open Badge"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"x" * (MAX_INPUT_BYTES + 1), "larger than"),
        (b'{"a": ' + b"[" * 80 + b"]" * 80 + b"}", "too deep"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"a": [{"id": f"_:b{i}"} for i in range(17)]}).encode(), "blank node labels"),
        (b"https://127.0.0.1/credential.json", "private or local"),
    ],
)
def test_unreadable_input_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        verify_input(data, session=None, issuer=None, fetcher=Fetcher(), now=NOW)
