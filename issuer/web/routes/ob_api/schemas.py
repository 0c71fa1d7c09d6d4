"""Request and response shapes of the Open Badges API (Pydantic), as its OpenAPI document and
the OAuth RFCs name them: they document the routes at /docs; the tests check the responses
against the specification's own OpenAPI file and JSON Schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ImsxCodeMinorField(BaseModel):
    imsx_codeMinorFieldName: str
    imsx_codeMinorFieldValue: Literal[
        "forbidden",
        "fullsuccess",
        "internal_server_error",
        "invalid_data",
        "invalid_query_parameter",
        "misdirected_request",
        "not_acceptable",
        "not_allowed",
        "not_found",
        "not_modified",
        "server_busy",
        "unauthorizedrequest",
        "unknown",
    ]


class ImsxCodeMinor(BaseModel):
    imsx_codeMinorField: list[ImsxCodeMinorField] = Field(min_length=1)


class ImsxStatusInfo(BaseModel):
    """Every error of the Open Badges API's resource endpoints (OB 3.0 §6.2)."""

    imsx_codeMajor: Literal["failure", "processing", "success", "unsupported"]
    imsx_severity: Literal["error", "status", "warning"]
    imsx_description: str | None = None
    imsx_codeMinor: ImsxCodeMinor | None = None


class GetOpenBadgeCredentialsResponse(BaseModel):
    """getCredentials: JSON credentials in `credential`, VC-JWTs in `compactJwsString`."""

    credential: list[dict[str, Any]] = Field(default_factory=list)
    compactJwsString: list[str] = Field(default_factory=list)


class ObProfile(BaseModel):
    """The learner as an OB 3.0 Profile (getProfile, putProfile)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    context: list[str] = Field(alias="@context")
    id: str
    type: list[str]
    name: str
    email: str | None = None


class ServiceDescriptionDocument(BaseModel):
    """The OB 3.0 OpenAPI document, profiled for this server (§6.3)."""

    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict[str, Any]
    components: dict[str, Any]


class ClientRegistered(BaseModel):
    """RFC 7591 §3.2.1: the client's credentials (its secret shown this once) and metadata."""

    model_config = ConfigDict(extra="allow")
    client_id: str
    client_secret: str
    client_id_issued_at: int
    client_secret_expires_at: int


class TokenIssued(BaseModel):
    """RFC 6749 §5.1, as OB 3.0 §7.1.2.4 has it."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    refresh_token: str | None = None


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2 (and RFC 7591 §3.2.2) errors."""

    error: str
    error_description: str | None = None


class ObClientOut(BaseModel):
    """A backpack or host registered with our Open Badges API, as coordinators see it."""

    client_id: str
    name: str
    client_uri: str | None
    scope: str
    registered_at: datetime
    revoked_at: datetime | None
