"""Endorsements (issue 18, item 5): an EndorsementCredential signed by its endorser, embedded
in the Achievement it endorses, verified apart from the credential that carries it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from issuer.dids import did_key
from issuer.endorsements import embedded_endorsements, endorsement_credential, endorsers
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential
from tests.interop.reference import missing, run_reference
from tests.realistic import realistic_credential

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def identity(seed: int, name: str) -> IssuerIdentity:
    key = SigningKey.from_seed(bytes([seed]) * 32)
    did = did_key(key.multikey)
    return IssuerIdentity(did, key, (key.multikey,), IssuerProfile(id=did, name=name))


ISSUER = identity(1, "St Example Hospital Imaging Academy")
ENDORSER = identity(2, "Society of Example Radiographers")


def endorsement_of(subject_id: str, comment: str = "Meets our standard of practice.") -> Any:
    unsigned = endorsement_credential(
        endorsement_id="http://127.0.0.1:8000/endorsements/7d4c2f7e-1f5e-4a43-9a52-2f4c6d9b8e01",
        subject_id=subject_id,
        endorser=ENDORSER.profile.to_json(),
        comment=comment,
        subject_name="Radiologic Technologists and Technicians: Proficient",
        valid_from=NOW,
    )
    return sign_credential(unsigned, ENDORSER, form="di", now=NOW)


def endorsed_credential(endorsement: Any) -> Any:
    credential = realistic_credential()
    credential["credentialSubject"]["achievement"]["endorsement"] = [endorsement]
    return sign_credential(credential, ISSUER, form="di", now=NOW)


def verify(document: Any) -> Any:
    return verify_credential(
        document, now=NOW, resolve=make_resolver(ISSUER, Fetcher()), loader=load_document
    )


def achievement_id() -> str:
    return str(realistic_credential()["credentialSubject"]["achievement"]["id"])


def test_an_endorsed_achievement_verifies_with_its_endorsement_reported_apart() -> None:
    endorsement = endorsement_of(achievement_id())
    assert verify(endorsement).verified  # it stands on its own
    report = verify(endorsed_credential(endorsement))
    assert report.verified, report.failed
    [check] = [c for c in report.checks if c.name == "endorsement"]
    assert check.status == "passed" and not check.essential
    assert "endorsement of the achievement by Society of Example Radiographers" in check.message
    assert "Meets our standard of practice." in check.message


def test_a_tampered_endorsement_is_a_warning_not_a_failed_credential() -> None:
    endorsement = endorsement_of(achievement_id())
    endorsement["credentialSubject"]["endorsementComment"] = "The best programme in the world."
    report = verify(endorsed_credential(endorsement))
    assert report.verified and report.verdict == "verified"
    [check] = [c for c in report.checks if c.name == "endorsement"]
    assert check.status == "warning"
    assert "does not verify" in check.message and "proof" in check.message
    assert report.to_json()["warnings"][-1]["check"] == "endorsement"


def test_an_endorsement_of_something_else_is_a_warning() -> None:
    elsewhere = endorsement_of("http://127.0.0.1:8000/achievements/29-2034.00/advanced")
    report = verify(endorsed_credential(elsewhere))
    [check] = [c for c in report.checks if c.name == "endorsement"]
    assert report.verified and check.status == "warning"
    assert "not the achievement it is embedded in" in check.message


def test_endorsements_are_found_wherever_ob_puts_them() -> None:
    credential: dict[str, Any] = realistic_credential()
    credential["endorsement"] = ["a"]
    credential["issuer"] = {"id": "did:example:i", "endorsement": ["b", "c"]}
    achievement = credential["credentialSubject"]["achievement"]
    achievement["creator"] = {"id": "did:example:c", "endorsement": "d"}
    found = [(e.what, e.subject_id, e.endorsement) for e in embedded_endorsements(credential)]
    assert found == [
        ("the credential", None, "a"),
        ("the issuer", "did:example:i", "b"),
        ("the issuer", "did:example:i", "c"),
        ("the achievement's creator", "did:example:c", "d"),
    ]


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_the_reference_stack_verifies_our_endorsement_and_the_credential_carrying_it() -> None:
    endorsement = endorsement_of(achievement_id())
    assert run_reference("verify", credential=endorsement)["verified"]
    credential = endorsed_credential(endorsement)
    assert run_reference("verify", credential=credential)["verified"]


def test_pages_are_told_who_endorses_what_and_only_web_addresses() -> None:
    endorsement = endorsement_of(achievement_id())
    endorsement["issuer"] = {**endorsement["issuer"], "url": "javascript:alert(1)"}
    credential = realistic_credential()
    achievement = credential["credentialSubject"]["achievement"]
    creator = {
        **achievement["creator"],
        "endorsement": [endorsement_of(achievement["creator"]["id"])],
    }
    stray = endorsement_of("https://elsewhere.example/achievements/1")
    achievement.update(endorsement=[endorsement, stray], creator=creator)

    (of_achievement, of_creator) = endorsers(credential)
    assert of_achievement.name == "Society of Example Radiographers"
    assert of_achievement.what == "achievement" and of_creator.what == "achievement's creator"
    assert of_achievement.comment == "Meets our standard of practice."
    assert of_achievement.since == "30 November 2026"
    assert of_achievement.url is None  # not an http(s) address: never a link
    assert of_achievement.link == endorsement["id"]
    assert endorsers(achievement) == [of_achievement, of_creator]  # the Achievement alone
