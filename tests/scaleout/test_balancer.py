"""Two `issuer serve` instances on one PostgreSQL behind HAProxy (issue 19, scale-out).

What one instance does, the other sees on the next request: sessions, sign-in limits, claim
links spent once, revocations. Under load through the balancer, one instance is killed with
SIGKILL and the key ring is rotated: nothing is lost or duplicated, every credential verifies
against the DID document every instance now serves, those signed after the rotation use the new
key, mail goes once per credential, and PostgreSQL's own index checker (amcheck) finds nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from issuer.config import Settings
from issuer.services import accounts
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import ClaimToken, Confirmation, CredentialRecord, OutboxMessage
from issuer.web.deps import SIGNING_KEY_AGE
from tests.conftest import postgres_database, prepare_database
from tests.scaleout.cluster import HAPROXY, Cluster, cluster
from tests.web.helpers import LEVEL, SOC, bearer, confirmed_learners, make_token

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not Path(HAPROXY).exists(), reason="HAProxy is not installed"),
]
LEARNERS = 240
ROTATE_AFTER = 40  # credentials issued before `issuer keys rotate`
KILL_AFTER = 100  # … and before one instance is killed
PASSWORD = "coordinator-pass-1"
RACERS = 16


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Cluster, str, list[int]]]:
    """The cluster (two instances, two mail workers), a supervisor's token, learners ready."""
    admin = os.environ.get("ISSUER_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("no PostgreSQL: the scale-out test runs on PostgreSQL only")
    root = tmp_path_factory.mktemp("scaleout")
    with postgres_database(admin) as url:
        settings = Settings(data_dir=root / "data", keys_dir=root / "keys", database_url=url)
        prepare_database(settings)
        KeyRing(settings.keys_dir).generate(None, dev=True)
        token = make_token(settings, "sam@example.org", "Sam Supervisor", ["supervisor"])
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            coordinator = accounts.create_user(
                session,
                email="casey@example.org",
                name="Casey Coordinator",
                roles=["coordinator"],
                password=PASSWORD,
            )
            supervisor = accounts.user_by_email(session, "sam@example.org")
            learners = confirmed_learners(session, coordinator, supervisor, LEARNERS + 2)
        engine.dispose()
        balanced = cluster(settings, 2, workers=2, ISSUER_VERIFY_RATE_LIMIT="0")
        balanced.start()
        try:
            yield balanced, token, learners
        finally:
            balanced.stop()


def login(url: str) -> tuple[str, str]:
    response = httpx.post(
        f"{url}/api/login", json={"email": "casey@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.cookies["issuer_session"], response.json()["csrf_token"]


def attest(url: str, token: str, learner: int) -> httpx.Response:
    return httpx.post(
        f"{url}/api/supervisor/learners/{learner}/attestations",
        json={"soc": SOC, "level": LEVEL},
        headers=bearer(token),
        timeout=30,
    )


def test_a_session_opened_on_one_instance_holds_on_the_other_and_ends_on_both(
    deployment: tuple[Cluster, str, list[int]],
) -> None:
    balanced, _, _ = deployment
    first, second = balanced.instances
    cookie, csrf = login(first.url)
    cookies = {"issuer_session": cookie}
    assert httpx.get(f"{second.url}/api/whoami", cookies=cookies).json()["email"] == (
        "casey@example.org"
    )
    ended = httpx.post(f"{second.url}/api/logout", cookies=cookies, headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 204, ended.text
    assert httpx.get(f"{first.url}/api/whoami", cookies=cookies).status_code == 401


def test_a_claim_link_opens_one_session_whichever_instances_it_races_on(
    deployment: tuple[Cluster, str, list[int]],
) -> None:
    balanced, token, learners = deployment
    learner = learners[-1]
    issued = attest(balanced.url, token, learner)
    assert issued.status_code == 201, issued.text
    link = claim_link(balanced, f"l{len(learners) - 1}@example.org")
    barrier = threading.Barrier(RACERS, timeout=60)

    def claim(n: int) -> int:
        barrier.wait()
        instance = balanced.instances[n % 2]
        return httpx.post(f"{instance.url}{link}", follow_redirects=False).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        codes = sorted(pool.map(claim, range(RACERS)))
    assert codes == [303] + [404] * (RACERS - 1)


def test_a_revocation_on_one_instance_is_served_by_the_other_at_once(
    deployment: tuple[Cluster, str, list[int]],
) -> None:
    balanced, token, learners = deployment
    first, second = balanced.instances
    issued = attest(first.url, token, learners[-2])
    assert issued.status_code == 201, issued.text
    credential = issued.json()["credential"]
    before = httpx.post(
        f"{second.url}/credentials/verify", json={"verifiableCredential": credential}
    )
    assert before.json()["verified"] is True, before.text
    cookie, csrf = login(first.url)
    revoked = httpx.post(
        f"{first.url}/api/credentials/{issued.json()['id']}/revoke",
        json={"reason": "Issued in error"},
        cookies={"issuer_session": cookie},
        headers={"X-CSRF-Token": csrf},
    )
    assert revoked.status_code == 200, revoked.text
    after = httpx.post(
        f"{second.url}/credentials/verify", json={"verifiableCredential": credential}
    )
    assert after.json()["verified"] is False
    assert "revoked" in after.text.lower()


def test_load_through_the_balancer_survives_a_kill_and_a_key_rotation(
    deployment: tuple[Cluster, str, list[int]],
) -> None:
    balanced, token, learners = deployment
    load = learners[:LEARNERS]
    victim = balanced.instances[1]
    issued: list[int] = []
    rotated_at: list[datetime] = []
    lock = threading.Lock()

    def attest_until_answered(learner: int) -> int:
        for _ in range(20):  # the balancer resends what a dead instance never answered
            try:
                code = attest(balanced.url, token, learner).status_code
            except httpx.TransportError:
                code = 0
            if code in (201, 409):
                break
            time.sleep(0.2)
        with lock:
            if code == 201:
                issued.append(learner)
                if len(issued) == ROTATE_AFTER:
                    rotation = balanced.run_cli("keys", "rotate", "--dev")
                    assert rotation.returncode == 0, rotation.stderr
                    rotated_at.append(datetime.now(UTC))
                if len(issued) == KILL_AFTER:
                    balanced.kill(victim)
        return code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(attest_until_answered, load))
    assert victim.process is None and rotated_at  # both happened mid-run
    # A resent attestation that had been stored answers 409 (already issued): fine. Anything
    # else would be a loss.
    assert set(codes) <= {201, 409}, Counter(codes)

    try:
        check_integrity(balanced, load)
        check_every_credential_verifies(balanced, rotated_at[0])
    finally:
        balanced.start_instance(victim)  # back, and serving the rotated keys at once
    assert (
        httpx.get(f"{victim.url}/.well-known/did.json").json()
        == httpx.get(f"{balanced.instances[0].url}/.well-known/did.json").json()
    )
    check_mail_went_once(balanced)


def check_integrity(balanced: Cluster, load: list[int]) -> None:
    """Each learner of the load holds exactly one credential, made of its ten confirmations,
    with one claim token and one claim mail; no status index is used twice; amcheck is clean."""
    engine = make_engine(balanced.settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            rows = session.execute(
                select(CredentialRecord.id, CredentialRecord.learner_id).where(
                    CredentialRecord.learner_id.in_(load)
                )
            ).all()
            assert sorted(learner for _, learner in rows) == sorted(load)
            ids = [credential_id for credential_id, _ in rows]
            consumed = Counter(
                session.scalars(
                    select(Confirmation.consumed_by).where(Confirmation.consumed_by.in_(ids))
                )
            )
            assert consumed == Counter({credential_id: 10 for credential_id in ids})
            tokens = Counter(
                session.scalars(
                    select(ClaimToken.credential_id).where(ClaimToken.credential_id.in_(ids))
                )
            )
            assert tokens == Counter({credential_id: 1 for credential_id in ids})
            indexes = session.execute(
                select(func.count(), func.count(func.distinct(CredentialRecord.status_list_index)))
            ).one()
            assert indexes[0] == indexes[1]
            session.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            indexes_of_ours = session.scalars(
                text(
                    "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE a.amname = 'btree' AND n.nspname = 'public'"
                )
            ).all()
            for oid in indexes_of_ours:  # raises on any inconsistency, heap included
                session.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
            checked = len(indexes_of_ours)
            assert checked > 20  # every index of ours, each checked with its heap
    finally:
        engine.dispose()


def check_every_credential_verifies(balanced: Cluster, rotated_at: datetime) -> None:
    engine = make_engine(balanced.settings.database_url)
    with transaction(session_factory(engine)) as session:
        stored = session.execute(
            select(CredentialRecord.document, CredentialRecord.issued_at).where(
                CredentialRecord.revoked_at.is_(None)
            )
        ).all()
    engine.dispose()
    published = {
        method["id"]
        for method in httpx.get(f"{balanced.url}/.well-known/did.json").json()["verificationMethod"]
    }
    new_key = KeyRing(balanced.settings.keys_dir).public_keys()[-1]
    after = 0
    with httpx.Client(base_url=balanced.url, timeout=30) as client:
        for document, issued_at in stored:
            credential = httpx.Response(200, content=document).json()
            method = credential["proof"][0]["verificationMethod"]
            assert method in published
            # Signing may use a key ring version read up to SIGNING_KEY_AGE ago (the old key
            # stays published); after that, every instance signs with the new key.
            if issued_at > rotated_at + timedelta(seconds=SIGNING_KEY_AGE):
                assert method.endswith(f"#{new_key}")
                after += 1
            verified = client.post("/credentials/verify", json={"verifiableCredential": credential})
            assert verified.json()["verified"] is True, verified.text
    assert after > 0


def check_mail_went_once(balanced: Cluster) -> None:
    """Two workers, one queue: every queued message is sent, and each exactly once."""
    engine = make_engine(balanced.settings.database_url)
    try:
        for _ in range(300):
            with transaction(session_factory(engine)) as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))
                )
                queued = session.scalar(select(func.count()).select_from(OutboxMessage))
            if pending == 0:
                break
            time.sleep(0.2)
        assert pending == 0
    finally:
        engine.dispose()
    outbox = balanced.settings.data_dir / "outbox"
    sent = Counter(
        (str(message["To"]), str(message["Subject"]))
        for message in (
            message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in outbox.iterdir()
        )
    )
    assert sum(sent.values()) == queued
    assert max(sent.values()) == 1, sent.most_common(3)


def claim_link(balanced: Cluster, email: str) -> str:
    """The claim link in `email`'s claim mail, once a worker has delivered it."""
    outbox = balanced.settings.data_dir / "outbox"
    for _ in range(150):
        for path in outbox.glob("*.eml") if outbox.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if email in str(message["To"]):
                body = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                return body.split(balanced.url, 1)[1].split()[0]
        time.sleep(0.2)
    raise AssertionError(f"no claim mail to {email}")


def test_sign_in_limits_count_on_every_instance(
    deployment: tuple[Cluster, str, list[int]],
) -> None:
    """Last: ten wrong passwords also lock 127.0.0.1 out of signing in for a minute."""
    balanced, _, _ = deployment
    wrong = {"email": "casey@example.org", "password": "not-the-password"}
    codes = [
        httpx.post(f"{balanced.instances[n % 2].url}/api/login", json=wrong).status_code
        for n in range(14)
    ]
    limit = balanced.settings.login_rate_limit
    assert codes == [401] * limit + [429] * (14 - limit)
