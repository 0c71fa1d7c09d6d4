"""Request and response shapes of the JSON API (Pydantic); never the tables themselves.

Every text that is stored, or looked up, has the maximum length its column has (limits.py),
and a one-line text refuses control characters, so over-long or multi-line input is a 422
naming the field on every database (SQLite would store it, PostgreSQL would fail with a 500).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from issuer import limits


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


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]


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
