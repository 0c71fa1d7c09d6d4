"""The verification report: each problem is a named failed check with a plain reason."""

from datetime import UTC, datetime

import pytest

from issuer.dids import did_document, did_key, resolve_did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.data_integrity import add_proof
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def identity(key: SigningKey, did: str | None = None, keys: tuple[str, ...] = ()) -> IssuerIdentity:
    own = did or did_key(key.multikey)
    return IssuerIdentity(
        own, key, keys or (key.multikey,), IssuerProfile(id=own, name="St Example")
    )


def verify(credential, issuer: IssuerIdentity, now: datetime = NOW):  # type: ignore[no-untyped-def]
    resolve = make_resolver(issuer, Fetcher())
    return verify_credential(credential, now=now, resolve=resolve, loader=load_document)


@pytest.mark.parametrize("form", ["di", "jwt", "vc+jwt"])
def test_our_credentials_verify_in_every_form(
    signing_key: SigningKey, unsigned_credential: dict, form: str
) -> None:  # type: ignore[type-arg]
    issuer = identity(signing_key)
    signed = sign_credential(unsigned_credential, issuer, form=form, now=NOW)
    report = verify(signed, issuer)
    assert report.verified, report.failed
    assert [c.name for c in report.checks] == [
        "proof",
        "issuer",
        "data model",
        "validFrom",
        "json-ld",
        "conformance",
    ]
    assert all(c.status == "passed" for c in report.checks), report.checks
    assert report.credential is not None and report.credential["issuer"]["id"] == issuer.did


def test_fails_to_verify_if_expired_or_not_yet_valid(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    issuer = identity(signing_key)
    unsigned_credential["validUntil"] = "2027-01-01T00:00:00Z"
    signed = sign_credential(unsigned_credential, issuer, form="di", now=NOW)
    assert verify(signed, issuer).verified
    late = verify(signed, issuer, now=datetime(2027, 6, 1, tzinfo=UTC))
    assert [c.name for c in late.failed] == ["expiry"]
    assert late.verdict == "expired"
    early = verify(signed, issuer, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert [c.name for c in early.failed] == ["validFrom"]


def test_fails_to_verify_if_the_key_is_not_the_issuers(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    mallory = SigningKey.from_seed(b"\x05" * 32)
    unsigned_credential["issuer"] = {
        "id": did_key(signing_key.multikey),
        "type": ["Profile"],
        "name": "Victim",
    }
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    signed = add_proof(
        unsigned_credential,
        key=mallory,
        verification_method=f"{did_key(mallory.multikey)}#{mallory.multikey}",
        created=NOW,
        loader=load_document,
    )
    report = verify_credential(signed, now=NOW, resolve=resolve_did_key, loader=load_document)
    assert [c.name for c in report.failed] == ["issuer"]
    assert "not of the issuer" in report.failed[0].message


def test_old_credentials_verify_after_key_rotation_with_did_web(unsigned_credential: dict) -> None:  # type: ignore[type-arg]
    old, new = SigningKey.from_seed(b"\x01" * 32), SigningKey.from_seed(b"\x02" * 32)
    did = "did:web:badges.example.org"
    before = identity(old, did, (old.multikey,))
    signed = sign_credential(unsigned_credential, before, form="di", now=NOW)
    after = identity(new, did, (old.multikey, new.multikey))
    assert after.did_document() == did_document(did, [old.multikey, new.multikey])
    assert verify(signed, after).verified
    assert not verify(signed, identity(new, did, (new.multikey,))).verified


def test_fails_to_verify_a_credential_with_a_dropped_term(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    issuer = identity(signing_key)
    signed = sign_credential(unsigned_credential, issuer, form="di", now=NOW)
    assert isinstance(signed, dict)
    signed["credentialSubject"]["extra"] = "not covered by the signature"
    report = verify(signed, issuer)
    assert "json-ld" in [c.name for c in report.failed]


def test_report_has_the_vc_api_shape(signing_key: SigningKey, unsigned_credential: dict) -> None:  # type: ignore[type-arg]
    issuer = identity(signing_key)
    signed = sign_credential(unsigned_credential, issuer, form="di", now=NOW)
    assert isinstance(signed, dict)
    signed["name"] = "changed"
    body = verify(signed, issuer).to_json()
    assert body["verified"] is False
    assert body["errors"] == [
        {
            "check": "proof",
            "message": "the signature does not match the document",
            "code": "PROOF_VERIFICATION_ERROR",
        }
    ]
    assert [problem["check"] for problem in body["notChecked"]] == ["issuer"]
    assert body["checks"] == ["data model", "validFrom", "json-ld", "conformance"]


def test_a_malformed_open_badge_is_authentic_but_warned_about(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    issuer = identity(signing_key)
    unsigned_credential["credentialSubject"]["achievement"]["image"] = "https://example.com/i.png"
    signed = sign_credential(unsigned_credential, issuer, form="di", now=NOW)
    report = verify(signed, issuer)
    assert report.verified
    conformance = next(c for c in report.checks if c.name == "conformance")
    assert conformance.status == "warning" and "image" in conformance.message
