"""Request and response shapes of the JSON API (Pydantic); never the tables themselves."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["clinical-practice", "simulation", "discussion"]
RoleName = Literal["coordinator", "supervisor", "learner"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class NewUser(Strict):
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    roles: list[RoleName] = Field(min_length=1)
    password: str | None = Field(default=None, max_length=1000)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]


class NewAssignment(Strict):
    learner_email: str = Field(max_length=320)
    supervisor_email: str = Field(max_length=320)
    soc: str = Field(max_length=10)


class Confirm(Strict):
    soc: str = Field(max_length=10)
    level: str = Field(max_length=64)
    statement: int = Field(ge=1, le=1000)
    observed_on: date
    method: Method
    setting: str = Field(min_length=1, max_length=300)
    note: str | None = Field(default=None, max_length=2000)


class Attest(Strict):
    soc: str = Field(max_length=10)
    level: str = Field(max_length=64)


class Revoke(Strict):
    reason: str = Field(min_length=1, max_length=1000)


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
