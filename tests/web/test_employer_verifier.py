"""The verify page as an employer uses it (issue 17, item 5): the verdict as a banner with the
badge and the earner's name as the credential states it, each check in plain words with the
technical details folded away, "does this credential belong to this person?" by the e-mail
address the candidate gave (hashed with the credential's salt, never stored, logged or put in
a URL), a print report, and hostile credential content kept inert."""

from __future__ import annotations

import base64
import copy
import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from issuer.baking.png import bake_png
from issuer.dids import did_key
from issuer.endorsements import endorsement_credential
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.identity import IssuerIdentity, sign_credential
from tests.baking.test_baking import tiny_png
from tests.conftest import OB_VECTOR
from tests.web.helpers import World, bearer

HTML = {"accept": "text/html"}
LEARNER_EMAIL = "lee@example.org"  # tests/web/helpers.py's learner
CANDIDATE = "Zoë Nguyễn"
CANDIDATE_EMAIL = "zoe.nguyen@example.net"
SALT = "f7a1c2e9"
NOW = datetime.now(UTC) - timedelta(hours=1)


def identity(seed: int, name: str) -> IssuerIdentity:
    key = SigningKey.from_seed(bytes([seed]) * 32)
    did = did_key(key.multikey)
    return IssuerIdentity(did, key, (key.multikey,), IssuerProfile(id=did, name=name))


ACADEMY = identity(41, "Example Imaging Academy")
SOCIETY = identity(42, "Society of Example Radiographers")
PIXEL = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()


def foreign(*, identifier: list[Any] | None = None, **achievement: Any) -> Any:
    """Another issuer's Open Badge (the OB 3.0 specification's example), signed with its
    did:key; `identifier` replaces the subject's DID-only identification."""
    document = copy.deepcopy(OB_VECTOR["unsecuredDocument"])
    del document["issuer"], document["validFrom"]
    if identifier is not None:
        document["credentialSubject"]["identifier"] = identifier
    document["credentialSubject"]["achievement"].update(achievement)
    return sign_credential(document, ACADEMY, form="di", now=NOW)


def hashed_email(address: str, salt: str = SALT) -> dict[str, Any]:
    import hashlib

    digest = hashlib.sha256((address + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


NAMED = [
    {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": CANDIDATE},
    hashed_email(CANDIDATE_EMAIL),
]


def issue(world: World) -> tuple[str, dict[str, Any]]:
    world.confirm_all()
    response = world.attest()
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["credential"]


def verify(world: World, credential: Any, **form: str) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    page = world.client.post("/verify", data={"credential": text, **form}, headers=HTML)
    assert page.status_code == 200, page.text
    return page.text


def banner(page: str) -> str:
    """The verdict banner's text."""
    found = re.search(r'<section class="verdict-banner[^"]*".*?</section>', page, re.S)
    assert found is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def belonging(page: str) -> str:
    found = re.search(r'<section class="belongs".*?</section>', page, re.S)
    assert found is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def main_text(page: str) -> str:
    """What an employer reads: the page's words before the folded technical details, without
    markup or attribute values (the follow-up form carries the credential in a hidden field)."""
    main = page.split('<main id="main"', 1)[1].split('<details class="technical">', 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


# ── does this credential belong to this person? ──


def test_the_email_the_candidate_gave_matches(world: World) -> None:
    _, credential = issue(world)
    for typed in (LEARNER_EMAIL, "  Lee@Example.ORG "):
        page = verify(world, credential, email=typed)
        assert "✔ Yes, it matches." in belonging(page), typed
        assert "✔ Verified" in banner(page)


def test_a_wrong_email_does_not_match(world: World) -> None:
    _, credential = issue(world)
    page = verify(world, credential, email="someone.else@example.org")
    assert "✘ No match." in belonging(page)
    assert "Yes, it matches" not in page


def test_a_credential_without_a_hashed_identifier_cannot_be_matched(world: World) -> None:
    """The specification's example names its earner by a DID only: there is nothing to hash
    an address against, and the page says so instead of "no match"."""
    credential = foreign()
    assert "identifier" not in credential["credentialSubject"]
    page = verify(world, credential, email=LEARNER_EMAIL)
    assert "✔ Verified" in banner(page)
    answer = belonging(page)
    assert "Cannot tell by e-mail" in answer and "does not name its earner" in answer
    assert "No match" not in answer and "it matches" not in answer
    assert 'name="email"' not in page.split('<section class="belongs"', 1)[1]  # nothing to ask


def test_another_issuers_salted_hash_matches_and_states_the_name(world: World) -> None:
    credential = foreign(identifier=NAMED, image={"id": PIXEL, "type": "Image"})
    page = verify(world, credential, email=CANDIDATE_EMAIL.upper())
    assert "✔ Yes, it matches." in belonging(page)
    top = banner(page)
    assert f"Earned by {CANDIDATE}" in top and "issued by Example Imaging Academy" in top
    assert f'<img class="verdict-badge" src="{PIXEL}"' in page
    assert "✘ No match." in belonging(verify(world, credential, email=LEARNER_EMAIL))


def test_the_check_works_on_a_baked_badge_and_on_a_jwt(world: World) -> None:
    """The follow-up form sends the credential back as text: the one out of a baked PNG, and
    a JWT as it came (its proof must still hold the second time)."""
    _, credential = issue(world)
    baked = bake_png(tiny_png(), json.dumps(credential))
    first = world.client.post(
        "/verify", files={"file": ("badge.png", baked, "image/png")}, headers=HTML
    ).text
    hidden = re.search(r'<input type="hidden" name="credential" value="([^"]*)">', first)
    assert hidden is not None
    page = verify(world, html.unescape(hidden.group(1)), email=LEARNER_EMAIL)
    assert "✔ Verified" in banner(page) and "✔ Yes, it matches." in belonging(page)

    token = sign_credential(
        {k: v for k, v in foreign(identifier=NAMED).items() if k != "proof"},
        ACADEMY,
        form="jwt",
        now=NOW,
    )
    first = verify(world, token)
    assert f'<input type="hidden" name="credential" value="{token}">' in first
    page = verify(world, token, email=CANDIDATE_EMAIL)
    assert "✔ Verified" in banner(page) and "✔ Yes, it matches." in belonging(page)


def test_a_match_on_a_document_that_did_not_verify_proves_nothing(world: World) -> None:
    _, credential = issue(world)
    credential["name"] = "Chief Radiologist"
    answer = belonging(verify(world, credential, email=LEARNER_EMAIL))
    assert "it matches" in answer and "this match proves nothing" in answer


def test_the_email_is_never_stored_logged_or_echoed(
    world: World, db_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, credential = issue(world)
    secret = "candidate.private+jobs@example.net"
    caplog.set_level(logging.DEBUG)
    response = world.client.post(
        "/verify",
        data={"credential": json.dumps(credential), "email": secret},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 200 and "✘ No match." in belonging(response.text)
    assert secret not in response.text and secret not in str(response.headers)
    assert response.headers["cache-control"] == "no-store"
    assert secret not in caplog.text
    engine = create_engine(db_settings.database_url)
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                assert secret not in str(row), table.name
    engine.dispose()
    # Forms post it; a GET never takes it (it would land in logs and histories).
    assert 'method="post" action="/verify' in response.text
    by_url = world.client.get(
        "/verify", params={"url": credential["id"], "email": LEARNER_EMAIL}, headers=HTML
    )
    assert "it matches" not in by_url.text and "No match" not in by_url.text


def test_a_private_credential_is_not_matched_by_its_url(world: World) -> None:
    credential_id, credential = issue(world)
    hidden = world.client.post(
        f"/api/me/credentials/{credential_id}/visibility",
        json={"public": False},
        headers=bearer(world.learner),
    )
    assert hidden.status_code == 200
    response = world.client.post(
        "/verify", data={"url": credential["id"], "email": LEARNER_EMAIL}, headers=HTML
    )
    assert response.status_code == 422
    assert "matches" not in response.text and "Radiologic" not in response.text


# ── the verdict, in plain words ──


def test_the_banner_says_verified_with_the_badge(world: World) -> None:
    _, credential = issue(world)
    page = verify(world, credential)
    top = banner(page)
    assert top.startswith("✔ Verified Radiologic Technologists and Technicians: Proficient")
    assert "It is genuine: nobody has changed it since it was signed" in top
    image = credential["credentialSubject"]["achievement"]["image"]["id"]
    assert f'<img class="verdict-badge" src="{image}"' in page
    assert page.index('class="verdict-banner') < page.index("Does this credential belong")


def test_the_banner_says_revoked(world: World) -> None:
    credential_id, credential = issue(world)
    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "issued in error"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200
    page = verify(world, credential)
    top = banner(page)
    assert "✘ Revoked" in top and "The issuer has withdrawn this credential." in top
    assert "Is it still in force? No: revoked. The issuer has withdrawn it." in " ".join(
        main_text(page).split()
    )


def test_the_banner_says_a_tampered_credential_is_not_verified(world: World) -> None:
    _, credential = issue(world)
    credential["credentialSubject"]["result"][0]["status"] = "Failed"
    page = verify(world, credential)
    top = banner(page)
    assert "✘ Not verified" in top
    # the name it states is hedged, never confirmed
    assert "Claims to be earned by Lee Learner" in top and "Earned by" not in top
    assert "It was changed after it was signed, or its signature is not genuine" in top
    words = " ".join(main_text(page).split())
    assert "Is it genuine and unchanged? No." in words
    assert "Does it match the issuer's own records? No." in words
    assert "What the document claims (not confirmed)" in words


def test_the_banner_says_a_forged_issuer_is_not_verified(world: World) -> None:
    """Signed by another key, in the name of our issuer: genuine signature, wrong signer."""
    _, credential = issue(world)
    forged = {k: v for k, v in credential.items() if k != "proof"}
    forged["credentialSubject"]["identifier"] = NAMED
    signed = ACADEMY.sign(forged, created=NOW)  # keeps our issuer, signs with its own key
    page = verify(world, signed)
    top = banner(page)
    assert "✘ Not verified" in top
    assert "not signed by the organisation it names" in top
    assert f"Claims to be earned by {CANDIDATE}" in top
    assert "claims to be issued by" in top
    assert "Did the organisation it names issue it? No." in " ".join(main_text(page).split())


def test_each_check_is_in_plain_words_with_the_details_folded(world: World) -> None:
    _, credential = issue(world)
    page = verify(world, credential)
    words = " ".join(main_text(page).split())
    for question in (
        "Is it genuine and unchanged? Yes.",
        "Did the organisation it names issue it? Yes.",
        "Is it in date? Yes.",
        "Is it still in force? Yes.",
        "Does it match the issuer's own records? Yes.",
        "Is it a well-formed Open Badge? Yes.",
    ):
        assert question in words, question
    for jargon in ("did:key", "did:web", "json-ld", "JSON-LD", "conformance", "cryptosuite",
                   "proof", "PROOF_", "2026-", "T00:", "validFrom"):  # fmt: skip
        assert jargon not in words, jargon
    details = page.split('<details class="technical">', 1)[1]
    assert "<summary>Technical details</summary>" in page
    assert "json-ld" in details and "did:key:" in details and "records" in details
    assert re.search(r"Valid from \d{1,2} [A-Z][a-z]+ \d{4}", words)  # a date for people


def test_endorsements_are_said_in_plain_words_and_never_decide(world: World) -> None:
    achievement_id = OB_VECTOR["unsecuredDocument"]["credentialSubject"]["achievement"]["id"]
    endorsement = sign_credential(
        endorsement_credential(
            endorsement_id="https://endorsers.example.org/endorsements/1",
            subject_id=achievement_id,
            endorser=SOCIETY.profile.to_json(),
            comment="Meets our standard of practice.",
            subject_name="Teamwork",
            valid_from=NOW,
        ),
        SOCIETY,
        form="di",
        now=NOW,
    )
    page = verify(world, foreign(endorsement=[endorsement]))
    assert "✔ Verified" in banner(page)
    words = " ".join(main_text(page).split())
    assert "Endorsed by Society of Example Radiographers Confirmed." in words
    assert "they never change the verdict" in words

    broken = copy.deepcopy(endorsement)
    broken["credentialSubject"]["endorsementComment"] = "Changed after signing."
    page = verify(world, foreign(endorsement=[broken]))
    assert "✔ Verified" in banner(page)
    assert "Endorsed by Society of Example Radiographers? Not confirmed." in " ".join(
        main_text(page).split()
    )


def test_a_print_report(world: World) -> None:
    _, credential = issue(world)
    page = verify(world, credential)
    assert '<button type="button" class="primary" data-print>Print this report</button>' in page
    assert re.search(r"Checked on \d{1,2} [A-Z][a-z]+ \d{4} by the verifier of", page)
    sheet = re.search(r'<link rel="stylesheet" href="(/static/verifier\.[0-9a-f]+\.css)">', page)
    assert sheet is not None
    css = world.client.get(sheet.group(1)).text
    assert "@media print" in css and ".belongs-form { display: none; }" in css


# ── hostile credentials ──


@pytest.mark.parametrize(
    "image",
    [
        "javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        'https://evil.example/x.png" onerror="alert(1)',
        "file:///etc/passwd",
    ],
)
def test_a_hostile_badge_image_is_never_rendered(world: World, image: str) -> None:
    """Swapped in after signing (some of these no signer takes): what the document claims is
    rendered too, so it must be as safe as what verified."""
    credential: Any = foreign(identifier=NAMED, image={"id": PIXEL, "type": "Image"})
    credential["credentialSubject"]["achievement"]["image"]["id"] = image
    page = verify(world, credential)
    assert "✘ Not verified" in banner(page)
    assert 'class="verdict-badge"' not in page
    assert "javascript:" not in page.split("<details", 1)[0].split('type="hidden"', 1)[0]
    assert 'onerror="' not in page


def test_hostile_text_is_escaped_and_runs_nothing(world: World) -> None:
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    named = [{**NAMED[0], "identityHash": evil}, NAMED[1]]
    response = world.client.post(
        "/verify",
        data={"credential": json.dumps(foreign(identifier=named, name=evil))},
        headers=HTML,
    )
    assert evil not in response.text and "<script>alert" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "'unsafe-inline'" not in policy
    assert " style=" not in response.text and "<style" not in response.text
    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", response.text) == []
