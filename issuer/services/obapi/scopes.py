"""The Open Badges API scopes (OB 3.0 §6.2.1), with the words the consent page shows.

`offline_access` appears in the specification's examples beside them: a client asking for it
wants to keep its access while the learner is away (through refresh tokens).
"""

from __future__ import annotations

PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CREDENTIAL_READONLY = PREFIX + "credential.readonly"
CREDENTIAL_UPSERT = PREFIX + "credential.upsert"
PROFILE_READONLY = PREFIX + "profile.readonly"
PROFILE_UPDATE = PREFIX + "profile.update"
OFFLINE_ACCESS = "offline_access"

# What the specification says each permits (its OpenAPI document words them so).
DESCRIPTIONS = {
    CREDENTIAL_READONLY: "Permission to read AchievementCredentials for the authenticated entity.",
    CREDENTIAL_UPSERT: "Permission to create or update AchievementCredentials for the "
    "authenticated entity.",
    PROFILE_READONLY: "Permission to read the profile for the authenticated entity.",
    PROFILE_UPDATE: "Permission to update the profile for the authenticated entity.",
}
# What a learner reads before allowing a backpack in.
WORDS = {
    CREDENTIAL_READONLY: "see the badges you earned here and the ones you keep here",
    CREDENTIAL_UPSERT: "add badges you earned elsewhere to the ones you keep here",
    PROFILE_READONLY: "see your name and e-mail address",
    PROFILE_UPDATE: "change your name",
    OFFLINE_ACCESS: "keep this access while you are away, until you disconnect it",
}
SUPPORTED = (*DESCRIPTIONS, OFFLINE_ACCESS)


def parse(scope: str | None) -> list[str]:
    """A space-separated scope string as a list, each scope once, in order."""
    return list(dict.fromkeys((scope or "").split()))


def words(scope: str | None) -> list[str]:
    """The scopes of `scope` in words, in the order of WORDS (an unknown scope as itself)."""
    granted = parse(scope)
    known = [WORDS[name] for name in WORDS if name in granted]
    return known + [name for name in granted if name not in WORDS]
