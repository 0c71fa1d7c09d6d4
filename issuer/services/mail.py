"""Outgoing mail: queued in the database inside the use case's transaction, delivered
afterwards with retries and back-off, so a mail server that is down never blocks or rolls back
what caused the message (an issuance). Delivery goes through SMTP (`ISSUER_SMTP_*`) or, by
default in development, writes each message as an .eml file to `ISSUER_DATA_DIR/outbox/`.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer.files import write_atomic
from issuer.store.db import transaction
from issuer.store.models import OutboxMessage

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
# How long a claimed message is left to the process that claimed it before another may retry.
CLAIM_LEASE = timedelta(minutes=5)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxDirectory:
    """Development delivery: one .eml file per message."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        write_atomic(self.directory / f"{uuid.uuid4()}.eml", message.as_bytes(), mode=0o600)


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


def queue(
    session: Session, *, to: str, subject: str, body: str, now: datetime | None = None
) -> OutboxMessage:
    """Queue a message in the caller's transaction; it is sent only if that transaction commits."""
    now = now or datetime.now(UTC)
    message = OutboxMessage(
        recipient=to, subject=subject, body=body, created_at=now, next_attempt_at=now
    )
    session.add(message)
    return message


def deliver_due(
    sessions: sessionmaker[Session],
    transport: Transport,
    *,
    sender: str,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Send what is due; failures back off exponentially. Returns how many were sent.

    Three steps, so no transaction is open while the mail server is talked to (on SQLite an
    open write transaction would hold up every issuance): claim a batch in one short
    transaction, leasing it for CLAIM_LEASE so no other process sends it too; send; record the
    outcomes in one short transaction. A crash between sending and recording sends that mail
    again after the lease: at least once, never lost.
    """
    now = now or datetime.now(UTC)
    with transaction(sessions) as session:
        due = list(
            session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts < MAX_ATTEMPTS,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for message in due:
            message.attempts += 1
            message.next_attempt_at = now + CLAIM_LEASE
        claimed = [
            (message.id, message.attempts, (message.recipient, message.subject, message.body))
            for message in due
        ]
    if not claimed:
        return 0
    failures: dict[int, str] = {}
    for message_id, _attempts, (recipient, subject, body) in claimed:
        try:  # composed here, not in the transaction: composing is slow (~0.7 ms)
            transport.send(_email(sender, recipient, subject, body))
        except (OSError, smtplib.SMTPException) as error:
            failures[message_id] = f"{type(error).__name__}: {error}"[:500]
    with transaction(sessions) as session:
        for message_id, attempts, _content in claimed:
            stored = session.get(OutboxMessage, message_id)
            if stored is None:
                continue
            if message_id in failures:
                stored.last_error = failures[message_id]
                stored.next_attempt_at = now + FIRST_RETRY * 2 ** (attempts - 1)
            else:
                stored.sent_at, stored.last_error = now, None
    return len(claimed) - len(failures)


def _email(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = sender, recipient, subject
    email["Date"], email["Message-ID"] = formatdate(localtime=False), make_msgid()
    email.set_content(body)
    return email
