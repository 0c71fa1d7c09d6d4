"""The issuer Profile (OB 3.0 `Profile`): who issues, as credentials and Achievements state it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from issuer.types import JsonObject

LINKEDIN_IDENTIFIER_TYPE = "ext:LinkedInOrganizationId"


@dataclass(frozen=True, slots=True)
class IssuerProfile:
    """An organisation's OB 3.0 Profile. `id` is the DID when it signs credentials."""

    id: str
    name: str
    url: str | None = None
    email: str | None = None
    image: str | None = None
    description: str | None = None
    linkedin_organization_id: str | None = None

    def with_id(self, profile_id: str) -> IssuerProfile:
        return replace(self, id=profile_id)

    def to_json(self) -> JsonObject:
        """The Profile as embedded in an Achievement (`creator`) or a credential (`issuer`)."""
        profile: JsonObject = {"id": self.id, "type": ["Profile"], "name": self.name}
        if self.url:
            profile["url"] = self.url
        if self.email:
            profile["email"] = self.email
        if self.description:
            profile["description"] = self.description
        if self.image:
            profile["image"] = {"id": self.image, "type": "Image"}
        if self.linkedin_organization_id:
            profile["otherIdentifier"] = [
                {
                    "type": "IdentifierEntry",
                    "identifier": self.linkedin_organization_id,
                    "identifierType": LINKEDIN_IDENTIFIER_TYPE,
                }
            ]
        return profile
