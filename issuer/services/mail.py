"""Outgoing mail: queued in the database inside the use case's transaction, delivered
afterwards with retries and back-off, so a mail server that is down never blocks or rolls back
what caused the message (an issuance). Delivery goes through SMTP (`ISSUER_SMTP_*`) or, by
default in development, writes each message as an .eml file to `ISSUER_DATA_DIR/outbox/`.

A use case queues a letter (letters.py): its text part is stored as `body`, the letter itself
beside it, and both become the message (text and branded HTML) when it is sent, under the
brand the transport carries (`Branded`, from Settings.mail_transport).

A message is pending, then sent, or dead: given up after MAX_ATTEMPTS, listed for
coordinators, who may put it back in the queue. Each message is composed, sent and recorded on
its own, so one that cannot be built or sent neither stops the others nor makes them go twice.
One-time secrets (claim links, codes) are erased from every stored part of the row as soon as
the message is sent or dead.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import Update, bindparam, case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.brand import Brand
from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.files import PRIVATE, write_atomic
from issuer.services import audit, letters
from issuer.services.letters import Letter
from issuer.store.db import transaction
from issuer.store.models import OutboxMessage, User

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
# How long a claimed message is left to the process that claimed it before another may retry.
CLAIM_LEASE = timedelta(minutes=5)
REDACTED = "[redacted after delivery]"
SUBJECT_LENGTH = 300  # the column's: PostgreSQL refuses a longer one, and the issuance with it
ERROR_LENGTH = 500


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxDirectory:
    """Development delivery: one .eml file per message (private: they hold the secrets)."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        write_atomic(self.directory / f"{uuid.uuid4()}.eml", message.as_bytes(), mode=PRIVATE)


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls()
            if self.username and self.password:
                server.login(self.username, self.password)
            server.send_message(message)


@dataclass(frozen=True, slots=True)
class Branded:
    """A transport and the brand its messages are put on: one value, so the web app and the
    CLI hand both to deliver_due (Settings.mail_transport builds it). A bare transport sends
    under letters.UNBRANDED."""

    transport: Transport
    brand: Brand

    def send(self, message: EmailMessage) -> None:
        self.transport.send(message)


def queue(
    session: Session,
    *,
    to: str,
    subject: str,
    letter: Letter,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue a letter in the caller's transaction; it is sent only if that transaction commits.

    `secrets` are the parts of the letter that must not outlive delivery (a claim link, a
    transaction code). The text and the letter without them are stored beside them from the
    start, so erasing them later needs no copy of the secret anywhere else.
    """
    message = compose(to=to, subject=subject, letter=letter, secrets=secrets, now=now)
    session.add(message)
    return message


def compose(
    *,
    to: str,
    subject: str,
    letter: Letter,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> OutboxMessage:
    """The message `queue` stores, not yet in any session: the issuance path composes it
    before it takes the write lock, and only adds it under the lock."""
    body = letter.text()
    if any(not secret or secret not in body or secret in subject for secret in secrets):
        raise InvalidInput("each secret must be a non-empty part of the letter, not the subject")
    letters.check(letter)
    now = now or datetime.now(UTC)
    return OutboxMessage(
        recipient=to,
        subject=subject[:SUBJECT_LENGTH],
        body=body,
        redacted_body=_redact(body, secrets) if secrets else None,
        letter=letter.to_json(),
        redacted_letter=(
            letter.redacted(lambda text: _redact(text, secrets)).to_json() if secrets else None
        ),
        created_at=now,
        next_attempt_at=now,
    )


def _redact(text: str, secrets: Sequence[str]) -> str:
    # Longest first: a claim link goes whole, not as a link around a redacted token.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True, slots=True)
class _Claimed:
    """What a delivery run needs of a message once the claiming transaction has ended."""

    id: int
    attempts: int
    recipient: str
    subject: str
    body: str
    letter: str | None  # None: queued before letters were stored, sent as plain text


def deliver_due(
    sessions: sessionmaker[Session],
    transport: Transport,
    *,
    sender: str,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Send what is due; failures back off exponentially. Returns how many were sent.

    No transaction is open while the mail server is talked to (on SQLite an open write
    transaction would hold up every issuance): a batch is claimed in one short transaction,
    leased for CLAIM_LEASE so no other process sends it too; then each message is sent and its
    outcome recorded in a short transaction of its own, so a failure or a crash part-way
    leaves the messages before it recorded as sent. A crash between sending one and recording
    it sends that one again after the lease: at least once, never lost.

    `sender` is ISSUER_MAIL_FROM: an address, shown under the brand's name unless it names
    itself (`"St Example" <badges@example.org>`).
    """
    now = now or datetime.now(UTC)
    brand = transport.brand if isinstance(transport, Branded) else letters.UNBRANDED
    sent = 0
    for message in _claim(sessions, now, limit):
        error = _send(transport, sender, brand, message)
        with transaction(sessions) as session:
            _record(session, message, error, now)
        sent += error is None
    return sent


def _claim(sessions: sessionmaker[Session], now: datetime, limit: int) -> list[_Claimed]:
    with transaction(sessions) as session:
        due = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.dead_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for message in due:
            if message.attempts >= MAX_ATTEMPTS:
                # Its last attempt was claimed by a run that never recorded how it went.
                _give_up(message, message.last_error or "the last attempt was not recorded", now)
                continue
            message.attempts += 1
            message.next_attempt_at = now + CLAIM_LEASE
            claimed.append(
                _Claimed(
                    message.id,
                    message.attempts,
                    message.recipient,
                    message.subject,
                    message.body,
                    message.letter,
                )
            )
        return claimed


def _send(transport: Transport, sender: str, brand: Brand, message: _Claimed) -> str | None:
    """None once sent, else why not."""
    try:  # composed here, not in a transaction: composing is slow (~2 ms; a new badge ~0.2 s)
        email = letters.compose(
            sender=sender,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            letter=None if message.letter is None else Letter.from_json(message.letter),
            brand=brand,
        )
        transport.send(email)
    # Anything: the email package raises ValueError, AttributeError… for what it cannot
    # compose, transports raise their own; one bad message must not stop the batch.
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    return None


def _record(session: Session, claimed: _Claimed, error: str | None, now: datetime) -> None:
    if error is None:
        session.execute(_SENT, {"message_id": claimed.id, "now": now})
        return
    stored = session.get(OutboxMessage, claimed.id)
    if stored is None or stored.sent_at is not None or stored.dead_at is not None:
        return
    if claimed.attempts >= MAX_ATTEMPTS:
        _give_up(stored, error, now)
    else:
        stored.last_error = error
        stored.next_attempt_at = now + FIRST_RETRY * 2 ** (claimed.attempts - 1)


def _sent_statement() -> Update:
    """Record a message as sent and erase its secrets (`_erase_secrets`) in one UPDATE, with
    no SELECT of its texts first: each claim e-mail cost the worker a round trip and its whole
    row read back. Every right-hand side reads the row as it was. Built once, with the id and
    the time as parameters: building it per message cost the worker ~0.14 ms, and SQLAlchemy a
    walk of it for its cache key, of each claim e-mail's ~5 ms."""
    message = OutboxMessage
    now = bindparam("now", type_=message.sent_at.type)  # UTCDateTime, as the columns
    return (
        update(message)
        .where(
            message.id == bindparam("message_id"),
            message.sent_at.is_(None),
            message.dead_at.is_(None),
        )
        .values(
            sent_at=now,
            last_error=None,
            body=func.coalesce(message.redacted_body, message.body),
            redacted_body=None,
            secrets_erased_at=case(
                (message.redacted_body.is_not(None), now), else_=message.secrets_erased_at
            ),
            letter=func.coalesce(message.redacted_letter, message.letter),
            redacted_letter=None,
        )
        .execution_options(synchronize_session=False)
    )


_SENT = _sent_statement()


def _give_up(message: OutboxMessage, error: str, now: datetime) -> None:
    message.dead_at, message.last_error = now, error
    _erase_secrets(message, now)


def _erase_secrets(message: OutboxMessage, now: datetime) -> None:
    """Every stored part without its secrets: the text, and the letter the HTML is made of."""
    if message.redacted_body is not None:
        message.body, message.redacted_body = message.redacted_body, None
        message.secrets_erased_at = now
    if message.redacted_letter is not None:
        message.letter, message.redacted_letter = message.redacted_letter, None


def dead_letters(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    """Messages given up, most recent first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dead_at.is_not(None))
            .order_by(OutboxMessage.dead_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def count_dead_letters(session: Session) -> int:
    count = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dead_at.is_not(None))
    )
    return count or 0


def retry(
    session: Session, message_id: int, actor: User, now: datetime | None = None
) -> OutboxMessage:
    """Put a dead letter back in the queue for MAX_ATTEMPTS more tries (audited).

    Refused for a message whose one-time link or code was erased when it was given up: it
    would arrive with a placeholder instead. Whoever made it must make a new one (a claim
    mail: re-send the claim link from the credential list).
    """
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.dead_at is None:
        raise NotFound(f"no undeliverable message {message_id}")
    if message.secrets_erased_at is not None:
        raise Conflict(
            "its one-time link or code was erased when it was given up: send a new one "
            "(for a claim mail, re-send the claim link from the credential list)"
        )
    message.dead_at, message.attempts = None, 0
    message.next_attempt_at = now or datetime.now(UTC)
    audit.record(session, actor, "mail.retried", message.recipient, message_id=message.id)
    return message
