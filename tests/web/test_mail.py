"""Mail is queued with the issuance and delivered afterwards: a mail server that is down blocks
nothing and loses nothing. Tested against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import mail
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import OutboxMessage
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_world(db_settings: Settings) -> Iterator[tuple[World, Settings]]:
    settings = replace(
        db_settings, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False
    )
    with TestClient(create_app(settings)) as client:
        yield build_world(client, settings), settings


def queued(settings: Settings) -> list[OutboxMessage]:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        rows = list(session.query(OutboxMessage).order_by(OutboxMessage.id))
    engine.dispose()
    return rows


def test_smtp_down_then_back_delivers_the_claim_mail_once(
    smtp_world: tuple[World, Settings],
) -> None:
    world, settings = smtp_world
    world.confirm_all()
    issued = world.attest()  # the SMTP port is closed: issuance must not care
    assert issued.status_code == 201
    [message] = queued(settings)
    assert (
        message.sent_at is None
        and message.attempts == 1
        and "ConnectionRefusedError" in (message.last_error or "")
    )

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=settings.smtp_port)
    controller.start()
    try:
        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
        later = message.next_attempt_at
        assert (
            mail.deliver_due(
                sessions, settings.mail_transport(), sender=settings.mail_from, now=later
            )
            == 1
        )
        assert (
            mail.deliver_due(
                sessions, settings.mail_transport(), sender=settings.mail_from, now=later
            )
            == 0
        )
        engine.dispose()
    finally:
        controller.stop()
    [raw] = inbox.messages
    email = message_from_bytes(raw)
    assert email["To"] == "lee@example.org" and "Your badge" in email["Subject"]

    # The claim link: a GET shows a button and uses nothing; the POST signs in once.
    link = re.search(r"http://127\.0\.0\.1:8000(/claim/\S+)", email.get_payload())  # type: ignore[arg-type]
    assert link is not None
    for _ in range(2):
        assert world.client.get(link.group(1), headers={"accept": "text/html"}).status_code == 200
    world.client.cookies.clear()
    claimed = world.client.post(link.group(1), follow_redirects=False)
    assert (
        claimed.status_code == 303
        and claimed.headers["location"] == f"/credentials/{issued.json()['id']}"
    )
    assert "issuer_session" in claimed.cookies
    assert world.client.get("/api/whoami").json()["email"] == "lee@example.org"
    world.client.cookies.clear()
    assert world.client.post(link.group(1), follow_redirects=False).status_code == 404  # single use


def test_resend_queues_a_new_claim_mail(smtp_world: tuple[World, Settings]) -> None:
    world, settings = smtp_world
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    response = world.client.post(
        f"/api/credentials/{credential_id}/resend", headers=bearer(world.coordinator)
    )
    assert response.status_code == 202
    assert len(queued(settings)) == 2


def test_development_default_writes_eml_files(world: World, db_settings: Settings) -> None:
    world.confirm_all()
    assert world.attest().status_code == 201
    [eml] = list((db_settings.data_dir / "outbox").glob("*.eml"))
    assert "/claim/" in eml.read_text()
