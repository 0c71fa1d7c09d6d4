"""Importing sign-off records from the API and the pages: the dry run, the job and its
progress, who may, and files that cannot be read or are too large."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import accounts, records_import
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import BulkAwardJob
from issuer.web.app import create_app
from tests.web.helpers import LEVEL, SOC, World, bearer, build_world

HEADER = "learner_email,framework,level,statement,date,method,setting,supervisor_email\n"


def records(learner: str = "lee@example.org", statements: range = range(1, 11)) -> str:
    return HEADER + "".join(
        f"{learner},{SOC},{LEVEL},{n},2026-11-02,clinical-practice,CT suite,sam@example.org\n"
        for n in statements
    )


def post(world: World, csv: str, *, dry_run: bool, token: str | None = None) -> object:
    return world.client.post(
        "/api/records/imports",
        params={"dry_run": str(dry_run).lower(), "file_name": "records.csv"},
        content=csv.encode(),
        headers={**bearer(token or world.coordinator), "content-type": "text/csv"},
    )


def test_dry_run_then_apply_through_the_api(world: World) -> None:
    checked = post(world, records(), dry_run=True)
    assert checked.status_code == 200, checked.text  # type: ignore[attr-defined]
    report = checked.json()  # type: ignore[attr-defined]
    assert report["summary"] == {"valid": 10} and report["complete_levels"] == 1
    assert report["levels"][0]["complete"] is True
    assert world.client.get("/api/credentials", headers=bearer(world.coordinator)).json() == []

    applied = post(world, records(), dry_run=False)  # run after the response (no worker)
    assert applied.status_code == 202, applied.text  # type: ignore[attr-defined]
    job_id = applied.json()["id"]  # type: ignore[attr-defined]
    job = world.client.get(f"/api/records/imports/{job_id}", headers=bearer(world.coordinator))
    body = job.json()
    assert (body["status"], body["done"], body["total"], body["confirmations"]) == (
        "done",
        1,
        1,
        10,
    )
    (credential_id,) = body["credentials"]
    page = world.client.get(f"/credentials/{credential_id}/credential.json")
    evidence = page.json()["evidence"]
    assert evidence[-1]["name"] == "Level issued from imported records"

    again = post(world, records(), dry_run=False).json()  # type: ignore[attr-defined]
    again = world.client.get(
        f"/api/records/imports/{again['id']}", headers=bearer(world.coordinator)
    ).json()
    assert (again["done"], again["confirmations"], again["total"]) == (0, 0, 0)


def test_only_coordinators_import(world: World) -> None:
    for token in (world.supervisor, world.learner):
        assert post(world, records(), dry_run=True, token=token).status_code == 403  # type: ignore[attr-defined]
        assert post(world, records(), dry_run=False, token=token).status_code == 403  # type: ignore[attr-defined]


def test_unreadable_files_are_clear_errors(world: World) -> None:
    for body, message in (
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"learner_email,framework\nx,y\n", "missing level, statement"),
    ):
        response = world.client.post(
            "/api/records/imports", content=body, headers=bearer(world.coordinator)
        )
        assert response.status_code == 422 and message in response.json()["detail"]


def test_a_file_over_the_upload_cap_is_refused(db_settings: Settings) -> None:
    settings = replace(db_settings, max_upload_bytes=50_000)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        big = records() + "x" * 60_000
        response = post(world, big, dry_run=True)
        assert response.status_code == 413  # type: ignore[attr-defined]
        assert post(world, records(), dry_run=True).status_code == 200  # type: ignore[attr-defined]


def sign_in(world: World, email: str, password: str) -> str:
    """A browser session for `email`; the CSRF token of its forms."""
    world.client.cookies.clear()
    response = world.client.post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = world.client.get("/coordinator/imports", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_pages_check_apply_and_show_the_job(world: World, db_settings: Settings) -> None:
    coordinator = "coord@example.org"
    csrf = sign_in(world, coordinator, "correct horse battery")
    sample = world.client.get("/coordinator/imports/sample.csv")
    assert sample.status_code == 200 and sample.text.startswith(",".join(records_import.COLUMNS))
    checked = world.client.post(
        "/coordinator/imports",
        data={"csrf_token": csrf},
        files={"file": ("records.csv", records().encode(), "text/csv")},
    )
    assert checked.status_code == 200 and "complete: will be issued" in checked.text
    applied = world.client.post(
        "/coordinator/imports",
        data={"csrf_token": csrf, "apply": "yes", "content": records(), "file_name": "r.csv"},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    page = world.client.get(applied.headers["location"])
    assert page.status_code == 200
    assert "Done: 10 confirmations recorded, 1 of 1 credentials issued." in page.text
    assert 'hx-trigger="every 1s"' not in page.text  # finished: no more polling
    assert "<script>" not in page.text and " style=" not in page.text


def test_a_file_over_a_megabyte_applies_from_the_check_page(world: World) -> None:
    """The check page sends the CSV back in a form field; parsers cap a field at 1 MiB by
    default, which made a 10,000-row file a bare 400 after its dry run had passed."""
    csrf = sign_in(world, "coord@example.org", "correct horse battery")
    padding = "x" * 250  # a long setting: 5,000 rows of ~300 bytes is well over 1 MiB
    big = HEADER + "".join(
        f"lee@example.org,{SOC},{LEVEL},{1 + n % 10},2026-11-02,clinical-practice,"
        f"{padding},sam@example.org\n"
        for n in range(5_000)
    )
    assert len(big.encode()) > 1_100_000
    applied = world.client.post(
        "/coordinator/imports",
        data={"csrf_token": csrf, "apply": "yes", "content": big, "file_name": "big.csv"},
        follow_redirects=False,
    )
    assert applied.status_code == 303, applied.text[:300]
    page = world.client.get(applied.headers["location"])
    assert "1 of 1 credentials issued" in page.text


def test_a_running_job_shows_its_progress_and_polls(world: World, db_settings: Settings) -> None:
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        casey = accounts.user_by_email(session, "coord@example.org")
        now = datetime.now(UTC)
        job = BulkAwardJob(
            coordinator_id=casey.id,
            file_name="big.csv",
            csv=records(),
            status="running",
            total=1000,
            done=300,
            confirmations=10_000,
            errors=[],
            summary={"valid": 10_000},
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    engine.dispose()
    sign_in(world, "coord@example.org", "correct horse battery")
    page = world.client.get(f"/coordinator/imports/{job_id}")
    assert page.status_code == 200
    assert "Issuing: 300 of 1000 credentials." in page.text
    assert '<progress id="job-bar" max="1000" value="300"' in page.text
    assert f'hx-get="/coordinator/imports/{job_id}/progress" hx-trigger="every 1s"' in page.text
    part = world.client.get(f"/coordinator/imports/{job_id}/progress")
    assert part.status_code == 200 and part.text.lstrip().startswith("{#") is False
    assert 'id="job-progress"' in part.text and "<html" not in part.text


def test_the_page_and_certificate_of_an_imported_level_never_claim_a_live_sign_off(
    world: World,
) -> None:
    import io

    from pypdf import PdfReader

    applied = post(world, records(), dry_run=False)
    job = world.client.get(
        f"/api/records/imports/{applied.json()['id']}",  # type: ignore[attr-defined]
        headers=bearer(world.coordinator),
    ).json()
    (credential_id,) = job["credentials"]
    learner = bearer(world.learner)
    page = world.client.get(
        f"/credentials/{credential_id}", headers={**learner, "accept": "text/html"}
    )
    assert page.status_code == 200, page.text
    assert "from Dr Sam Müller's records, imported by Casey Coordinator" in page.text
    assert "imported by Casey Coordinator; no supervisor attested it live" in page.text
    assert "confirmed by Dr Sam Müller" not in page.text
    pdf = world.client.get(f"/credentials/{credential_id}/certificate.pdf", headers=learner)
    assert pdf.status_code == 200
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Issued by Casey Coordinator from Dr Sam Müller's assessment records" in text
    assert "Attested by" not in text and "confirmed by" not in text
    assert "from Dr Sam Müller's records" in text
