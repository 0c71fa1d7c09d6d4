"""Outgoing mail. For now every message is written as an .eml file to the outbox directory
(`ISSUER_DATA_DIR/outbox`, the development default); SMTP delivery with a queue and retries
comes with the web app's e-mail work."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from issuer.files import write_atomic


def write_outbox(outbox: Path, *, sender: str, to: str, subject: str, body: str) -> Path:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid()
    message.set_content(body)
    path = outbox / f"{uuid.uuid4()}.eml"
    write_atomic(path, message.as_bytes(), mode=0o600)
    return path
