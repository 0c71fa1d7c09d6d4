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
from issuer.services.verifying import (
    MAX_INPUT_BYTES,
    VerifyOptions,
    as_input,
    verify_input,
    verify_presentation_input,
)
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


def issuer_identity(key: SigningKey) -> IssuerIdentity:
    did = did_key(key.multikey)
    return IssuerIdentity(did, key, (key.multikey,), IssuerProfile(id=did, name="X"))


def test_presentations_meet_the_same_limits() -> None:
    presentation = {"type": ["VerifiablePresentation"], "holder": [f"_:b{i}" for i in range(17)]}
    with pytest.raises(InvalidInput, match="blank node labels"):
        verify_presentation_input(presentation, session=None, issuer=None, fetcher=Fetcher())
    deep: dict = {"type": "VerifiablePresentation"}  # type: ignore[type-arg]
    node = deep
    for _ in range(80):
        node["next"] = {}
        node = node["next"]
    with pytest.raises(InvalidInput, match="too deep"):
        verify_presentation_input(deep, session=None, issuer=None, fetcher=Fetcher())
    with pytest.raises(InvalidInput, match="JSON object"):
        verify_presentation_input("[]", session=None, issuer=None, fetcher=Fetcher())


def test_a_string_credential_must_be_a_compact_jws() -> None:
    for text in ("hello", "a.b", "{}.{}.{}", "a.b.c d"):
        with pytest.raises(InvalidInput, match="compact JWS"):
            as_input(text)
    assert as_input("eyJh.eyJi.c2ln") == b"eyJh.eyJi.c2ln"


def test_a_cap_on_status_entries(signing_key: SigningKey, unsigned_credential: dict) -> None:  # type: ignore[type-arg]
    entry = unsigned_credential.get("credentialStatus") or {
        "id": "https://example.org/status/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://example.org/status/1",
    }
    unsigned_credential["credentialStatus"] = [entry] * 5
    signed = sign_credential(unsigned_credential, issuer_identity(signing_key), form="di", now=NOW)
    report = verify_input(
        json.dumps(signed).encode(), session=None, issuer=None, fetcher=Fetcher(), now=NOW
    )
    status = [c for c in report.checks if c.name == "status"]
    assert [c.status for c in status] == ["failed"]
    assert "more than 4 status entries" in status[0].message
    assert not report.verified


def test_offline_status_is_not_checked_but_not_a_failure(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    unsigned_credential["credentialStatus"] = {
        "id": "https://127.0.0.1:9/status/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://127.0.0.1:9/status/1",
    }
    signed = sign_credential(unsigned_credential, issuer_identity(signing_key), form="di", now=NOW)
    report = verify_input(
        json.dumps(signed).encode(), session=None, issuer=None, fetcher=Fetcher(), now=NOW
    )
    status = next(c for c in report.checks if c.name == "status")
    assert status.status == "not checked" and not status.essential
    assert report.verified and report.verdict == "verified"


def test_options_choose_the_checks_and_refuse_unknown_ones(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    signed = sign_credential(unsigned_credential, issuer_identity(signing_key), form="di", now=NOW)
    options = VerifyOptions.from_request({"checks": ["proof"]})
    report = verify_input(
        json.dumps(signed).encode(),
        session=None,
        issuer=None,
        fetcher=Fetcher(),
        now=NOW,
        options=options,
    )
    assert [c.name for c in report.checks] == ["proof", "issuer", "data model"]
    for bad in ({"checks": ["telepathy"]}, {"checks": "proof"}, {"challenge": 5}, []):
        with pytest.raises(InvalidInput):
            VerifyOptions.from_request(bad)
