"""Request and response shapes of the JSON API (Pydantic); never the tables themselves.

Every text that is stored, or looked up, has the maximum length its column has (limits.py),
and a one-line text refuses control characters, so over-long or multi-line input is a 422
naming the field on every database (SQLite would store it, PostgreSQL would fail with a 500).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from issuer import limits
from issuer.services.signoff import LevelProgress
from issuer.store.models import CredentialRecord, User


def _one_line(value: str) -> str:
    if limits.has_control_character(value):
        raise ValueError(limits.describe(limits.CONTROL_CHARACTER, 0))
    return value


def _lines(value: str) -> str:
    if limits.has_control_character(value, multiline=True):
        raise ValueError(limits.describe(limits.CONTROL_CHARACTER, 0, multiline=True))
    return value


Method = Literal["clinical-practice", "simulation", "discussion"]
RoleName = Literal["coordinator", "supervisor", "learner"]
Email = Annotated[str, Field(max_length=limits.EMAIL), AfterValidator(_one_line)]
PersonName = Annotated[
    str, Field(min_length=1, max_length=limits.PERSON_NAME), AfterValidator(_one_line)
]
Password = Annotated[str, Field(max_length=limits.PASSWORD)]
Soc = Annotated[str, Field(max_length=limits.SOC), AfterValidator(_one_line)]
LevelKey = Annotated[str, Field(max_length=limits.LEVEL_KEY), AfterValidator(_one_line)]
Setting = Annotated[str, Field(min_length=1, max_length=limits.SETTING), AfterValidator(_one_line)]
Note = Annotated[str, Field(max_length=limits.NOTE), AfterValidator(_lines)]
Reason = Annotated[str, Field(min_length=1, max_length=limits.REASON), AfterValidator(_lines)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Strict):
    email: Email
    password: Password


class NewUser(Strict):
    email: Email
    name: PersonName
    roles: list[RoleName] = Field(min_length=1)
    password: Password | None = None


class NewRole(Strict):
    role: RoleName


class PersonChange(Strict):
    """A new name (at once) and/or e-mail address (once the new address confirms it)."""

    name: PersonName | None = None
    email: Email | None = None


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]


class PersonOut(UserOut):
    """A person as coordinators see them: invited (no password yet), active or deactivated."""

    state: Literal["invited", "active", "deactivated"]
    created_at: datetime
    last_signed_in_at: datetime | None
    deactivated_at: datetime | None


class PersonChanged(PersonOut):
    email_confirmation_sent_to: str | None = Field(
        description="the new address a confirmation link went to; the e-mail changes once "
        "it is followed"
    )


class PeoplePage(BaseModel):
    people: list[PersonOut]
    total: int
    page: int
    pages: int


class NewAssignment(Strict):
    learner_email: Email
    supervisor_email: Email
    soc: Soc


class Confirm(Strict):
    soc: Soc
    level: LevelKey
    statement: int = Field(ge=1, le=1000)
    observed_on: date
    method: Method
    setting: Setting
    note: Note | None = None


class Attest(Strict):
    soc: Soc
    level: LevelKey


class Revoke(Strict):
    reason: Reason


class IssueRequest(BaseModel):
    """VC-API `POST /credentials/issue` body.

    Loosely typed on purpose: the route checks the credential against the data model and the
    options one by one, and answers 400 naming what is wrong, not Pydantic's 422.
    """

    credential: Any = Field(description="the credential to sign, a JSON object, as it will be")
    options: Any = Field(
        default_factory=dict,
        description="created (XML Schema dateTime), challenge, domain, proofPurpose "
        "(assertionMethod or authentication)",
    )


class VerifyCredentialRequest(BaseModel):
    """VC-API `POST /credentials/verify` body: a credential (JSON object or compact JWS)."""

    verifiableCredential: Any = Field(description="a credential object or a compact JWS")
    options: Any = Field(
        default_factory=dict, description="challenge, domain, checks (a list of check names)"
    )


class VerifyPresentationRequest(BaseModel):
    """VC-API `POST /presentations/verify` body: a presentation object."""

    verifiablePresentation: Any = Field(description="a presentation object")
    options: Any = Field(
        default_factory=dict, description="challenge, domain, checks (a list of check names)"
    )


# ── responses: every JSON route declares its shape (and /docs shows it) ──


class LoginOut(BaseModel):
    csrf_token: str
    user: UserOut


class FrameworkImported(BaseModel):
    soc: str
    title: str
    achievements: list[str]


class CatalogEntry(BaseModel):
    soc: str
    title: str
    level: str
    achievement: str


class EnrolmentRowOut(BaseModel):
    row: int
    email: str
    status: str
    message: str


class EnrolmentReport(BaseModel):
    applied: bool
    summary: dict[str, int]
    rows: list[EnrolmentRowOut]


class AssignmentOut(BaseModel):
    id: int
    learner_id: int
    supervisor_id: int


class StatementOut(BaseModel):
    number: int
    text: str
    confirmed_by: str | None
    observed_on: date | None
    method: str | None


class LevelProgressOut(BaseModel):
    level: str
    label: str
    confirmed: int
    of: int
    credential_id: str | None
    statements: list[StatementOut]


class CredentialOut(BaseModel):
    id: str
    url: str
    learner_id: int
    achievement: str
    issued_at: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    superseded_at: datetime | None
    suspended_at: datetime | None
    predecessor_id: str | None


class IssuedCredential(CredentialOut):
    credential: dict[str, Any] = Field(description="the signed OpenBadgeCredential")


class Queued(BaseModel):
    status: Literal["queued"] = "queued"


class AuditEventOut(BaseModel):
    at: datetime
    actor: str | None
    action: str
    subject: str
    detail: Any


class AssignedLearnerOut(BaseModel):
    id: int
    name: str
    email: str
    soc: str
    framework: str


class ConfirmationOut(BaseModel):
    id: int
    statement: int
    confirmed_at: datetime


class Visibility(Strict):
    public: bool


class VisibilityOut(BaseModel):
    id: str
    public: bool


class ExchangeStarted(BaseModel):
    """A one-time VC-API exchange: its id, when it ends, and the links for QR codes."""

    model_config = ConfigDict(extra="allow")
    id: str
    expires_at: datetime
    interaction_url: str
    vcapi: str


class OfferStarted(BaseModel):
    model_config = ConfigDict(extra="allow")
    credential_offer_uri: str
    offer_link: str


class DeadLetterOut(BaseModel):
    id: int
    recipient: str
    subject: str
    attempts: int
    last_error: str | None
    created: datetime
    given_up: datetime | None
    retryable: bool


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, name=user.name, roles=sorted(r.role for r in user.roles)
    )


def person_out(user: User) -> PersonOut:
    return PersonOut(
        **user_out(user).model_dump(),
        state=user.state,
        created_at=user.created_at,
        last_signed_in_at=user.last_signed_in_at,
        deactivated_at=user.deactivated_at,
    )


def credential_out(record: CredentialRecord) -> CredentialOut:
    return CredentialOut(
        id=record.id,
        url=json.loads(record.document)["id"],
        learner_id=record.learner_id,
        achievement=record.achievement.url,
        issued_at=record.issued_at,
        valid_until=record.valid_until,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        superseded_at=record.superseded_at,
        suspended_at=record.suspended_at,
        predecessor_id=record.predecessor_id,
    )


def progress_out(levels: list[LevelProgress]) -> list[LevelProgressOut]:
    return [
        LevelProgressOut(
            level=level.level,
            label=level.label,
            confirmed=level.confirmed,
            of=len(level.statements),
            credential_id=level.credential_id,
            statements=[
                StatementOut(
                    number=s.number,
                    text=s.text,
                    confirmed_by=s.confirmed_by,
                    observed_on=s.observed_on,
                    method=s.method,
                )
                for s in level.statements
            ],
        )
        for level in levels
    ]
