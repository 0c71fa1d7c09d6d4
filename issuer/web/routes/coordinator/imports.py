"""Importing sign-off records (`/coordinator/imports`, `/api/records/imports`): a CSV checked row
by row (a dry run), then applied by one background job whose progress the page shows.

The job runs in the worker process (`issuer worker`, which `issuer serve` starts) when there is
one (ISSUER_MAIL_WORKER), else in this process after the response, as mail does.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from issuer.credentials import METHODS
from issuer.errors import IssuerError
from issuer.services import bulk_awards, catalog, records_import
from issuer.store.models import BulkAwardJob
from issuer.web.deps import (
    CoordinatorAction,
    CoordinatorDep,
    CoordinatorPage,
    Page,
    SessionDep,
    require_issuer,
    send_due_mail,
)
from issuer.web.errors import status_for
from issuer.web.limits import UPLOAD_FORM_LIMITS
from issuer.web.routes.coordinator.console import csv_download
from issuer.web.templating import render

router = APIRouter()
JobId = Annotated[int, Path(ge=1, le=2_147_483_647)]
FileName = Annotated[str, Query(max_length=255)]
JOBS_SHOWN = 20
CREDENTIALS_SHOWN = 200


class RecordRowOut(BaseModel):
    row: int
    learner_email: str
    framework: str
    level: str
    statement: str
    status: str
    message: str


class LevelOut(BaseModel):
    learner_email: str
    framework: str
    level: str
    confirmed_before: int
    imported: int
    complete: bool
    missing: list[int]


class ImportReport(BaseModel):
    summary: dict[str, int]
    complete_levels: int
    rows: list[RecordRowOut]
    levels: list[LevelOut]


class JobOut(BaseModel):
    id: int
    file_name: str
    status: str  # queued, running, done, failed
    total: int  # levels to issue
    done: int  # credentials issued
    confirmations: int
    errors: list[dict[str, Any]]
    summary: dict[str, int]
    failure: str | None
    created_at: datetime
    updated_at: datetime
    credentials: list[str]  # ids of the credentials issued (the first 200)


# ── JSON ──


@router.post("/api/records/imports")
async def import_records(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
    dry_run: Annotated[bool, Query()] = True,
    file_name: FileName = "upload.csv",
) -> Any:
    """Sign-off records as a CSV body (README: "Import sign-off records").

    `dry_run=true` (the default) reports each row and each level, and writes nothing;
    `dry_run=false` queues the job that records them and issues every complete level, and
    answers 202 with the job (`GET /api/records/imports/{id}` follows it)."""
    data = await request.body()
    if dry_run:
        return _report(records_import.dry_run(session, data, user))
    job = records_import.queue(session, user, data, file_name)
    _run_later(request, background, job.id)
    return Response(
        _job_out(session, job).model_dump_json(), status_code=202, media_type="application/json"
    )


@router.get("/api/records/imports/{job_id}")
def import_job(job_id: JobId, session: SessionDep, user: CoordinatorDep) -> JobOut:
    return _job_out(session, bulk_awards.job(session, job_id))


def _report(plan: records_import.Plan) -> ImportReport:
    return ImportReport(
        summary=plan.summary(),
        complete_levels=plan.complete,
        rows=[RecordRowOut(**asdict(r)) for r in plan.rows],
        levels=[
            LevelOut(**{**asdict(level), "missing": list(level.missing)}, complete=level.complete)
            for level in plan.levels
        ],
    )


def _job_out(session: Session, job: BulkAwardJob) -> JobOut:
    return JobOut(
        id=job.id,
        file_name=job.file_name,
        status=job.status,
        total=job.total,
        done=job.done,
        confirmations=job.confirmations,
        errors=job.errors,
        summary=job.summary,
        failure=job.failure,
        created_at=job.created_at,
        updated_at=job.updated_at,
        credentials=[c.id for c in bulk_awards.issued(session, job.id, CREDENTIALS_SHOWN)],
    )


def _run_later(request: Request, background: BackgroundTasks, job_id: int) -> None:
    """Without a worker process, this process applies the job once the response is sent."""
    if request.app.state.settings.mail_worker:
        return  # the worker's (issuer/worker.py)
    background.add_task(_run, request, job_id)


def _run(request: Request, job_id: int) -> None:
    # The issuer is looked up here, after the response: the request's own transaction has
    # ended, so reading the key ring's version cannot wait behind its write lock on SQLite.
    app = request.app
    bulk_awards.run(app.state.sessions, app.state.read_sessions, require_issuer(request), job_id)
    send_due_mail(app)  # the claim e-mails


# ── pages ──


def _form(
    request: Request, session: Session, page: Page, error: str = "", status: int = 200
) -> Response:
    context = {
        "page": page,
        "section": "imports",
        "frameworks": catalog.imported(session),
        "methods": METHODS,
        "jobs": bulk_awards.jobs(session, JOBS_SHOWN),
        "error": error,
    }
    return render(request, "pages/coordinator/imports.html", context, status_code=status)


@router.get("/coordinator/imports", tags=["pages"])
def imports_page(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    """Upload a CSV of sign-off records; the latest imports and how far each got."""
    return _form(request, session, page)


@router.get("/coordinator/imports/sample.csv", tags=["pages"])
def sample_csv(session: SessionDep, page: CoordinatorPage) -> Response:
    """A CSV to start from: the header, and a learner's ten statements of the first level."""
    entries = catalog.stored_catalog(session).entries
    soc, level = (
        (entries[0].framework.occupation.soc, entries[0].level.key)
        if entries
        else (
            "29-2034.00",
            "proficient",
        )
    )
    rows = [",".join(records_import.COLUMNS)] + [
        f"ana.ruiz@example.org,{soc},{level},{n},2026-11-02,clinical-practice,"
        f'"Ward 4, St Example Hospital",supervisor@example.org'
        for n in range(1, 11)
    ]
    return csv_download(rows, "records-sample.csv")


@router.post("/coordinator/imports", tags=["pages"], form_limits=UPLOAD_FORM_LIMITS)
async def import_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    file: Annotated[UploadFile | None, File()] = None,
    content: Annotated[str, Form(max_length=6_000_000)] = "",
    file_name: Annotated[str, Form(max_length=255)] = "",
    apply: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Upload → dry-run report; its button sends the same file back, which queues the job and
    opens its page."""
    uploaded = file is not None and bool(file.filename)
    data = await file.read(records_import.MAX_BYTES + 1) if file and uploaded else content.encode()
    name = (file.filename if file and uploaded else file_name) or "upload.csv"
    try:
        with session.begin_nested():
            if apply:
                job = records_import.queue(session, page.user, data, name)
            else:
                plan = records_import.dry_run(session, data, page.user)
    except IssuerError as error:
        return _form(request, session, page, str(error), status_for(error))
    if apply:
        _run_later(request, background, job.id)
        return RedirectResponse(f"/coordinator/imports/{job.id}", status_code=303)
    context = {
        "page": page,
        "section": "imports",
        "plan": plan,
        "content": data.decode("utf-8-sig", "replace"),
        "file_name": name,
    }
    return render(request, "pages/coordinator/import_check.html", context)


@router.get("/coordinator/imports/{job_id}", tags=["pages"])
def job_page(
    request: Request, job_id: JobId, session: SessionDep, page: CoordinatorPage
) -> Response:
    """The job: a progress bar while it runs (htmx asks for `…/progress` every second), then
    the counts, the rows in error and the credentials issued."""
    return render(request, "pages/coordinator/import_job.html", _job_context(session, page, job_id))


@router.get("/coordinator/imports/{job_id}/progress", tags=["pages"])
def job_progress(
    request: Request, job_id: JobId, session: SessionDep, page: CoordinatorPage
) -> Response:
    """The progress part of the job page alone, for htmx to swap in."""
    context = _job_context(session, page, job_id)
    return render(request, "pages/coordinator/_import_progress.html", context)


def _job_context(session: Session, page: Page, job_id: int) -> dict[str, Any]:
    job = bulk_awards.job(session, job_id)
    finished = job.status in ("done", "failed")
    return {
        "page": page,
        "section": "imports",
        "job": job,
        "finished": finished,
        "credentials": bulk_awards.issued(session, job.id, CREDENTIALS_SHOWN) if finished else [],
    }
