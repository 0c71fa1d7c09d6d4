"""The coordinator's console (`/coordinator`): the overview, frameworks, bulk enrolment and a
learner's progress, with their API side by side, each calling the same service. People have
their own module (`people.py`), and so do assignments (`assignments.py`) and the records of
what was issued (`records.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import IssuerError
from issuer.services import (
    awards,
    catalog,
    dashboard,
    enrolment,
    mail,
    roster,
    signoff,
)
from issuer.services.enrolment import RowReport
from issuer.store.models import FrameworkRecord, User
from issuer.web import overview
from issuer.web.deps import (
    CoordinatorAction,
    CoordinatorDep,
    CoordinatorPage,
    Page,
    SessionDep,
    deliver_mail,
    flash,
)
from issuer.web.errors import status_for
from issuer.web.limits import UPLOAD_FORM_LIMITS
from issuer.web.schemas import (
    CatalogEntry,
    EnrolmentReport,
    EnrolmentRowOut,
    FrameworkImported,
    LevelProgressOut,
    progress_out,
)
from issuer.web.templating import render

router = APIRouter()
# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Text = Annotated[str, Form(max_length=2000)]
EXPIRING_SHOWN = 50
PEOPLE_SHOWN = 200  # in the pickers of the assignment form


# ── JSON ──


@router.post("/api/frameworks", status_code=201)
async def import_framework(
    request: Request,
    session: SessionDep,
    user: CoordinatorDep,
    validity_days: Annotated[int | None, Query(ge=1, le=36500)] = None,
) -> FrameworkImported:
    """Import a framework file (the request body) and its Achievements."""
    record = _import(request, session, user, await request.body(), "upload", validity_days)
    return FrameworkImported(
        soc=record.soc, title=record.title, achievements=[a.url for a in record.achievements]
    )


@router.get("/api/frameworks")
def list_frameworks(session: SessionDep, user: CoordinatorDep) -> list[CatalogEntry]:
    return [
        CatalogEntry(
            soc=f.framework.occupation.soc,
            title=f.framework.occupation.title,
            level=f.level.key,
            achievement=f.achievement["id"],
        )
        for f in catalog.stored_catalog(session).entries
    ]


@router.post("/api/enrolments")
async def enrol(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
    dry_run: Annotated[bool, Query()] = True,
) -> EnrolmentReport:
    """Bulk enrolment from a CSV body (name, email, supervisor_email, framework[, cohort]).

    `dry_run=true` (the default) reports each row and writes nothing; `dry_run=false` writes
    the valid rows and invites each new learner by e-mail. Applying the same file again
    creates nothing new.
    """
    rows = _enrol(request, background, session, user, await request.body(), apply=not dry_run)
    summary: dict[str, int] = {}
    for row in rows:
        summary[row.status] = summary.get(row.status, 0) + 1
    return EnrolmentReport(applied=not dry_run, summary=summary, rows=_rows(rows))


def _enrol(
    request: Request,
    background: BackgroundTasks,
    session: Session,
    user: User,
    data: bytes,
    *,
    apply: bool,
) -> list[RowReport]:
    """A dry run's report, or the file applied (its new learners' invitations go out after
    the response)."""
    if not apply:
        return enrolment.dry_run(session, data, user)
    background.add_task(deliver_mail, request.app)
    return enrolment.apply(session, data, user, base_url=public_base_url(request))


def public_base_url(request: Request) -> str:
    base_url: str = request.app.state.settings.base_url
    return base_url


def _rows(rows: list[RowReport]) -> list[EnrolmentRowOut]:
    return [
        EnrolmentRowOut(row=r.row, email=r.email, status=r.status, message=r.message) for r in rows
    ]


@router.get("/api/learners/{learner_id}/progress")
def learner_progress(
    learner_id: Id,
    soc: Annotated[str, Query(max_length=10)],
    session: SessionDep,
    user: CoordinatorDep,
) -> list[LevelProgressOut]:
    roster.learner(session, learner_id)
    return progress_out(signoff.progress(session, learner_id, soc))


def _import(
    request: Request,
    session: Session,
    user: User,
    data: bytes,
    name: str,
    validity_days: int | None = None,
) -> FrameworkRecord:
    settings = request.app.state.settings
    return catalog.import_framework(
        session,
        data,
        name,
        base_url=settings.base_url,
        creator=request.app.state.issuer_profile,
        language=settings.language,
        validity_days=validity_days,
        actor=user,
    )


# ── pages ──


def _overview(session: Session, page: Page) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "page": page,
        "section": "overview",
        "figures": dashboard.dashboard(session, now),
        "cohorts": overview.cohort_charts(dashboard.cohort_progress(session)),
        "months": overview.month_chart(dashboard.issued_per_month(session, now)),
        "expiring": awards.expiring(session, within=timedelta(days=30), limit=EXPIRING_SHOWN),
        "dead_letters": mail.count_dead_letters(session),
    }


@router.get("/coordinator", tags=["pages"])
def coordinator_home(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    """The overview: the figures, each cohort's progress and the credentials of each month."""
    return render(request, "pages/coordinator/home.html", _overview(session, page))


def _frameworks(
    request: Request, session: Session, page: Page, error: str = "", status: int = 200
) -> Response:
    context = {
        "page": page,
        "section": "frameworks",
        "frameworks": catalog.imported(session),
        "error": error,
    }
    return render(request, "pages/coordinator/frameworks.html", context, status_code=status)


@router.get("/coordinator/frameworks", tags=["pages"])
def frameworks_page(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    """What is imported, each level an Achievement, and the form that imports another."""
    return _frameworks(request, session, page)


@router.post("/coordinator/frameworks", tags=["pages"])
async def upload_framework(
    request: Request,
    session: SessionDep,
    page: CoordinatorAction,
    file: Annotated[UploadFile, File()],
) -> Response:
    data = await file.read(limits.FRAMEWORK_FILE_BYTES + 1)
    unchanged = catalog.already_imported(session, data)
    try:
        with session.begin_nested():
            _import(request, session, page.user, data, file.filename or "upload")
    except IssuerError as error:
        message = f"The framework was not imported. {error}"
        return _frameworks(request, session, page, message, status_for(error))
    done = "framework unchanged: this file was imported before" if unchanged else ""
    flash(request, session, done or "framework imported")
    return RedirectResponse("/coordinator/frameworks", status_code=303)


def enrolment_form(
    request: Request, session: Session, page: Page, error: str = "", status: int = 200
) -> Response:
    """The Enrolment page (again with a form's error in place, its savepoint gone): one
    learner assigned a supervisor, or a whole cohort from a CSV file."""
    context = {
        "page": page,
        "section": "enrolment",
        "frameworks": catalog.imported(session),
        "learners": dashboard.people(session, "learner", PEOPLE_SHOWN),
        "supervisors": dashboard.people(session, "supervisor", PEOPLE_SHOWN),
        "error": error,
    }
    return render(request, "pages/coordinator/enrol.html", context, status_code=status)


@router.get("/coordinator/enrolment", tags=["pages"])
def enrolment_page(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    """Assign one learner a supervisor, or check a CSV file (a dry run: nothing written) whose
    report's button then enrols every valid row."""
    return enrolment_form(request, session, page)


@router.get("/coordinator/enrolment/sample.csv", tags=["pages"])
def sample_csv(session: SessionDep, page: CoordinatorPage) -> Response:
    """A CSV to start from: the header, and rows naming the frameworks that are imported."""
    socs = [f.occupation.soc for f in catalog.stored_catalog(session).frameworks()] or [
        "29-2034.00"
    ]
    rows = [
        "name,email,supervisor_email,framework,cohort",
        f"Ana Ruiz,ana.ruiz@example.org,supervisor@example.org,{socs[0]},2027-A",
        f"Bo Li,bo.li@example.org,supervisor@example.org,{socs[-1]},2027-A",
    ]
    return csv_download(rows, "enrolment-sample.csv")


def csv_download(rows: list[str], file_name: str) -> Response:
    """A sample CSV to download: CRLF lines, as spreadsheets write them, UTF-8."""
    return Response(
        "\r\n".join(rows) + "\r\n",
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


@router.post("/coordinator/enrolment", tags=["pages"], form_limits=UPLOAD_FORM_LIMITS)
async def enrol_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    file: Annotated[UploadFile | None, File()] = None,
    content: Annotated[str, Form(max_length=6_000_000)] = "",
    apply: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Upload → dry-run report; the report's "Enrol" button sends the same file back to apply."""
    data = (
        await file.read(enrolment.MAX_BYTES + 1)
        if file is not None and file.filename
        else content.encode()
    )
    try:
        with session.begin_nested():
            rows = _enrol(request, background, session, page.user, data, apply=bool(apply))
    except IssuerError as error:
        return enrolment_form(request, session, page, str(error), status_for(error))
    return render(
        request,
        "pages/coordinator/enrolment.html",
        {
            "page": page,
            "section": "enrolment",
            "rows": rows,
            "applied": bool(apply),
            "valid": sum(1 for row in rows if row.status in ("valid", "enrolled")),
            "content": data.decode("utf-8-sig", "replace"),
        },
    )


@router.get("/coordinator/learners/{learner_id}", tags=["pages"])
def learner_matrix(
    request: Request, session: SessionDep, page: CoordinatorPage, learner_id: int, soc: str
) -> Response:
    learner = roster.learner(session, learner_id)
    return render(
        request,
        "pages/progress.html",
        {
            "page": page,
            "section": "people",
            "learner": learner,
            "soc": soc,
            "levels": signoff.progress(session, learner_id, soc),
        },
    )
