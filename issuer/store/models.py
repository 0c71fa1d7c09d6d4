"""The tables (SQLAlchemy 2.0, typed). Constraints carry the rules the database must guarantee
even under concurrency: one active confirmation per statement, one active credential per
learner and Achievement, status list indexes never reused. Everything else is in services/.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression, relationship
from sqlalchemy.types import TypeDecorator

from issuer import limits

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(limits.EMAIL), unique=True)
    name: Mapped[str] = mapped_column(String(limits.PERSON_NAME), index=True)  # lists, by name
    password_hash: Mapped[str | None] = mapped_column(String(limits.PASSWORD_HASH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set while the person may not sign in by any way (their credentials stay valid).
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    roles: Mapped[list[Role]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    def has_role(self, role: str) -> bool:
        return any(r.role == role for r in self.roles)

    @property
    def state(self) -> Literal["invited", "active", "deactivated"]:
        """deactivated; invited (never signed in, no password yet); or active."""
        if self.deactivated_at is not None:
            return "deactivated"
        if self.password_hash is None and self.last_signed_in_at is None:
            return "invited"
        return "active"


class Role(Base):
    __tablename__ = "roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(limits.ROLE), primary_key=True)


class ApiToken(Base):
    """Bearer tokens, stored as SHA-256 of the token (the token itself is shown once)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), unique=True)
    name: Mapped[str] = mapped_column(String(limits.TOKEN_NAME))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """Browser sessions: the cookie holds a random id, stored here hashed, with its CSRF token."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The roles this session may use (space-separated; NULL: all of the person's). A claim
    # link's session is "learner": the learner's own pages, whatever else the person is.
    scope: Mapped[str | None] = mapped_column(String(limits.SESSION_SCOPE))
    # The message for the next page after a redirect (JSON {kind, text}), kept here rather
    # than in the URL, where anyone could write it.
    flash: Mapped[str | None] = mapped_column(Text)


class AccountLink(Base):
    """A single-use link e-mailed to a person (stored hashed): an invitation to set a first
    password, a password reset, a learner's sign-in link, or the confirmation of a new e-mail
    address (`new_email`, sent to that address). Spent by setting `used_at`, once."""

    __tablename__ = "account_links"
    token_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(limits.LINK_PURPOSE))
    new_email: Mapped[str | None] = mapped_column(String(limits.EMAIL))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship(lazy="joined")


class FrameworkRecord(Base):
    __tablename__ = "frameworks"
    id: Mapped[int] = mapped_column(primary_key=True)
    soc: Mapped[str] = mapped_column(String(limits.SOC), unique=True)
    title: Mapped[str] = mapped_column(String(limits.FRAMEWORK_TITLE))
    version: Mapped[str] = mapped_column(String(limits.FRAMEWORK_VERSION))
    source: Mapped[str] = mapped_column(Text)  # the framework file as imported, verbatim
    validity_days: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    achievements: Mapped[list[AchievementRecord]] = relationship(
        order_by="AchievementRecord.position", lazy="selectin"
    )
    # How many levels it has, when a query asks for it (catalog.achievement_record does: the
    # claim e-mail's badge says "level 3 of 4" without loading the other Achievements).
    levels: Mapped[int | None] = query_expression()


class AchievementRecord(Base):
    __tablename__ = "achievements"
    __table_args__ = (UniqueConstraint("framework_id", "level_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    level_key: Mapped[str] = mapped_column(String(limits.LEVEL_KEY))
    label: Mapped[str] = mapped_column(String(limits.LEVEL_LABEL))
    position: Mapped[int] = mapped_column(Integer)
    # Text: the base URL is the operator's, and a level key of 64 letters outside ASCII
    # percent-encodes to as many as 768 characters.
    url: Mapped[str] = mapped_column(Text, unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    framework: Mapped[FrameworkRecord] = relationship(back_populates="achievements")
    # Whether it, or the issuer's Profile, has an endorsement in force, when a query asks
    # (catalog.achievement_to_sign: an attestation reads the endorsements only if there are any).
    endorsed: Mapped[bool | None] = query_expression()


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("learner_id", "supervisor_id", "framework_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    cohort: Mapped[str | None] = mapped_column(String(limits.COHORT))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    framework: Mapped[FrameworkRecord] = relationship(lazy="joined")


class Confirmation(Base):
    """A supervisor's confirmation of one statement for one learner; withdrawn, never deleted."""

    __tablename__ = "confirmations"
    __table_args__ = (
        Index(
            "uq_confirmations_active",
            "learner_id",
            "achievement_id",
            "statement_index",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL AND consumed_by IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL AND consumed_by IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"))
    statement_index: Mapped[int] = mapped_column(Integer)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    observed_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(limits.METHOD))
    setting: Mapped[str] = mapped_column(String(limits.SETTING))
    note: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The credential this confirmation went into; a renewal needs fresh confirmations.
    consumed_by: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"), index=True)
    # Set when the confirmation was imported from existing records (services/records_import.py)
    # rather than signed off live: the coordinator who imported it, and the import job.
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    import_job_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_award_jobs.id"), index=True)
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    imported_by: Mapped[User | None] = relationship(foreign_keys=[imported_by_id])


class CredentialRecord(Base):
    """A signed credential, stored exactly as signed (`document` is the signed JSON text)."""

    __tablename__ = "credentials"
    __table_args__ = (
        Index(
            "uq_credentials_active",
            "learner_id",
            "achievement_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL AND superseded_at IS NULL AND copy_of IS NULL"),
            postgresql_where=text(
                "revoked_at IS NULL AND superseded_at IS NULL AND copy_of IS NULL"
            ),
        ),
        # The status lists read only these (and SQLite would otherwise read every document
        # through its overflow pages to reach the columns stored after it).
        Index(
            "ix_credentials_revoked",
            "status_list_index",
            sqlite_where=text("revoked_at IS NOT NULL"),
            postgresql_where=text("revoked_at IS NOT NULL"),
        ),
        Index(
            "ix_credentials_suspended",
            "status_list_index",
            sqlite_where=text("suspended_at IS NOT NULL"),
            postgresql_where=text("suspended_at IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"))
    attested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status_list_index: Mapped[int] = mapped_column(Integer, unique=True)
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The learner decides: visible to anyone holding the link (default), or to nobody.
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    predecessor_id: Mapped[str | None] = mapped_column(String(36))
    # A copy bound to a wallet's DID: its own id and status index, the same award. Copies
    # share their award's revocation, suspension and renewal; every earlier download of the
    # award keeps verifying.
    copy_of: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"), index=True)
    achievement: Mapped[AchievementRecord] = relationship(lazy="joined")
    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")


class AuditEvent(Base):
    """Append-only: the code has no path that updates or deletes these rows."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(limits.AUDIT_ACTION), index=True)
    subject: Mapped[str] = mapped_column(String(limits.AUDIT_SUBJECT))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class Exchange(Base):
    """A one-time hand-over of a credential to a wallet: VC-API exchange or OpenID4VCI offer.

    The transaction code and the access token are stored hashed. The pre-authorized code is
    stored as is: the offer document must show it, and it is exactly as secret as the offer's
    unguessable URL; the e-mailed transaction code is what a thief of the QR code lacks.
    """

    __tablename__ = "exchanges"
    id: Mapped[str] = mapped_column(String(limits.RANDOM_TOKEN), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"))
    protocol: Mapped[str] = mapped_column(String(limits.PROTOCOL))
    challenge: Mapped[str | None] = mapped_column(String(limits.RANDOM_TOKEN))
    pre_authorized_code: Mapped[str | None] = mapped_column(
        String(limits.RANDOM_TOKEN), unique=True
    )
    tx_code_hash: Mapped[str | None] = mapped_column(String(limits.SHA256_HEX))
    tx_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    access_token_hash: Mapped[str | None] = mapped_column(String(limits.SHA256_HEX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holder: Mapped[str | None] = mapped_column(String(limits.DID))
    # The bound copy the wallet received (see CredentialRecord.copy_of).
    bound_credential_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    credential: Mapped[CredentialRecord] = relationship(lazy="joined", foreign_keys=[credential_id])


class Nonce(Base):
    """OpenID4VCI c_nonce values: each accepted once, before it expires."""

    __tablename__ = "nonces"
    value: Mapped[str] = mapped_column(String(limits.RANDOM_TOKEN), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Mail queued in the same transaction as what caused it, delivered afterwards with
    retries: a mail server that is down never blocks or rolls back an issuance.

    A message is pending until `sent_at` (delivered) or `dead_at` (given up after
    MAX_ATTEMPTS, shown to coordinators) is set. `body` is the text part; `letter` (JSON,
    services/letters.py) what the HTML part is made of, None for mail queued before it was
    kept. Both hold the one-time secrets (claim links, codes) only while pending:
    `redacted_body` and `redacted_letter` are the same without them, and replace them at that
    moment (`secrets_erased_at`)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # Sent messages stay (the record of what went out) and outnumber pending ones by far;
        # these keep each delivery run and the dead-letter list from reading all of them.
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            sqlite_where=text("sent_at IS NULL AND dead_at IS NULL"),
            postgresql_where=text("sent_at IS NULL AND dead_at IS NULL"),
        ),
        Index(
            "ix_outbox_messages_dead",
            "dead_at",
            sqlite_where=text("dead_at IS NOT NULL"),
            postgresql_where=text("dead_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(limits.EMAIL))
    subject: Mapped[str] = mapped_column(String(limits.MAIL_SUBJECT))
    body: Mapped[str] = mapped_column(Text)
    redacted_body: Mapped[str | None] = mapped_column(Text)
    letter: Mapped[str | None] = mapped_column(Text)
    redacted_letter: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secrets_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class ClaimToken(Base):
    """A single-use sign-in link to a learner's credential page (stored hashed)."""

    __tablename__ = "claim_tokens"
    token_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship(lazy="joined")


class RateLimitCounter(Base):
    """Hits per (bucket, key) in one fixed one-minute window, shared by every process and
    instance on this database. `key_hash` is the SHA-256 of the key (an e-mail address or a
    client address), so the table holds neither. Old windows are deleted by their start."""

    __tablename__ = "rate_limit_counters"
    bucket: Mapped[str] = mapped_column(String(limits.RATE_LIMIT_BUCKET), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)


# ── the Open Badges API (1EdTech OB 3.0 §6–7): we as Service Provider, and as Consumer ──


class ObClient(Base):
    """A backpack or host registered with our Open Badges API (RFC 7591). The secret is stored
    hashed; `registration` is the metadata as registered (and as returned). Revoking a client
    shuts it out with every token it holds."""

    __tablename__ = "ob_clients"
    client_id: Mapped[str] = mapped_column(String(limits.RANDOM_TOKEN), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX))
    name: Mapped[str] = mapped_column(Text)
    registration: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ObAuthorizationCode(Base):
    """A learner's consent, as a single-use code (stored hashed) for the client to exchange
    within minutes, bound to its redirect URI and PKCE challenge. Spent by setting `used_at`."""

    __tablename__ = "ob_authorization_codes"
    code_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("ob_clients.client_id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(limits.RANDOM_TOKEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ObToken(Base):
    """An access token and its refresh token (both stored hashed). `grant_id` names the
    authorization code they descend from, through every refresh: a replayed code or refresh
    token revokes the whole family. A refresh token is spent (`refresh_used_at`) once."""

    __tablename__ = "ob_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("ob_clients.client_id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    grant_id: Mapped[str] = mapped_column(String(limits.SHA256_HEX), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(limits.SHA256_HEX), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HeldCredential(Base):
    """A credential a learner received elsewhere and keeps here (upsertCredential), stored
    exactly as received (JSON or compact JWS) once it verified. `key` is the SHA-256 of its
    issuer id and id: the spec's credential equality, one row per learner and credential."""

    __tablename__ = "held_credentials"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key: Mapped[str] = mapped_column(String(limits.SHA256_HEX))
    document: Mapped[str] = mapped_column(Text)
    compact_jws: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(Text)
    issuer_name: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("ob_clients.client_id"))


class ObProvider(Base):
    """A backpack we registered with as a client (Consumer side), by its base URL. Its client
    secret is kept as issued: we must present it, so it cannot be stored as a hash."""

    __tablename__ = "ob_providers"
    id: Mapped[int] = mapped_column(primary_key=True)
    base_url: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    authorization_url: Mapped[str] = mapped_column(Text)
    token_url: Mapped[str] = mapped_column(Text)
    revocation_url: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    client_secret: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ObPush(Base):
    """A learner sending one of their credentials to a backpack: started with a `state`
    (stored hashed) and a PKCE verifier (erased once used), spent once when the backpack
    sends the learner back, then finished with what the backpack answered."""

    __tablename__ = "ob_pushes"
    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(limits.SHA256_HEX), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("ob_providers.id"))
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"))
    code_verifier: Mapped[str | None] = mapped_column(String(limits.RANDOM_TOKEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[ObProvider] = relationship(lazy="joined")


# ── endorsements (OB 3.0 §8.2): someone vouching for an Achievement or for the issuer ──


class EndorsementRecord(Base):
    """A signed EndorsementCredential about one of our Achievements (`subject_id` its URL) or
    our issuer Profile (its id), stored exactly as signed, here or elsewhere (`document`).
    Embedded in what it endorses from the next issuance on, and published at its own URL;
    withdrawn, never deleted (credentials issued with it keep carrying it)."""

    __tablename__ = "endorsements"
    id: Mapped[str] = mapped_column(String(limits.UUID), primary_key=True)
    subject_id: Mapped[str] = mapped_column(Text, index=True)
    endorser_id: Mapped[str] = mapped_column(Text)
    endorser_name: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ── the key ring's version, so that every instance signs with what the DID document shows ──


class KeyRingVersion(Base):
    """One row (id 1): bumped by `issuer keys rotate|generate` after the key files are written.
    Every instance compares it with the version it loaded before it signs or publishes its DID
    document, and reloads the key ring from disk when it moved (issue 19: scale-out)."""

    __tablename__ = "key_ring_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ── bulk award from existing records (issue 19, item 5) ──

UPLOAD_NAME = 255  # the uploaded file's name, cut to fit (services/records_import.py)
JOB_STATUS = 16


class BulkAwardJob(Base):
    """One upload of sign-off records to apply: the CSV as uploaded, and how far it got.

    Queued by the coordinator, claimed by a worker (or the CLI) under a lease that each batch
    renews; `done` is recounted from the credentials stored, never kept in memory, so a job
    taken over after a crash carries on where the last batch committed."""

    __tablename__ = "bulk_award_jobs"
    __table_args__ = (Index("ix_bulk_award_jobs_status", "status", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(String(UPLOAD_NAME))
    csv: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(JOB_STATUS))  # queued running done failed
    total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    done: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    confirmations: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The rows that could not be applied ({row, status, message}, the first ERRORS_KEPT) and
    # every row's status counted; `failure` says why a failed job stopped.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    coordinator: Mapped[User] = relationship(lazy="joined")
