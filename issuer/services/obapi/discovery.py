"""The Service Description Document (OB 3.0 §6.3, §7.1.1.1): the specification's own OpenAPI
file (bundled byte-exact, `openapi.json`), profiled for this server.

The profile names our server, our terms of service and privacy policy, our image, and, in the
OAuth2ACG security scheme, our registration, authorization, token and refresh URLs. The
revocation URL has no place in OpenAPI's flow object; it is given as `x-revocationUrl` beside
`x-imssf-registrationUrl` (the extension the specification defines), for clients that look.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from issuer.services.obapi import scopes

OPENAPI = Path(__file__).parent / "openapi.json"
API_PATH = "/ims/ob/v3p0"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where this server's Open Badges API and its authorization server live."""

    base_url: str

    @property
    def api(self) -> str:
        return self.base_url + API_PATH

    @property
    def registration(self) -> str:
        return self.api + "/oauth/register"

    @property
    def authorization(self) -> str:
        return self.api + "/oauth/authorize"

    @property
    def token(self) -> str:
        return self.api + "/oauth/token"

    @property
    def revocation(self) -> str:
        return self.api + "/oauth/revoke"


@dataclass(frozen=True, slots=True)
class About:
    """What the document says about this server (info and the security scheme)."""

    title: str
    terms_of_service: str
    privacy_policy: str
    image: str | None = None


@cache
def _specification() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return document


def service_description(endpoints: Endpoints, about: About) -> dict[str, Any]:
    """The Service Description Document: the specification's OpenAPI file, profiled."""
    document = copy.deepcopy(_specification())
    document["servers"] = [{"url": endpoints.api, "description": about.title}]
    info = document["info"]
    info["title"] = about.title
    info["termsOfService"] = about.terms_of_service
    info["x-imssf-privacyPolicyUrl"] = about.privacy_policy
    if about.image:
        info["x-imssf-image"] = about.image
    scheme: dict[str, Any] = {
        "type": "oauth2",
        "description": "OAuth 2.0 Authorization Code Grant authorization",
        "x-imssf-name": about.title,
        "x-imssf-privacyPolicyUrl": about.privacy_policy,
        "x-imssf-registrationUrl": endpoints.registration,
        "x-imssf-termsOfServiceUrl": about.terms_of_service,
        "x-revocationUrl": endpoints.revocation,
        "flows": {
            "authorizationCode": {
                "authorizationUrl": endpoints.authorization,
                "tokenUrl": endpoints.token,
                "refreshUrl": endpoints.token,
                "scopes": dict(scopes.DESCRIPTIONS),
            }
        },
    }
    if about.image:
        scheme["x-imssf-image"] = about.image
    document["components"]["securitySchemes"] = {"OAuth2ACG": scheme}
    return document
