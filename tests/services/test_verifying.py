"""The one engine: every container, both proof formats, and clear errors for the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from issuer.baking.png import bake_png
from issuer.baking.svg import bake_svg
from issuer.dids import did_key
from issuer.errors import InvalidInput
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, sign_credential
from issuer.services.verifying import (
    MAX_BLANK_NODE_LABELS,
    MAX_DEPTH,
    MAX_INPUT_BYTES,
    MAX_VALUES,
    VerifyOptions,
    as_input,
    read_credential,
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


def nested(levels: int) -> dict:  # type: ignore[type-arg]
    node: dict = {}  # type: ignore[type-arg]
    for _ in range(levels):
        node = {"next": node}
    return node


def clique() -> list[dict]:  # type: ignore[type-arg]
    """The 10-node blank-node clique of W3C rdf-canon test 074, as JSON-LD node objects."""
    labels = [f"_:e{i}" for i in range(10)]
    return [{"@id": label, "p": labels} for label in labels]


# What each limit refuses, put where JSON-LD reads it: the credential's subject.
OVER_THE_LIMITS: dict[str, tuple[dict[str, Any], str]] = {
    "depth": ({"about": nested(MAX_DEPTH + 5)}, "too deep"),
    "value_count": ({"scores": list(range(MAX_VALUES + 1))}, "too deep or large"),
    "blank_node_labels": ({"p": clique()}, "blank node labels"),
}


def signed_jwt(key: SigningKey, credential: dict, subject: dict, form: str) -> str:  # type: ignore[type-arg]
    """`credential`, its subject given `subject`'s properties, as a VC-JWT from key's did:key."""
    did = did_key(key.multikey)
    credential["@context"] = [
        *credential["@context"],
        {"p": {"@id": "https://example.org/p", "@type": "@id"}},
    ]
    credential["credentialSubject"] = {**credential["credentialSubject"], **subject}
    credential["issuer"] = did
    return encode_vc_jwt(credential, key=key, kid=f"{did}#{key.multikey}", form=form)


@pytest.mark.parametrize("form", [OB3_JWT, VC_JOSE])
@pytest.mark.parametrize("limit", OVER_THE_LIMITS)
def test_a_jwt_payload_meets_the_same_limits(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
    limit: str,
    form: str,
) -> None:
    """The limits hold for the credential inside a JWT as for JSON (the W3C rdf-canon test 074
    clique, signed as a VC-JWT, once verified)."""
    subject, message = OVER_THE_LIMITS[limit]
    token = signed_jwt(signing_key, unsigned_credential, subject, form)
    with pytest.raises(InvalidInput, match=message):
        verify_input(token.encode(), session=None, issuer=None, fetcher=Fetcher(), now=NOW)


@pytest.mark.parametrize("form", [OB3_JWT, VC_JOSE])
@pytest.mark.parametrize("limit", OVER_THE_LIMITS)
def test_a_jwt_in_a_presentation_meets_the_same_limits(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
    limit: str,
    form: str,
) -> None:
    subject, message = OVER_THE_LIMITS[limit]
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [signed_jwt(signing_key, unsigned_credential, subject, form)],
    }
    with pytest.raises(InvalidInput, match=message):
        verify_presentation_input(
            presentation, session=None, issuer=None, fetcher=Fetcher(), now=NOW
        )


def test_a_jwt_just_within_the_limits_is_read(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    labels = {"p": [{"@id": f"_:b{i}"} for i in range(MAX_BLANK_NODE_LABELS)]}
    token = signed_jwt(signing_key, unsigned_credential, labels, OB3_JWT)
    assert read_credential(token.encode()) == token


def test_offline_a_related_resource_is_not_checked_rather_than_passed(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    """A wallet exchange verifies with local keys only and fetches nothing: the digest of a
    related resource is then "not checked" (not essential), never silently skipped."""
    resource = "https://example.org/resources/logo.svg"
    unsigned_credential["relatedResource"] = [
        {"id": resource, "digestSRI": "sha256-" + "A" * 43 + "="}
    ]
    signed = sign_credential(unsigned_credential, issuer_identity(signing_key), form="di", now=NOW)
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [signed],
    }
    report = verify_presentation_input(
        presentation,
        session=None,
        issuer=None,
        fetcher=Fetcher(),
        now=NOW,
        options=VerifyOptions(local_keys_only=True),
    )
    [data_model] = [c for c in report.checks if c.name == "credential 1: data model"]
    assert (data_model.status, data_model.essential) == ("not checked", False)
    assert "its digest was not checked" in data_model.message
    assert data_model.code == "NOT_CHECKED"
    assert {c.name for c in report.failed} <= {"presentation proof", "holder"}
