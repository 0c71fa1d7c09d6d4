"""Load: 50 attestations at once for distinct learners and 20 racing for one learner give
exactly the right credentials — no duplicate, no lost confirmation, status indexes unique."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.services import accounts, awards
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import Confirmation, CredentialRecord
from issuer.web.app import create_app
from tests.web.helpers import LEVEL, SOC, bearer, confirmed_learners, make_token

LEARNERS = 50
RACERS = 20


def prepare(settings: Settings, learners: int = LEARNERS) -> tuple[str, list[int]]:
    """A supervisor with `learners` learners, every statement of one level confirmed for each."""
    token = make_token(settings, "sam@example.org", "Sam", ["supervisor"])
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        coordinator = accounts.create_user(
            session, email="c@example.org", name="C", roles=["coordinator"]
        )
        supervisor = accounts.user_by_email(session, "sam@example.org")
        ids = confirmed_learners(session, coordinator, supervisor, learners)
    engine.dispose()
    return token, ids


def test_concurrent_attestations(db_settings: Settings) -> None:
    token, learners = prepare(db_settings)
    with TestClient(create_app(db_settings)) as client:

        def attest(learner_id: int) -> int:
            response = client.post(
                f"/api/supervisor/learners/{learner_id}/attestations",
                json={"soc": SOC, "level": LEVEL},
                headers=bearer(token),
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            distinct = list(pool.map(attest, learners))
            racing = list(pool.map(attest, [learners[0]] * RACERS))
    assert distinct == [201] * LEARNERS
    assert racing == [409] * RACERS  # learner 0 already holds the credential
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        credentials = session.scalar(select(func.count()).select_from(CredentialRecord))
        indexes = session.scalar(
            select(func.count(func.distinct(CredentialRecord.status_list_index)))
        )
        consumed = session.scalar(
            select(func.count())
            .select_from(Confirmation)
            .where(Confirmation.consumed_by.is_not(None))
        )
        confirmations = session.scalar(select(func.count()).select_from(Confirmation))
    engine.dispose()
    assert credentials == LEARNERS and indexes == LEARNERS
    assert confirmations == consumed == LEARNERS * 10  # none lost, each in exactly its credential


def test_racing_for_one_learner_issues_once(db_settings: Settings) -> None:
    token, learners = prepare(db_settings)
    with TestClient(create_app(db_settings)) as client:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            codes = list(
                pool.map(
                    lambda _: (
                        client.post(
                            f"/api/supervisor/learners/{learners[7]}/attestations",
                            json={"soc": SOC, "level": LEVEL},
                            headers=bearer(token),
                        ).status_code
                    ),
                    range(RACERS),
                )
            )
    assert sorted(codes) == [201] + [409] * (RACERS - 1)


def test_a_full_status_list_refuses_clearly_instead_of_searching_forever(
    db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random probing alone never ends on a full list; a nearly full one is drawn from its
    free indexes. A list of two stands in for 131,072."""
    monkeypatch.setattr(awards, "STATUS_LIST_SIZE", 2)
    token, learners = prepare(db_settings, 3)
    with TestClient(create_app(db_settings)) as client:
        codes = [
            client.post(
                f"/api/supervisor/learners/{learner}/attestations",
                json={"soc": SOC, "level": LEVEL},
                headers=bearer(token),
            )
            for learner in learners
        ]
    assert [response.status_code for response in codes] == [201, 201, 409]
    assert "the status list is full: all 2 indexes are used" in codes[2].json()["detail"]
    indexes = {
        response.json()["credential"]["credentialStatus"]["statusListIndex"]
        for response in codes[:2]
    }
    assert indexes == {"0", "1"}
