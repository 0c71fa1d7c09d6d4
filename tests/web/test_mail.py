"""Mail is queued with the issuance and delivered afterwards: a mail server that is down blocks
nothing and loses nothing. Tested against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import update

from issuer.config import Settings
from issuer.services import mail
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import OutboxMessage
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world, free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


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


def test_no_transaction_is_open_while_the_mail_server_is_talked_to(
    world: World, db_settings: Settings
) -> None:
    """A slow mail server must not hold up issuances: while a message is being sent, another
    writer gets the SQLite write lock at once (the send happens between two transactions)."""
    if not db_settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not share one lock")
    world.confirm_all()
    assert world.attest().status_code == 201
    path = db_settings.database_url.removeprefix("sqlite:///")
    writers_waited: list[bool] = []

    class SlowServer:
        def send(self, message: EmailMessage) -> None:
            other = sqlite3.connect(path, timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                writers_waited.append(False)
            except sqlite3.OperationalError:  # database is locked
                writers_waited.append(True)
            finally:
                other.close()

    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:  # due again (the app sent it)
        session.execute(
            update(OutboxMessage).values(
                sent_at=None, attempts=0, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
    sent = mail.deliver_due(session_factory(engine), SlowServer(), sender="badges@example.org")
    engine.dispose()
    assert sent == 1 and writers_waited == [False]
    [message] = queued(db_settings)
    assert message.sent_at is not None and message.attempts == 1


def test_mail_queued_while_a_delivery_runs_goes_out_without_another_request(
    db_settings: Settings,
) -> None:
    """The claim mail of an attestation made while another request's delivery is sending (and
    so skipped its own run) is sent when that run finishes, not left for a later request."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    from tests.load.test_concurrency import prepare
    from tests.web.helpers import LEVEL, SOC

    token, (first, second) = prepare(db_settings, 2)

    class GatedServer:
        """A mail server that holds the first message until told to go on."""

        def __init__(self) -> None:
            self.sending, self.go_on = Event(), Event()
            self.recipients: list[str] = []

        def send(self, message: EmailMessage) -> None:
            self.sending.set()
            assert self.go_on.wait(30)
            self.recipients.append(str(message["To"]))

    server = GatedServer()
    with TestClient(create_app(db_settings)) as client, ThreadPoolExecutor(1) as pool:
        client.app.state.mail_transport = server  # type: ignore[attr-defined]

        def attest(learner_id: int) -> int:
            return client.post(
                f"/api/supervisor/learners/{learner_id}/attestations",
                json={"soc": SOC, "level": LEVEL},
                headers=bearer(token),
            ).status_code

        held = pool.submit(attest, first)  # its delivery sends, and waits at the server
        assert server.sending.wait(30)
        assert attest(second) == 201  # its own delivery is skipped: one is under way
        server.go_on.set()
        assert held.result(timeout=60) == 201
    assert sorted(server.recipients) == ["l0@example.org", "l1@example.org"]
    assert all(message.sent_at is not None for message in queued(db_settings))
