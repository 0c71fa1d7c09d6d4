"""Test wallets: a VC-API wallet (its DIDAuth presentation signed by the reference JavaScript
stack) and an OpenID4VCI wallet, end to end, and every way they must be refused."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from issuer.config import Settings
from issuer.dids import did_key, resolve_did_key
from issuer.keys import SigningKey
from issuer.proofs.vc_jwt import decode_vc_jwt
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import Exchange
from tests.interop.reference import missing, run_reference
from tests.web.helpers import World, bearer

WALLET_SEED = "22" * 32
DOMAIN = "127.0.0.1:8000"


@pytest.fixture(scope="module", autouse=True)
def reference_stack() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the wallet tests need the reference stack in CI: {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture
def issued(world: World) -> tuple[World, str]:
    world.confirm_all()
    return world, world.attest().json()["id"]


def start(world: World, credential_id: str) -> dict:  # type: ignore[type-arg]
    response = world.client.post(
        f"/api/me/credentials/{credential_id}/exchanges", headers=bearer(world.learner)
    )
    assert response.status_code == 201, response.text
    return response.json()


def local(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def expire(settings: Settings, exchange_id: str) -> None:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        exchange.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    engine.dispose()


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "Ed25519Signature2020"])
def test_vc_api_wallet_end_to_end(issued: tuple[World, str], suite: str) -> None:
    world, credential_id = issued
    original = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/json"}
    ).json()
    links = start(world, credential_id)
    assert links["interaction_url"].endswith("?iuv=1")
    assert links["lcw_deep_link"].startswith(
        "dccrequest://request?issuer=127.0.0.1%3A8000&auth_type=bearer"
    )
    interaction = local(links["interaction_url"])
    for _ in range(2):  # a mail scanner's GETs consume nothing
        protocols = world.client.get(interaction, headers={"accept": "application/json"}).json()
    assert protocols == {"protocols": {"vcapi": links["vcapi"]}}
    assert "<svg" in world.client.get(interaction, headers={"accept": "text/html"}).text
    request = world.client.post(local(links["vcapi"]), json={}).json()[
        "verifiablePresentationRequest"
    ]
    assert request["query"][0]["type"] == "DIDAuthentication" and request["domain"] == DOMAIN
    presentation = run_reference(
        "present",
        seedHex=WALLET_SEED,
        challenge=request["challenge"],
        domain=request["domain"],
        suite=suite,
    )
    answer = world.client.post(local(links["vcapi"]), json={"verifiablePresentation": presentation})
    assert answer.status_code == 200, answer.text
    credential = answer.json()["verifiablePresentation"]["verifiableCredential"][0]
    assert credential["credentialSubject"]["id"] == presentation["holder"]
    assert run_reference("verify", credential=credential) == {"verified": True, "errors": []}
    assert world.client.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    ).json()["verified"]
    # Single use: the same presentation is refused. The bound copy is a credential of its own;
    # the award as first issued is untouched and still verifies.
    replay = world.client.post(local(links["vcapi"]), json={"verifiablePresentation": presentation})
    assert replay.status_code == 409
    copy = world.client.get(credential["id"], headers={"accept": "application/json"}).json()
    assert copy == credential and credential["id"] != original["id"]
    stored = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/json"}
    ).json()
    assert stored == original


def test_vc_api_refuses_wrong_challenge_and_expired_exchanges(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = issued
    before = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/json"}
    ).content
    links = start(world, credential_id)
    wrong = run_reference(
        "present", seedHex=WALLET_SEED, challenge="not-the-challenge", domain=DOMAIN
    )
    refused = world.client.post(local(links["vcapi"]), json={"verifiablePresentation": wrong})
    assert refused.status_code == 422 and "challenge" in refused.json()["detail"]
    expire(db_settings, links["id"])
    request_challenge = "irrelevant"
    late = run_reference("present", seedHex=WALLET_SEED, challenge=request_challenge, domain=DOMAIN)
    assert (
        world.client.post(local(links["vcapi"]), json={"verifiablePresentation": late}).status_code
        == 409
    )
    assert world.client.post(local(links["vcapi"]), json={}).status_code == 409
    after = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/json"}
    ).content
    assert after == before  # nothing issued


def test_lcw_legacy_request_url(issued: tuple[World, str]) -> None:
    world, credential_id = issued
    links = start(world, credential_id)
    query = parse_qs(urlsplit(links["lcw_deep_link"]).query)
    presentation = run_reference(
        "present",
        seedHex=WALLET_SEED,
        challenge=query["challenge"][0],
        domain=query["issuer"][0],
        suite="Ed25519Signature2020",
    )
    answer = world.client.post(local(query["vc_request_url"][0]), json=presentation)
    assert answer.status_code == 200, answer.text
    assert answer.json()["credentialSubject"]["id"] == presentation["holder"]


# ── OpenID4VCI ──


def wallet_proof(key: SigningKey, nonce: str, audience: str = "http://127.0.0.1:8000") -> str:
    did = did_key(key.multikey)
    return jwt.encode(
        {"aud": audience, "iat": int(time.time()), "nonce": nonce},
        key.private_key,
        algorithm="EdDSA",
        headers={"typ": "openid4vci-proof+jwt", "kid": f"{did}#{key.multikey}"},
    )


def offer(world: World, credential_id: str, db_settings: Settings) -> tuple[str, str, str]:
    response = world.client.post(
        f"/api/me/credentials/{credential_id}/openid-offer", headers=bearer(world.learner)
    )
    assert response.status_code == 201, response.text
    link = response.json()["offer_link"]
    assert link.startswith(
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8000%2Foid4vci%2Foffers%2F"
    )
    document = world.client.get(local(response.json()["credential_offer_uri"])).json()
    code = document["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    mails = sorted((db_settings.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    tx_code = mails[-1].read_text().split("wallet asks: ")[1][:6]
    return response.json()["credential_offer_uri"], code, tx_code


def token(world: World, code: str, tx_code: str | None) -> dict:  # type: ignore[type-arg]
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "pre-authorized_code": code,
    }
    if tx_code is not None:
        form["tx_code"] = tx_code
    return {"status": (r := world.client.post("/oid4vci/token", data=form)).status_code, **r.json()}


@pytest.mark.parametrize(
    "configuration", ["OpenBadgeCredential_ldp_vc", "OpenBadgeCredential_jwt_vc_json"]
)
def test_openid4vci_wallet_end_to_end(
    issued: tuple[World, str], db_settings: Settings, configuration: str
) -> None:
    world, credential_id = issued
    metadata = world.client.get("/.well-known/openid-credential-issuer").json()
    assert metadata["credential_issuer"] == "http://127.0.0.1:8000"
    assert set(metadata["credential_configurations_supported"]) == {
        "OpenBadgeCredential_ldp_vc",
        "OpenBadgeCredential_jwt_vc_json",
    }
    _, code, tx_code = offer(world, credential_id, db_settings)
    assert (
        token(world, code, "000000" if tx_code != "000000" else "111111")["error"]
        == "invalid_grant"
    )
    granted = token(world, code, tx_code)
    assert granted["status"] == 200 and granted["token_type"] == "Bearer"
    assert token(world, code, tx_code)["error"] == "invalid_grant"  # single use
    wallet = SigningKey.from_seed(bytes.fromhex(WALLET_SEED))
    nonce = world.client.post("/oid4vci/nonce").json()["c_nonce"]
    response = world.client.post(
        "/oid4vci/credential",
        json={
            "credential_configuration_id": configuration,
            "proofs": {"jwt": [wallet_proof(wallet, nonce)]},
        },
        headers=bearer(granted["access_token"]),
    )
    assert response.status_code == 200, response.text
    issued_credential = response.json()["credentials"][0]["credential"]
    holder = did_key(wallet.multikey)
    if configuration.endswith("jwt_vc_json"):
        result = decode_vc_jwt(issued_credential, resolve=resolve_did_key)
        assert result.verified and result.credential is not None
        assert jwt.decode(issued_credential, options={"verify_signature": False})["sub"] == holder
    else:
        assert issued_credential["credentialSubject"]["id"] == holder
        assert run_reference("verify", credential=issued_credential) == {
            "verified": True,
            "errors": [],
        }


def test_openid4vci_refusals(issued: tuple[World, str], db_settings: Settings) -> None:
    world, credential_id = issued
    wallet = SigningKey.from_seed(bytes.fromhex(WALLET_SEED))
    _, code, tx_code = offer(world, credential_id, db_settings)
    granted = token(world, code, tx_code)
    headers = bearer(granted["access_token"])
    stale = world.client.post("/oid4vci/nonce").json()["c_nonce"]
    other_nonce = wallet_proof(wallet, "a-nonce-we-never-issued")
    refused = world.client.post(
        "/oid4vci/credential", json={"proofs": {"jwt": [other_nonce]}}, headers=headers
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_nonce"
    wrong_audience = wallet_proof(wallet, stale, audience="https://elsewhere.example")
    assert (
        world.client.post(
            "/oid4vci/credential", json={"proofs": {"jwt": [wrong_audience]}}, headers=headers
        ).json()["error"]
        == "invalid_proof"
    )
    assert (
        world.client.post("/oid4vci/credential", json={"proofs": {"jwt": ["x.y.z"]}}).status_code
        == 401
    )
    # An expired offer cannot be redeemed; three wrong codes kill an offer.
    _, code2, tx2 = offer(world, credential_id, db_settings)
    for _ in range(3):
        assert (
            token(world, code2, "999999" if tx2 != "999999" else "888888")["error"]
            == "invalid_grant"
        )
    assert token(world, code2, tx2)["error"] == "invalid_grant"
    uri3, code3, tx3 = offer(world, credential_id, db_settings)
    expire(db_settings, uri3.rsplit("/", 1)[1])
    assert token(world, code3, tx3)["error"] == "invalid_grant"
    assert world.client.get(local(uri3)).status_code == 409
    stored = json.loads(
        world.client.get(
            f"/credentials/{credential_id}", headers={"accept": "application/json"}
        ).content
    )
    assert "id" not in stored["credentialSubject"]  # nothing was issued to anyone


def test_openid4vci_accepts_an_es256_proof_from_a_p256_did_key(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    import base58
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    world, credential_id = issued
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    multikey = "z" + base58.b58encode(b"\x80\x24" + point).decode()
    assert multikey.startswith("zDn")
    _, code, tx_code = offer(world, credential_id, db_settings)
    granted = token(world, code, tx_code)
    nonce = world.client.post("/oid4vci/nonce").json()["c_nonce"]
    proof = jwt.encode(
        {"aud": "http://127.0.0.1:8000", "iat": int(time.time()), "nonce": nonce},
        private,
        algorithm="ES256",
        headers={"typ": "openid4vci-proof+jwt", "kid": f"did:key:{multikey}#{multikey}"},
    )
    response = world.client.post(
        "/oid4vci/credential",
        json={"proofs": {"jwt": [proof]}},
        headers=bearer(granted["access_token"]),
    )
    assert response.status_code == 200, response.text
    assert (
        response.json()["credentials"][0]["credential"]["credentialSubject"]["id"]
        == f"did:key:{multikey}"
    )
