"""LinkedIn's "Add to profile" and "Share" links for a credential.

https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=…&organizationId=…
pre-fills the Licenses & certifications form (best effort on LinkedIn's side, hence the
copy-to-clipboard fields on the page); /sharing/share-offsite/?url=… shares the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"
SHARE = "https://www.linkedin.com/sharing/share-offsite/"


@dataclass(frozen=True, slots=True)
class Certification:
    name: str
    organization_name: str
    organization_id: str | None
    issued: datetime
    expires: datetime | None
    cert_url: str
    cert_id: str

    def fields(self) -> list[tuple[str, str]]:
        """The form's fields in LinkedIn's order: organizationId replaces organizationName."""
        fields = [("startTask", "CERTIFICATION_NAME"), ("name", self.name)]
        if self.organization_id:
            fields.append(("organizationId", self.organization_id))
        else:
            fields.append(("organizationName", self.organization_name))
        fields += [("issueYear", str(self.issued.year)), ("issueMonth", str(self.issued.month))]
        if self.expires is not None:
            fields += [
                ("expirationYear", str(self.expires.year)),
                ("expirationMonth", str(self.expires.month)),
            ]
        fields += [("certUrl", self.cert_url), ("certId", self.cert_id)]
        return fields


def add_to_profile_url(certification: Certification) -> str:
    """Every value URL-encoded (`&`, `#`, accents and all)."""
    return f"{ADD_TO_PROFILE}?{urlencode(certification.fields())}"


def share_url(page_url: str) -> str:
    return f"{SHARE}?{urlencode({'url': page_url})}"
