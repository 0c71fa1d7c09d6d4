"""Open Badges 3.0 endorsements: an EndorsementCredential in which someone (the framework's
owner, a professional body) vouches for an Achievement or an issuer Profile.

An endorsement is a credential of its own, signed by its endorser; it travels embedded in the
`endorsement` list of what it endorses (Achievement, Profile, or the credential itself), and a
verifier checks each one apart from the credential carrying it: a bad endorsement is a caveat
on that endorsement, never a reason to doubt the credential (OB 3.0 §8.2, "EndorsementCredential").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from issuer.data_model import parse_date_time
from issuer.dates import human_date
from issuer.jsonld.loader import CREDENTIALS_V2
from issuer.types import JsonObject

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ENDORSEMENT_CONTEXT = [CREDENTIALS_V2, OB_CONTEXT]
ENDORSEMENT_TYPE = "EndorsementCredential"
MAX_COMMENT = 2_000


@dataclass(frozen=True, slots=True)
class Embedded:
    """An endorsement found in a credential: `what` it is embedded in (words for people),
    the id of that thing (which the endorsement's subject must be), and the endorsement."""

    what: str
    subject_id: str | None
    endorsement: object


def endorsement_credential(
    *,
    endorsement_id: str,
    subject_id: str,
    endorser: JsonObject,
    comment: str,
    subject_name: str,
    valid_from: datetime,
) -> JsonObject:
    """The unsigned EndorsementCredential of `endorser` (a Profile) for `subject_id`."""
    return {
        "@context": list(ENDORSEMENT_CONTEXT),
        "id": endorsement_id,
        "type": ["VerifiableCredential", ENDORSEMENT_TYPE],
        "name": f"{endorser.get('name', 'An endorser')} endorses {subject_name}",
        "issuer": endorser,
        "validFrom": valid_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": subject_id,
            "type": ["EndorsementSubject"],
            "endorsementComment": comment,
        },
    }


def embedded_endorsements(credential: JsonObject) -> Iterator[Embedded]:
    """Every endorsement a credential carries, with what it is embedded in: the credential,
    its issuer, its Achievement and the Achievement's creator. An endorsement of the credential
    may be about the credential or about anything in it, so its subject is not held to one id."""
    yield from _in(credential, "the credential", subject_id=None)
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        yield from _in(issuer, "the issuer")
    subjects = credential.get("credentialSubject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if not isinstance(subject, dict) or not isinstance(subject.get("achievement"), dict):
            continue
        achievement = subject["achievement"]
        yield from _in(achievement, "the achievement")
        if isinstance(achievement.get("creator"), dict):
            yield from _in(achievement["creator"], "the achievement's creator")


def endorsement_problems(embedded: Embedded) -> list[str]:
    """What makes an embedded object no endorsement of the thing it is embedded in."""
    endorsement = embedded.endorsement
    if not isinstance(endorsement, dict):
        return ["is not a credential object"]
    types = endorsement.get("type")
    types = types if isinstance(types, list) else [types]
    if ENDORSEMENT_TYPE not in types:
        return ["is not an EndorsementCredential"]
    subject = endorsement.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    if embedded.subject_id is not None and subject_id != embedded.subject_id:
        return [f"endorses {subject_id!r}, not {embedded.what} it is embedded in"]
    return []


def endorser_name(endorsement: JsonObject) -> str:
    """The endorser as the endorsement names it (a claim until its proof is checked)."""
    issuer = endorsement.get("issuer")
    if isinstance(issuer, dict):
        name = issuer.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else "an unnamed endorser"


def endorsement_comment(endorsement: JsonObject) -> str | None:
    subject = endorsement.get("credentialSubject")
    comment = subject.get("endorsementComment") if isinstance(subject, dict) else None
    return comment if isinstance(comment, str) else None


@dataclass(frozen=True, slots=True)
class Endorser:
    """An endorsement as a page shows it: who, of what, saying what, since when, and where
    it is published (only an http(s) address: the data may come from anywhere)."""

    name: str
    url: str | None
    what: str
    comment: str | None
    since: str | None
    link: str | None


def endorsers(node: JsonObject) -> list[Endorser]:
    """Who endorses `node` (a credential, or an Achievement) or what it embeds, for a page:
    those that are endorsements of what they are embedded in (not yet verified: a page of
    ours shows what we embedded; the verifier checks them)."""
    wrapped = node if "credentialSubject" in node else {"credentialSubject": {"achievement": node}}
    shown = []
    for embedded in embedded_endorsements(wrapped):
        endorsement = embedded.endorsement
        if not isinstance(endorsement, dict) or endorsement_problems(embedded):
            continue
        issuer = endorsement.get("issuer")
        url = issuer.get("url") if isinstance(issuer, dict) else None
        since = parse_date_time(str(endorsement.get("validFrom", "")))
        shown.append(
            Endorser(
                name=endorser_name(endorsement),
                url=_web_address(url),
                what=embedded.what.removeprefix("the "),
                comment=endorsement_comment(endorsement),
                since=human_date(since) if since else None,
                link=_web_address(endorsement.get("id")),
            )
        )
    return shown


def _web_address(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


_OWN_ID = object()


def _in(node: JsonObject, what: str, subject_id: object = _OWN_ID) -> Iterator[Embedded]:
    found = node.get("endorsement")
    if found is None:
        return
    if subject_id is _OWN_ID:
        own = node.get("id")
        subject_id = own if isinstance(own, str) else ""
    for endorsement in found if isinstance(found, list) else [found]:
        yield Embedded(what, subject_id if isinstance(subject_id, str) else None, endorsement)
