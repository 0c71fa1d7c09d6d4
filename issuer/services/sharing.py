"""What a learner takes away: the credential page's content, its live status (with when and why
it was revoked or suspended), the downloads (signed JSON, baked PNG and SVG, VC-JWT, PDF
certificate), the LinkedIn links, who may see the page, and the OpenID4VCI offer to a wallet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.badge_images import BadgeFace, badge_png, preview_png
from issuer.baking.png import bake_png
from issuer.baking.svg import bake_svg
from issuer.brand import Brand
from issuer.certificates import CertificateText, certificate_pdf
from issuer.credentials import METHODS
from issuer.dates import human_date
from issuer.errors import NotFound
from issuer.linkedin import Certification, add_to_profile_url, share_url
from issuer.proofs.vc_jwt import OB3_JWT
from issuer.services import audit, exchanges, mail
from issuer.services.awards import award_of, copies, credential
from issuer.services.issuing import Issuer
from issuer.services.letters import Code, Letter, badge_of
from issuer.store.models import AuditEvent, Confirmation, CredentialRecord, Exchange, User
from issuer.types import JsonObject


@dataclass(frozen=True, slots=True)
class WalletCopy:
    """A copy of the award bound to a wallet: where it lives and whose DID it names."""

    page_url: str
    holder: str
    bound_at: datetime


@dataclass(frozen=True, slots=True)
class StatusNotice:
    """When and why the issuer revoked or suspended the credential: what its page says to
    whoever holds the link, so a "Revoked" is never left unexplained."""

    since: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class CredentialView:
    record: CredentialRecord
    document: JsonObject
    page_url: str
    status: str  # valid, expired, revoked, suspended, renewed
    face: BadgeFace
    linkedin: Certification
    # The learner is viewing their own award: the page offers wallets, sharing and visibility.
    owner: bool = False
    # For the owner: the award's wallet copies.
    copies: tuple[WalletCopy, ...] = ()
    notice: StatusNotice | None = None

    @property
    def shareable(self) -> bool:
        """Revoked or suspended, the page offers nothing to pass on (downloads, LinkedIn,
        wallets); the signed JSON stays at the credential's URL for verifiers to check."""
        return self.status not in ("revoked", "suspended")

    @property
    def achievement(self) -> JsonObject:
        achievement: JsonObject = self.document["credentialSubject"]["achievement"]
        return achievement

    @property
    def statements(self) -> list[tuple[str, str]]:
        """(statement, how it was confirmed), from the signed evidence."""
        names = [d["name"] for d in self.achievement.get("resultDescription", [])]
        narratives = [e.get("narrative", "") for e in self.document.get("evidence", [])]
        return [
            (name, narratives[i] if i < len(narratives) else "") for i, name in enumerate(names)
        ]

    @property
    def issuer_name(self) -> str:
        issuer = self.document.get("issuer")
        return str(issuer.get("name", "")) if isinstance(issuer, dict) else str(issuer)

    def linkedin_urls(self) -> dict[str, str]:
        return {"add": add_to_profile_url(self.linkedin), "share": share_url(self.page_url)}


def view(
    session: Session,
    issuer: Issuer,
    credential_id: str,
    *,
    viewer: User | None = None,
    linkedin_organization_id: str | None = None,
    now: datetime | None = None,
) -> CredentialView:
    """The credential as its page shows it; a private one only to its learner (else NotFound)."""
    record = credential(session, credential_id)
    if not record.public and (viewer is None or viewer.id != record.learner_id):
        raise NotFound(f"no credential {credential_id}")
    document: JsonObject = json.loads(record.document)
    now = now or datetime.now(UTC)
    achievement = record.achievement
    levels = achievement.framework.achievements
    page_url = issuer.credential_url(record.id)
    owner = viewer is not None and viewer.id == record.learner_id
    status = _status(record, now)
    return CredentialView(
        owner=owner,
        copies=_wallet_copies(session, issuer, record) if owner else (),
        notice=_notice(session, record, status),
        record=record,
        document=document,
        page_url=page_url,
        status=status,
        face=BadgeFace(
            title=achievement.framework.title,
            label=achievement.label,
            soc=achievement.framework.soc,
            position=achievement.position + 1,
            count=len(levels),
        ),
        linkedin=Certification(
            name=document["name"],
            organization_name=str(document["issuer"].get("name", "")),
            organization_id=linkedin_organization_id,
            issued=record.issued_at,
            expires=record.valid_until,
            cert_url=page_url,
            cert_id=record.id,
        ),
    )


def _status(record: CredentialRecord, now: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    if record.suspended_at is not None:
        return "suspended"
    if record.valid_until is not None and record.valid_until <= now:
        return "expired"
    if record.superseded_at is not None:
        return "renewed"
    return "valid"


def _notice(session: Session, record: CredentialRecord, status: str) -> StatusNotice | None:
    """The revocation's date and reason are stored with the credential. A suspension's reason
    is not (no column for it): it is read from the audit log, the latest suspension of the
    award (wallet copies share their award's suspension)."""
    if status == "revoked" and record.revoked_at is not None:
        return StatusNotice(record.revoked_at, record.revocation_reason or "")
    if status != "suspended" or record.suspended_at is None:
        return None
    event = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "credential.suspended",
            AuditEvent.subject == award_of(session, record).id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    reason = event.detail.get("reason", "") if event is not None else ""
    return StatusNotice(record.suspended_at, str(reason))


def baked_png(item: CredentialView) -> bytes:
    return bake_png(badge_png(item.face), item.record.document)


def baked_svg(item: CredentialView, svg: str) -> str:
    return bake_svg(svg, item.record.document)


def vc_jwt(item: CredentialView, issuer: Issuer) -> str:
    """The same credential secured as an OB 3.0 VC-JWT instead of Data Integrity: ES256 when
    the issuer has a P-256 key and a did:web (1EdTech's validator and Open Badge Passport
    refuse EdDSA), else EdDSA; ISSUER_JWT_ALG decides when set."""
    unsecured = {k: v for k, v in item.document.items() if k != "proof"}
    return issuer.identity.sign_jwt(unsecured, form=OB3_JWT)


def preview(item: CredentialView, brand: Brand) -> bytes:
    """The link preview; it names the learner only while their page is public: a preview is
    copied into chats and feeds, and outlives a later "make it private"."""
    return preview_png(
        item.face,
        headline=item.document["name"],
        issuer=item.issuer_name,
        brand=brand,
        earner=item.record.learner.name if item.record.public else None,
    )


def certificate(session: Session, item: CredentialView, brand: Brand) -> bytes:
    valid_until = item.document.get("validUntil")
    rows = _award_confirmations(session, item.record)
    imported = next((c for c in rows if c.imported_by is not None), None)
    # Imported records: attested_by is the coordinator who imported them; the records are
    # the supervisor's. Never print that as a live attestation.
    supervisor = imported.supervisor if imported else session.get(User, item.record.attested_by)
    return certificate_pdf(
        CertificateText(
            learner_label=item.record.learner.name,
            achievement=item.document["name"],
            description=str(item.achievement.get("description", "")).split("\n\n")[0],
            statements=[name for name, _ in item.statements],
            issuer=item.issuer_name,
            issued=human_date(item.record.issued_at),
            valid_until=valid_until[:10] if isinstance(valid_until, str) else None,
            page_url=item.page_url,
            level=item.face.label,
            level_position=item.face.position,
            level_count=item.face.count,
            supervisor=supervisor.name if supervisor is not None else "",
            imported_by=imported.imported_by.name if imported and imported.imported_by else "",
            confirmations=tuple(_confirmed(c) for c in rows),
        ),
        badge_png(item.face),
        brand,
    )


def _award_confirmations(session: Session, record: CredentialRecord) -> list[Confirmation]:
    """The sign-offs the award was issued on, in statement order (a wallet copy shares its
    award's)."""
    return list(
        session.scalars(
            select(Confirmation)
            .where(Confirmation.consumed_by == award_of(session, record).id)
            .order_by(Confirmation.statement_index)
        )
    )


def _confirmed(c: Confirmation) -> str:
    """How one statement was confirmed, in words; imported records say whose they were."""
    when = f"{METHODS.get(c.method, c.method)} on {c.observed_on.day} {c.observed_on:%B %Y}"
    if c.imported_by is not None:
        return f"{when}, {c.setting}; from {c.supervisor.name}'s records"
    return f"{when}, {c.setting}; confirmed by {c.supervisor.name}"


def set_visibility(
    session: Session, learner: User, credential_id: str, public: bool
) -> CredentialRecord:
    """Public or private, for the award and every wallet copy of it alike."""
    record = credential(session, credential_id)
    if record.learner_id != learner.id:
        raise NotFound(f"no credential {credential_id} of yours")
    award = award_of(session, record)
    for each in (award, *copies(session, award)):
        if each.public != public:
            each.public = public
            audit.record(session, learner, "credential.visibility", each.id, public=public)
    return record


def _wallet_copies(
    session: Session, issuer: Issuer, record: CredentialRecord
) -> tuple[WalletCopy, ...]:
    found = []
    for copy in copies(session, award_of(session, record)):
        subject = json.loads(copy.document).get("credentialSubject", {})
        holder = str(subject.get("id", "")) if isinstance(subject, dict) else ""
        found.append(WalletCopy(issuer.credential_url(copy.id), holder, copy.issued_at))
    return tuple(found)


def offer_openid(session: Session, learner: User, credential_id: str) -> Exchange:
    """An OpenID4VCI credential offer of the learner's credential, its transaction code sent by
    e-mail (in the caller's transaction). The code never appears beside the offer: whoever
    photographs the QR code on the learner's screen still lacks it."""
    exchange, _, tx_code = exchanges.start_openid(session, learner, credential_id)
    record = credential(session, credential_id)
    mail.queue(
        session,
        to=learner.email,
        subject="Your code to add your badge to a wallet",
        letter=Letter(
            greeting=f"Hello {learner.name},",
            before=(
                f'You asked to add your Open Badge "{record.achievement.document["name"]}" '
                "to a wallet.",
            ),
            code=Code("Enter this code when your wallet asks", tx_code),
            after=("It works once, for 15 minutes.",),
            reason="You receive this e-mail because you asked to add your badge to a wallet.",
            badge=badge_of(record),
        ),
        secrets=[tx_code],  # erased from the stored message once delivered
    )
    return exchange
