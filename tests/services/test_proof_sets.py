"""Every place that signs for the issuer signs with the identity's suites: an award's
credential, a wallet copy, the status lists. With ISSUER_PROOFS naming both suites each gets a
two-proof set (eddsa-rdfc-2022 and ecdsa-rdfc-2019) that verifies, on a real SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from issuer.credentials import StatementEvidence
from issuer.jsonld.loader import load_document
from issuer.keys import P256SigningKey, SigningKey
from issuer.profiles import IssuerProfile
from issuer.services import awards, status
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver
from issuer.services.issuing import Issuer
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import AchievementRecord, CredentialRecord, User
from issuer.verification import verify_credential
from tests.conftest import ROOT, SEED

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DID_WEB = "did:web:badges.example.org"
BOTH = ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"]
ED25519_KEY = SigningKey.from_seed(SEED)
P256_KEY = P256SigningKey.from_secret(SEED)
IDENTITY = IssuerIdentity(
    DID_WEB,
    ED25519_KEY,
    (ED25519_KEY.multikey, P256_KEY.multikey),
    IssuerProfile(id=DID_WEB, name="St Example"),
    P256_KEY,
    tuple(BOTH),
)
ISSUER = Issuer(IDENTITY, "https://badges.example.org")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as opened:
        yield opened
    engine.dispose()


def award() -> awards.Award:
    achievement = json.loads((ROOT / "achievements/29-2034.00/proficient.json").read_text())
    evidence = [
        StatementEvidence(
            n, f"Statement {n}", "Dr. Ana Müller", date(2026, 11, n), "Observed", "CT"
        )
        for n in range(1, 11)
    ]
    return awards.Award(
        learner=User(email="lee@example.org", name="Lee"),
        supervisor=User(email="sam@example.org", name="Dr. Ana Müller"),
        achievement=AchievementRecord(document=achievement),
        confirmations=[],
        evidence=evidence,
        valid_until=None,
    )


def verified(document: dict[str, Any]) -> Any:
    return verify_credential(
        document, now=NOW, resolve=make_resolver(IDENTITY, Fetcher()), loader=load_document
    )


def suites(document: dict[str, Any]) -> list[str]:
    return [proof["cryptosuite"] for proof in document["proof"]]


def test_an_awarded_credential_carries_both_proofs() -> None:
    signed = awards.signed_credential(ISSUER, award(), "c-1", 94567, None, NOW)
    assert suites(signed) == BOTH
    report = verified(signed)
    assert [c.status for c in report.checks if c.name == "proof"] == ["passed"]
    assert [c.status for c in report.checks if c.name == "issuer"] == ["passed"]


def test_a_wallet_copy_carries_both_proofs(session: Session) -> None:
    document = awards.signed_credential(ISSUER, award(), "c-1", 94567, None, NOW)
    record = CredentialRecord(
        id="c-1", learner_id=1, achievement_id=1, document=json.dumps(document)
    )
    copy = awards._copy(session, ISSUER, record, "did:key:z6MkWallet", NOW)
    bound = json.loads(copy.document)
    assert bound["credentialSubject"]["id"] == "did:key:z6MkWallet" and suites(bound) == BOTH
    report = verified(bound)
    assert [c.status for c in report.checks if c.name == "proof"] == ["passed"]


def test_the_status_list_carries_both_proofs(session: Session) -> None:
    listing = status.published_list(session, ISSUER, 1, NOW)
    assert suites(listing) == BOTH
    report = verified(listing)
    assert [c.status for c in report.checks if c.name == "proof"] == ["passed"]
