"""Signing before storing: a SignedAward made in one transaction is stored in a later one only
if nothing it was based on has moved; otherwise the attestation is checked and signed anew.

The API signs in a read-only transaction so that SQLite's single write lock is not held while
signing (awards.SignedAward); these tests put a real change between the two transactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from issuer.config import Settings
from issuer.dids import resolve_did_key
from issuer.errors import AlreadyIssued, InvalidInput, NotFound
from issuer.jsonld.loader import load_document
from issuer.services import accounts, awards, catalog, claims, issuing, signoff
from issuer.services.identity import load_identity
from issuer.store.db import make_engine, read_session_factory, session_factory, transaction
from issuer.store.models import Assignment, Confirmation, CredentialRecord, User
from issuer.verification import VerificationReport, verify_credential
from tests.load.test_concurrency import prepare
from tests.web.helpers import LEVEL, SOC


@dataclass
class Desk:
    """A supervisor with confirmed learners, and the two kinds of transaction the API uses."""

    writes: sessionmaker[Session]
    reads: sessionmaker[Session]
    issuer: issuing.Issuer
    learners: list[int]

    def supervisor(self, session: Session) -> User:
        return accounts.user_by_email(session, "sam@example.org")

    def sign(self, learner_id: int) -> awards.SignedAward:
        with transaction(self.reads) as session:
            return awards.sign_attestation(
                session,
                self.supervisor(session),
                self.issuer,
                learner_id=learner_id,
                soc=SOC,
                level=LEVEL,
            )

    def store(self, signed: awards.SignedAward) -> CredentialRecord:
        with transaction(self.writes) as session:
            return awards.attest_level(
                session,
                self.supervisor(session),
                self.issuer,
                learner_id=signed.learner_id,
                soc=SOC,
                level=LEVEL,
                now=signed.issued_at,
                signed=signed,
            )

    def credentials(self, learner_id: int) -> list[CredentialRecord]:
        with transaction(self.reads) as session:
            return list(
                session.scalars(
                    select(CredentialRecord).where(CredentialRecord.learner_id == learner_id)
                )
            )


def verified(document: dict, record: CredentialRecord) -> VerificationReport:  # type: ignore[type-arg]
    """Proof, issuer, dates and JSON-LD (the status list is not fetched here)."""
    return verify_credential(
        document, now=record.issued_at, resolve=resolve_did_key, loader=load_document
    )


@pytest.fixture
def desk(db_settings: Settings) -> Iterator[Desk]:
    _, learners = prepare(db_settings, 3)
    engine = make_engine(db_settings.database_url)
    identity = load_identity(db_settings.keys_dir, None, None, db_settings.issuer_profile())
    yield Desk(
        session_factory(engine),
        read_session_factory(engine),
        issuing.Issuer(identity, db_settings.base_url),
        learners,
    )
    engine.dispose()


def test_a_signed_award_is_stored_as_signed_when_nothing_moved(desk: Desk) -> None:
    signed = desk.sign(desk.learners[0])
    record = desk.store(signed)
    assert (record.id, record.document) == (signed.credential_id, signed.document)
    assert record.status_list_index == signed.status_list_index
    with transaction(desk.reads) as session:
        consumed = session.scalar(select(func.count()).where(Confirmation.consumed_by == record.id))
    assert consumed == 10
    verdict = verified(json.loads(record.document), record)
    assert verdict.verified, verdict


def test_a_confirmation_withdrawn_meanwhile_refuses_the_award(desk: Desk) -> None:
    learner = desk.learners[0]
    signed = desk.sign(learner)
    with transaction(desk.writes) as session:
        signoff.withdraw_confirmation(
            session,
            desk.supervisor(session),
            learner_id=learner,
            soc=SOC,
            level=LEVEL,
            statement=4,
        )
    with pytest.raises(InvalidInput, match=r"statements \[4\] are not confirmed"):
        desk.store(signed)
    assert desk.credentials(learner) == []


def test_of_two_awards_signed_side_by_side_only_the_first_stored_counts(desk: Desk) -> None:
    learner = desk.learners[1]
    first, second = desk.sign(learner), desk.sign(learner)
    desk.store(first)
    with pytest.raises(AlreadyIssued):
        desk.store(second)
    assert [c.id for c in desk.credentials(learner)] == [first.credential_id]


def test_a_status_index_taken_meanwhile_is_drawn_and_signed_anew(desk: Desk) -> None:
    first = desk.sign(desk.learners[0])
    second = replace(desk.sign(desk.learners[1]), status_list_index=first.status_list_index)
    desk.store(first)
    record = desk.store(second)
    assert record.status_list_index != first.status_list_index
    document = json.loads(record.document)
    assert document["credentialStatus"]["statusListIndex"] == str(record.status_list_index)
    verdict = verified(document, record)
    assert verdict.verified, verdict


def test_a_supervisor_no_longer_assigned_cannot_store_what_they_signed(desk: Desk) -> None:
    learner = desk.learners[2]
    signed = desk.sign(learner)
    with transaction(desk.writes) as session:
        session.execute(delete(Assignment).where(Assignment.learner_id == learner))
    with pytest.raises(NotFound):
        desk.store(signed)
    assert desk.credentials(learner) == []


def test_the_claim_e_mail_says_what_the_stored_records_say(desk: Desk) -> None:
    """The attestation composes its claim e-mail from what it loaded (no query of its own):
    the same facts as claims.claim_facts reads for a credential stored earlier."""
    learner = desk.learners[0]
    with transaction(desk.reads) as session:
        achievement = catalog.achievement_record(session, SOC, LEVEL)
        person = session.get(User, learner)
        assert person is not None
        loaded = claims.facts_of(person, achievement)
        read = claims.claim_facts(session, learner, achievement.id)
    assert loaded == read
    assert (loaded.badge.position, loaded.badge.count) == (achievement.position + 1, 4)
