"""Faults: the server killed with SIGKILL in the middle of a bulk issuance, then restarted.

The bulk client sends every attestation again after the restart (it cannot know which of the
unanswered ones were stored). Every learner ends with exactly one credential; a credential stored
before the kill keeps its status index and every confirmation it consumed; nothing is half-written
(a credential without its confirmations, claim token or claim mail); no status index is reused.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import ClaimToken, Confirmation, CredentialRecord, OutboxMessage
from tests.load.test_concurrency import prepare
from tests.web.helpers import LEVEL, SOC, bearer, free_port, serve

LEARNERS = 60
KILL_AFTER = 15  # credentials answered before the kill


def stored(settings: Settings) -> dict[str, object]:
    """What the database holds, per credential: learner, status index, consumed confirmations,
    claim tokens; and the claim mails queued."""
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        credentials = {
            record.id: (record.learner_id, record.status_list_index)
            for record in session.scalars(select(CredentialRecord))
        }
        consumed = Counter(
            session.scalars(
                select(Confirmation.consumed_by).where(Confirmation.consumed_by.is_not(None))
            )
        )
        tokens = Counter(session.scalars(select(ClaimToken.credential_id)))
        mails = session.scalar(select(func.count()).select_from(OutboxMessage))
    engine.dispose()
    return {"credentials": credentials, "consumed": consumed, "tokens": tokens, "mails": mails}


def attest_all(
    port: int, token: str, learners: list[int], stop: threading.Event | None = None
) -> list[object]:
    """The bulk client: 8 at a time; a status code, or the error if the server vanished. With
    `stop`, it sets it after KILL_AFTER credentials and sends nothing more."""

    def attest(learner_id: int) -> object:
        if stop is not None and stop.is_set():
            return "not sent"
        try:
            response = http.post(
                f"http://127.0.0.1:{port}/api/supervisor/learners/{learner_id}/attestations",
                json={"soc": SOC, "level": LEVEL},
                headers=bearer(token),
            )
        except httpx.HTTPError as error:
            return type(error).__name__
        if response.status_code == 201:
            issued.append(learner_id)
            if stop is not None and len(issued) == KILL_AFTER:
                stop.set()
        return response.status_code

    issued: list[int] = []
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
        return list(pool.map(attest, learners))


def test_sigkill_mid_bulk_issuance_then_restart_issues_each_credential_once(
    db_settings: Settings,
) -> None:
    port = free_port()
    configured = replace(db_settings, base_url=f"http://127.0.0.1:{port}")
    token, learners = prepare(configured, LEARNERS)
    server = serve(configured, port)
    killed = threading.Event()

    def kill_when_told() -> None:
        killed.wait(timeout=120)
        os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-request

    killer = threading.Thread(target=kill_when_told)
    killer.start()
    try:
        first = attest_all(port, token, learners, killed)
    finally:
        killed.set()
        killer.join()
        server.wait(timeout=30)
    assert first.count(201) >= KILL_AFTER and first.count(201) < LEARNERS  # truly mid-run
    before = stored(configured)
    credentials_before = before["credentials"]
    assert isinstance(credentials_before, dict)
    assert first.count(201) <= len(credentials_before) < LEARNERS

    server = serve(configured, port)
    try:
        second = attest_all(port, token, learners)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Already stored before the kill: refused as already issued; the rest: issued now.
    holders = {learner for learner, _ in credentials_before.values()}
    assert [code == 409 for code in second] == [learner in holders for learner in learners]
    assert all(code in (201, 409) for code in second), Counter(map(str, second))

    after = stored(configured)
    credentials = after["credentials"]
    assert isinstance(credentials, dict)
    assert sorted(learner for learner, _ in credentials.values()) == sorted(learners)
    indexes = [index for _, index in credentials.values()]
    assert len(set(indexes)) == LEARNERS  # no status index reused
    for credential_id, learner_and_index in credentials_before.items():
        assert credentials[credential_id] == learner_and_index  # survived as it was
    # Nothing half-written: each credential consumed exactly its ten confirmations and has
    # exactly one claim token and one claim mail.
    assert after["consumed"] == Counter({credential_id: 10 for credential_id in credentials})
    assert after["tokens"] == Counter({credential_id: 1 for credential_id in credentials})
    assert after["mails"] == LEARNERS
