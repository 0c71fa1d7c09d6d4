"""Who issues, and where what is issued lives: the one module every other service imports for
that, so none of them has to import the issuance use case (`awards`) to know it.

`Issuer` is the signing identity with the public base URL; the status lists are numbered here
(1 revocation, 2 suspension) with their size, which fixes every credential's status entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from issuer.services.identity import IssuerIdentity
from issuer.types import JsonObject

STATUS_LIST_SIZE = 131_072
REVOCATION_LIST_ID = 1
SUSPENSION_LIST_ID = 2
LIST_PURPOSES = {REVOCATION_LIST_ID: "revocation", SUSPENSION_LIST_ID: "suspension"}


@dataclass(frozen=True, slots=True)
class Issuer:
    """What issuing needs from the outside: who signs, and where credentials live."""

    identity: IssuerIdentity
    base_url: str
    # Also give each credential a suspension entry (ISSUER_SUSPENSION). The OB 3.0 JSON Schema
    # allows one credentialStatus object, so this is off by default.
    suspension: bool = False
    # The W3C render method each credential carries (issuer/render_method.py), if any: the
    # web app publishes its template, so only it issues with one.
    render_method: list[JsonObject] | None = None

    def credential_url(self, credential_id: str) -> str:
        return f"{self.base_url}/credentials/{credential_id}"

    def status_list_url(self, list_id: int = REVOCATION_LIST_ID) -> str:
        return f"{self.base_url}/status/{list_id}"
