"""Signing before storing: a SignedAward made in one transaction is stored in a later one only
if nothing it was based on has moved; otherwise the attestation is checked and signed anew.

The API signs in a read-only transaction so that SQLite's single write lock is not held while
signing (awards.SignedAward); these tests put a real change between the two transactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session, sessionmaker

from issuer.config import Settings
from issuer.dids import resolve_did_key
from issuer.errors import AlreadyIssued, InvalidInput, NotFound
from issuer.jsonld.loader import load_document
from issuer.services import accounts, awards, catalog, claims, issuing, signoff
from issuer.services.identity import load_identity
from issuer.store.db import make_engine, read_session_factory, session_factory, transaction
from issuer.store.models import (
    Assignment,
    Confirmation,
    CredentialRecord,
    EndorsementRecord,
    User,
)
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


@pytest.fixture
def fresh_odds(monkeypatch: pytest.MonkeyPatch) -> awards.IndexOdds:
    odds = awards.IndexOdds()
    monkeypatch.setattr(awards, "INDEX_ODDS", odds)
    return odds


def statements_of(desk: Desk, learner_id: int, **options: bool) -> tuple[awards.SignedAward, str]:
    """A signed award and every SQL statement signing it ran, one per line."""
    seen: list[str] = []

    def note(*event: object) -> None:
        seen.append(" ".join(str(event[2]).split()))

    engine = desk.reads.kw["bind"]
    sqlalchemy_event.listen(engine, "before_cursor_execute", note)
    try:
        with transaction(desk.reads) as session:
            signed = awards.sign_attestation(
                session,
                desk.supervisor(session),
                desk.issuer,
                learner_id=learner_id,
                soc=SOC,
                level=LEVEL,
                **options,
            )
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", note)
    return signed, "\n".join(seen)


def test_while_the_list_is_sparse_the_index_is_drawn_without_a_probe(
    desk: Desk, fresh_odds: awards.IndexOdds
) -> None:
    """The credential's INSERT is the probe (its unique index): one query less an issuance."""
    probe = "FROM credentials WHERE credentials.status_list_index ="
    blind, statements = statements_of(desk, desk.learners[0])
    assert blind.drawn_blind and probe not in statements
    desk.store(blind)
    assert (fresh_odds.drawn, fresh_odds.refused) == (1, 0)
    probed, statements = statements_of(desk, desk.learners[1], probe=True)
    assert not probed.drawn_blind and probe in statements


def test_a_blind_draw_found_taken_is_signed_anew_and_counted(
    desk: Desk, fresh_odds: awards.IndexOdds
) -> None:
    first = desk.store(desk.sign(desk.learners[0]))
    taken = replace(desk.sign(desk.learners[1]), status_list_index=first.status_list_index)
    assert taken.drawn_blind
    record = desk.store(taken)
    assert record.status_list_index != first.status_list_index
    assert verified(json.loads(record.document), record).verified
    assert (fresh_odds.drawn, fresh_odds.refused) == (2, 1)


def test_once_blind_draws_are_refused_often_the_process_probes_first_again() -> None:
    """A refused draw costs a second signature: past one in ten (and at least three, so one
    unlucky draw early on decides nothing) probing is the cheaper way again."""
    odds = awards.IndexOdds()
    for refused in (True, True):
        odds.record(refused)
    assert not odds.worth_a_probe()
    odds.record(True)
    assert odds.worth_a_probe()
    many = awards.IndexOdds()
    for draw in range(40):
        many.record(refused=draw % 20 == 0)  # 2 in 40, then a third: 3 in 41
    many.record(True)
    assert not many.worth_a_probe()
    for _ in range(2):
        many.record(True)
    assert many.worth_a_probe()  # 5 in 43


def test_the_odds_follow_the_recent_draws_not_the_process_lifetime() -> None:
    """Thousands of free draws while the list was empty must not hide that it is now full
    enough for one draw in five to be refused."""
    odds = awards.IndexOdds()
    for _ in range(10_000):
        odds.record(refused=False)
    for draw in range(odds.WINDOW):
        odds.record(refused=draw % 5 == 0)
    assert odds.worth_a_probe()


def endorse_the_level(desk: Desk, endorsement_id: str) -> None:
    """An endorsement in force of the level's Achievement, stored as `endorsing` stores one
    (its document a stand-in: only its id is looked for in the signed credential)."""
    with transaction(desk.writes) as session:
        achievement = catalog.achievement_record(session, SOC, LEVEL)
        session.add(
            EndorsementRecord(
                id=endorsement_id,
                subject_id=achievement.url,
                endorser_id="did:example:endorser",
                endorser_name="Endorser",
                comment="Sound",
                document=json.dumps(
                    {"id": f"urn:uuid:{endorsement_id}", "type": ["EndorsementCredential"]}
                ),
                created_at=datetime.now(UTC),
            )
        )


def test_endorsements_are_read_only_when_one_is_in_force(desk: Desk) -> None:
    _, statements = statements_of(desk, desk.learners[0])
    assert "FROM endorsements" in statements  # the flag, in the Achievement's query
    assert "SELECT endorsements.id" not in statements
    endorse_the_level(desk, "e1")
    signed, statements = statements_of(desk, desk.learners[0])
    assert "SELECT endorsements.id" in statements
    embedded = json.loads(signed.document)["credentialSubject"]["achievement"]["endorsement"]
    assert [e["id"] for e in embedded] == ["urn:uuid:e1"]


def test_an_achievement_the_session_already_held_still_gets_its_endorsements(desk: Desk) -> None:
    """The flag is a query expression, which an ORM may leave unfilled (None) on an object its
    session already holds: the endorsements must still be embedded, never assumed absent."""
    endorse_the_level(desk, "e2")
    with transaction(desk.reads) as session:
        held = catalog.achievement_record(session, SOC, LEVEL)
        signed = awards.sign_attestation(
            session,
            desk.supervisor(session),
            desk.issuer,
            learner_id=desk.learners[0],
            soc=SOC,
            level=LEVEL,
        )
        assert held.endorsed is not False
    embedded = json.loads(signed.document)["credentialSubject"]["achievement"]["endorsement"]
    assert [e["id"] for e in embedded] == ["urn:uuid:e2"]
