"""Single use means once, on SQLite and on PostgreSQL: requests released together at a barrier
spend a claim link, a pre-authorized code, an access token, a c_nonce or a VC-API exchange
exactly once, and 30 wrong transaction codes are evaluated no more than the limit allows.

Found by an attacker on PostgreSQL (issue 15): one claim link opened 12 sessions out of 16
racing requests, one pre-authorized code gave 3 access tokens, and 30 wrong transaction codes
were all evaluated against a limit of 3 (6 of 30 on SQLite). Each race here is run against the
app with real threads and real connections; the database must pick the one winner.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import httpx2
import jwt
import pytest
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.services import accounts, exchanges
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import Exchange, Nonce, WebSession
from tests.web.helpers import World, bearer

RACERS = 16
GUESSERS = 30
DOMAIN = "127.0.0.1:8000"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
LOCKED = "too many wrong transaction codes; ask for a new offer"


def race(count: int, send: Callable[[int], httpx2.Response]) -> list[httpx2.Response]:
    """`count` requests from `count` threads, released together by a barrier."""
    barrier = threading.Barrier(count, timeout=60)

    def run(n: int) -> httpx2.Response:
        barrier.wait()
        return send(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def outcomes(responses: list[httpx2.Response]) -> Counter[tuple[int, str]]:
    """(status, OAuth error or "") of each response, counted."""
    return Counter(
        (r.status_code, r.json().get("error", "") if r.status_code != 303 else "")
        for r in responses
    )


class Database:
    """Set-up and inspection through the services, in transactions of their own."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)

    def openid_offer(self, credential_id: str) -> tuple[str, str, str]:
        """(exchange id, pre-authorized code, transaction code) of a new credential offer."""
        with transaction(self.sessions) as session:
            learner = accounts.user_by_email(session, "lee@example.org")
            exchange, code, tx_code = exchanges.start_openid(session, learner, credential_id)
            return exchange.id, code, tx_code

    def vcapi_exchange(self, credential_id: str) -> tuple[str, str]:
        with transaction(self.sessions) as session:
            learner = accounts.user_by_email(session, "lee@example.org")
            exchange = exchanges.start_vcapi(session, learner, credential_id)
            return exchange.id, exchange.challenge or ""

    def exchange(self, exchange_id: str) -> Exchange:
        with transaction(self.sessions) as session:
            found = session.get(Exchange, exchange_id)
            assert found is not None
            return found

    def count(self, model: Any) -> int:
        with transaction(self.sessions) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def issued(world: World, db_settings: Settings) -> Any:
    world.confirm_all()
    response = world.attest()
    assert response.status_code == 201, response.text
    database = Database(db_settings)
    yield world, response.json()["id"], database
    database.engine.dispose()


WALLET = SigningKey.from_seed(bytes.fromhex("22" * 32))


def wallet_proof(nonce: str) -> str:
    did = did_key(WALLET.multikey)
    return jwt.encode(
        {"aud": "http://127.0.0.1:8000", "iat": int(time.time()), "nonce": nonce},
        WALLET.private_key,
        algorithm="EdDSA",
        headers={"typ": "openid4vci-proof+jwt", "kid": f"{did}#{WALLET.multikey}"},
    )


def token_request(world: World, code: str, tx_code: str) -> httpx2.Response:
    form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code, "tx_code": tx_code}
    return world.client.post("/oid4vci/token", data=form)


def access_token(world: World, database: Database, credential_id: str) -> str:
    _, code, tx_code = database.openid_offer(credential_id)
    response = token_request(world, code, tx_code)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def nonce(world: World) -> str:
    return str(world.client.post("/oid4vci/nonce").json()["c_nonce"])


def credential_request(world: World, token: str, c_nonce: str) -> httpx2.Response:
    return world.client.post(
        "/oid4vci/credential",
        json={"proofs": {"jwt": [wallet_proof(c_nonce)]}},
        headers=bearer(token),
    )


def test_a_claim_link_signs_in_once(issued: Any, db_settings: Settings) -> None:
    world, _, database = issued
    outbox = (db_settings.data_dir / "outbox").iterdir()
    messages = [message_from_bytes(eml.read_bytes(), policy=policy.default) for eml in outbox]
    bodies = [str(m.get_body(("plain",)).get_content()) for m in messages]  # type: ignore[union-attr]
    bodies = [body for body in bodies if "/claim/" in body]
    assert len(bodies) == 1
    link = bodies[0].split("http://127.0.0.1:8000", 1)[1].split()[0]
    responses = race(RACERS, lambda _: world.client.post(link, follow_redirects=False))
    assert sorted(r.status_code for r in responses) == [303] + [404] * (RACERS - 1)
    assert database.count(WebSession) == 1


def test_a_pre_authorized_code_gives_one_access_token(issued: Any) -> None:
    world, credential_id, database = issued
    exchange_id, code, tx_code = database.openid_offer(credential_id)
    responses = race(RACERS, lambda _: token_request(world, code, tx_code))
    assert outcomes(responses) == {(200, ""): 1, (400, "invalid_grant"): RACERS - 1}
    assert database.exchange(exchange_id).access_token_hash is not None


def test_thirty_wrong_transaction_codes_are_evaluated_at_most_the_limit(issued: Any) -> None:
    world, credential_id, database = issued
    exchange_id, code, tx_code = database.openid_offer(credential_id)
    wrong = "000000" if tx_code != "000000" else "111111"
    responses = race(GUESSERS, lambda _: token_request(world, code, wrong))
    assert all(r.json()["error"] == "invalid_grant" for r in responses)
    said = Counter(r.json()["error_description"] for r in responses)
    limit = exchanges.MAX_TX_CODE_ATTEMPTS
    assert said == {"wrong transaction code": limit, LOCKED: GUESSERS - limit}
    assert database.exchange(exchange_id).tx_attempts == GUESSERS  # every attempt counted
    # The right code now comes too late: the offer is locked, and its document gone.
    assert token_request(world, code, tx_code).json()["error_description"] == LOCKED
    assert world.client.get(f"/oid4vci/offers/{exchange_id}").status_code == 409
    assert database.exchange(exchange_id).access_token_hash is None


def test_an_access_token_gives_one_credential(issued: Any) -> None:
    world, credential_id, database = issued
    token = access_token(world, database, credential_id)
    nonces = [nonce(world) for _ in range(RACERS)]  # one each: only the token is contested
    responses = race(RACERS, lambda n: credential_request(world, token, nonces[n]))
    assert outcomes(responses) == {(200, ""): 1, (401, "invalid_token"): RACERS - 1}


def test_a_refused_proof_spends_the_nonce_but_not_the_access_token(issued: Any) -> None:
    """A wallet told `invalid_nonce` fetches a fresh nonce and tries again with its token."""
    world, credential_id, database = issued
    token = access_token(world, database, credential_id)
    refused = credential_request(world, token, "a-nonce-we-never-issued")
    assert refused.json()["error"] == "invalid_nonce"
    c_nonce = nonce(world)
    assert credential_request(world, token, c_nonce).status_code == 200
    assert credential_request(world, token, nonce(world)).json()["error"] == "invalid_token"
    again = credential_request(world, access_token(world, database, credential_id), c_nonce)
    assert again.json()["error"] == "invalid_nonce"


def test_a_nonce_is_accepted_once(issued: Any) -> None:
    world, credential_id, database = issued
    tokens = [access_token(world, database, credential_id) for _ in range(RACERS)]
    shared = nonce(world)
    responses = race(RACERS, lambda n: credential_request(world, tokens[n], shared))
    assert outcomes(responses) == {(200, ""): 1, (400, "invalid_nonce"): RACERS - 1}
    assert database.count(Nonce) == 1


def test_a_vc_api_exchange_completes_once(issued: Any) -> None:
    world, credential_id, database = issued
    exchange_id, challenge = database.vcapi_exchange(credential_id)
    holder = did_key(WALLET.multikey)
    presentation = add_proof(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": holder,
        },
        key=WALLET,
        verification_method=f"{holder}#{WALLET.multikey}",
        created=datetime.now(UTC),
        loader=load_document,
        proof_purpose="authentication",
        challenge=challenge,
        domain=DOMAIN,
    )
    body = {"verifiablePresentation": presentation}
    responses = race(RACERS, lambda _: world.client.post(f"/exchanges/{exchange_id}", json=body))
    assert sorted(r.status_code for r in responses) == [200] + [409] * (RACERS - 1)
    assert database.exchange(exchange_id).holder == holder
