"""Endorsements from end to end (issue 18, item 5): an endorser signs one with its own keys
(`issuer endorse`) or one signed elsewhere is uploaded (`issuer endorsements add`); it is then
embedded in the Achievement or Profile it endorses, in the served JSON and in every credential
issued from then on, published at its own URL, and checked by the verifier on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from issuer.cli import app
from issuer.config import Settings
from issuer.endorsements import endorsement_credential
from issuer.profiles import IssuerProfile
from issuer.services.identity import load_identity
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import EndorsementRecord
from tests.web.helpers import World

ACHIEVEMENT = "29-2034.00/proficient"
COMMENT = "Meets the society's practice standards for proficient technologists."


@pytest.fixture
def db_runner(
    db_settings: Settings, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
    return runner


@pytest.fixture
def endorser_keys(tmp_path: Path) -> Path:
    """The endorser's own key ring, apart from the issuer's."""
    keys = tmp_path / "endorser-keys"
    KeyRing(keys).generate(None, dev=True)
    return keys


def endorse(runner: CliRunner, keys: Path, subject: str = ACHIEVEMENT) -> str:
    """Run `issuer endorse`; the endorsement's URL it prints."""
    result = runner.invoke(
        app,
        [
            "endorse",
            subject,
            "--comment",
            COMMENT,
            "--endorser-keys",
            str(keys),
            "--endorser-name",
            "Society of Radiographers",
            "--endorser-url",
            "https://society.example",
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().rsplit(": ", 1)[1]


def issued(world: World) -> dict:  # type: ignore[type-arg]
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    page = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/ld+json"}
    )
    assert page.status_code == 200
    return page.json()  # type: ignore[no-any-return]


def verified(world: World, credential: dict) -> dict:  # type: ignore[type-arg]
    response = world.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_an_endorsement_signed_here_is_embedded_published_and_verified(
    world: World, db_runner: CliRunner, endorser_keys: Path, tmp_path: Path
) -> None:
    url = endorse(db_runner, endorser_keys)
    published = world.client.get(f"/endorsements/{url.rsplit('/', 1)[1]}")
    assert published.status_code == 200
    assert published.headers["content-type"] == "application/vc+ld+json"
    endorsement = published.json()
    assert endorsement["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert endorsement["id"] == url
    assert endorsement["credentialSubject"]["endorsementComment"] == COMMENT
    assert endorsement["issuer"]["name"] == "Society of Radiographers"
    assert endorsement["issuer"]["id"].startswith("did:key:z6Mk")

    achievement = world.client.get(
        "/achievements/29-2034.00/proficient", headers={"accept": "application/ld+json"}
    ).json()
    assert achievement["endorsement"] == [endorsement]
    page = world.client.get(
        "/achievements/29-2034.00/proficient", headers={"accept": "text/html"}
    ).text
    assert "Endorsed by" in page, page[page.find("<main") :]
    assert str(escape(COMMENT)) in page  # as Jinja escapes it
    assert '<a href="https://society.example" rel="noopener">Society of Radiographers</a>' in page

    credential = issued(world)
    assert credential["credentialSubject"]["achievement"]["endorsement"] == [endorsement]
    credential_page = world.client.get(
        f"/credentials/{credential['id'].rsplit('/', 1)[1]}", headers={"accept": "text/html"}
    ).text
    assert "Endorsed by" in credential_page and str(escape(COMMENT)) in credential_page
    assert "endorses the achievement, since " in credential_page
    result = verified(world, credential)
    assert result["verified"] is True and result["checks"].count("endorsement") == 1, result
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(credential))
    report = db_runner.invoke(app, ["verify", str(path)])
    assert report.exit_code == 0, report.output
    assert (
        "endorsement of the achievement by Society of Radiographers, verified: "
        f"“{COMMENT}”" in report.output
    )

    listing = db_runner.invoke(app, ["endorsements", "list"])
    assert listing.exit_code == 0 and "(in force)" in listing.output


def test_a_tampered_endorsement_is_a_warning_not_a_failure_of_the_credential(
    world: World, db_settings: Settings, db_runner: CliRunner, endorser_keys: Path
) -> None:
    url = endorse(db_runner, endorser_keys)
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:  # changed after it was signed
        record = session.get(EndorsementRecord, url.rsplit("/", 1)[1])
        assert record is not None
        document = json.loads(record.document)
        document["credentialSubject"]["endorsementComment"] = "Outstanding in every way."
        record.document = json.dumps(document)
    engine.dispose()
    credential = issued(world)
    result = verified(world, credential)
    assert result["verified"] is True
    assert "endorsement" not in result["checks"]
    (warning,) = [w for w in result["warnings"] if w["check"] == "endorsement"]
    assert "does not verify (proof: " in warning["message"], warning


def test_the_issuer_profile_can_be_endorsed_and_a_withdrawn_one_is_no_longer_embedded(
    world: World, db_runner: CliRunner, endorser_keys: Path
) -> None:
    url = endorse(db_runner, endorser_keys, "issuer")
    profile = world.client.get("/issuer").json()
    assert [e["id"] for e in profile["endorsement"]] == [url]
    credential = issued(world)
    creator = credential["credentialSubject"]["achievement"]["creator"]
    assert creator["id"] == profile["id"] and [e["id"] for e in creator["endorsement"]] == [url]
    result = verified(world, credential)
    assert result["verified"] is True and result["checks"].count("endorsement") == 1

    endorsement_id = url.rsplit("/", 1)[1]
    withdrawn = db_runner.invoke(app, ["endorsements", "withdraw", endorsement_id])
    assert withdrawn.exit_code == 0, withdrawn.output
    again = db_runner.invoke(app, ["endorsements", "withdraw", endorsement_id])
    assert again.exit_code == 2 and "already withdrawn" in again.output
    assert "endorsement" not in world.client.get("/issuer").json()
    # still published: credentials issued while it was in force carry it
    assert world.client.get(f"/endorsements/{endorsement_id}").status_code == 200


def test_endorse_refuses_what_is_not_ours_the_issuer_itself_and_an_empty_comment(
    db_settings: Settings, db_runner: CliRunner, endorser_keys: Path
) -> None:
    unknown = db_runner.invoke(
        app,
        ["endorse", "29-9999.00/proficient", "--comment", "x", "--endorser-keys",
         str(endorser_keys), "--endorser-name", "S"],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "no Achievement" in unknown.output
    itself = db_runner.invoke(
        app,
        ["endorse", ACHIEVEMENT, "--comment", "x", "--endorser-keys",
         str(db_settings.keys_dir), "--endorser-name", "S"],
    )  # fmt: skip
    assert itself.exit_code == 2 and "cannot endorse itself" in itself.output
    empty = db_runner.invoke(
        app,
        ["endorse", ACHIEVEMENT, "--comment", "  ", "--endorser-keys",
         str(endorser_keys), "--endorser-name", "S"],
    )  # fmt: skip
    assert empty.exit_code == 2 and "--comment is empty" in empty.output
    bad_url = db_runner.invoke(
        app,
        ["endorse", ACHIEVEMENT, "--comment", "x", "--endorser-keys",
         str(endorser_keys), "--endorser-name", "S", "--endorser-url", "javascript:alert(1)"],
    )  # fmt: skip
    assert bad_url.exit_code == 2 and "http(s)" in bad_url.output


def signed_elsewhere(keys: Path, subject_id: str, comment: str = COMMENT) -> dict:  # type: ignore[type-arg]
    """An EndorsementCredential signed by another party's software (here: its own key ring)."""
    endorser = load_identity(keys, None, None, IssuerProfile(id="", name="Board of Imaging"))
    now = datetime.now(UTC).replace(microsecond=0)
    unsigned = endorsement_credential(
        endorsement_id="urn:uuid:0b6f3d44-8a8e-4a43-9d5e-3c2f3f0c9a11",
        subject_id=subject_id,
        endorser=endorser.profile.to_json(),
        comment=comment,
        subject_name="Proficient",
        valid_from=now,
    )
    return endorser.sign(unsigned, created=now)


def test_an_endorsement_signed_elsewhere_is_taken_only_verified_and_from_a_trusted_endorser(
    world: World,
    db_settings: Settings,
    db_runner: CliRunner,
    endorser_keys: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject_id = f"{db_settings.base_url}/achievements/29-2034.00/proficient"
    document = signed_elsewhere(endorser_keys, subject_id)
    endorser_did = document["issuer"]["id"]
    path = tmp_path / "endorsement.json"
    path.write_text(json.dumps(document))

    untrusted = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert untrusted.exit_code == 2 and "not a trusted endorser" in untrusted.output

    monkeypatch.setenv("ISSUER_ENDORSERS", f"did:web:other.example,{endorser_did}")
    tampered = dict(document, name="Endorsed with distinction")
    path.write_text(json.dumps(tampered))
    refused = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert refused.exit_code == 2 and "does not verify" in refused.output

    elsewhere = signed_elsewhere(endorser_keys, "https://other.example/achievements/1")
    path.write_text(json.dumps(elsewhere))
    not_ours = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert not_ours.exit_code == 2 and "none of this issuer's" in not_ours.output

    path.write_text(json.dumps({"type": ["VerifiableCredential", "EndorsementCredential"]}))
    malformed = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert malformed.exit_code == 2 and "not an OB 3.0 EndorsementCredential" in malformed.output

    path.write_text(json.dumps(document))
    added = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert added.exit_code == 0, added.output
    assert f"{endorser_did} endorses {subject_id}" in added.output
    twice = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert twice.exit_code == 2 and "already embedded" in twice.output

    path.write_text("[" * 60_000)
    nested = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert nested.exit_code == 2 and "must be a JSON EndorsementCredential" in nested.output
    posing = signed_elsewhere(endorser_keys, subject_id)
    posing["id"] = subject_id
    path.write_text(json.dumps(posing))
    ours = db_runner.invoke(app, ["endorsements", "add", str(path)])
    assert ours.exit_code == 2 and "cannot have this issuer's" in ours.output
    credential = issued(world)
    assert credential["credentialSubject"]["achievement"]["endorsement"] == [document]
    assert verified(world, credential)["checks"].count("endorsement") == 1
