"""Mail is queued with the issuance and delivered afterwards: a mail server that is down blocks
nothing and loses nothing. Tested against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from issuer.cli import app as cli
from issuer.config import Settings
from issuer.errors import InvalidInput
from issuer.services import mail
from issuer.services.letters import Action, Code, Letter
from issuer.store import migrate
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
        db_settings,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_starttls=False,
        mail_from=SENDER,
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
    email = message_from_bytes(raw, policy=policy.default)
    assert email["To"] == "lee@example.org" and "Your badge" in email["Subject"]

    # The claim link: a GET shows a button and uses nothing; the POST signs in once.
    link = re.search(r"http://127\.0\.0\.1:8000(/claim/\S+)", text_part(email))
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


# ── one message never holds up or re-sends another; dead letters; erased secrets ──

SENDER = "badges@example.org"
LINK = "http://127.0.0.1:8000/claim/s3cr3t-Claim_Token"
CODE = "042917"


class Server:
    """A mail server that refuses the messages to some recipients and keeps the rest."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.sent: list[EmailMessage] = []
        self.attempts: list[str] = []

    def send(self, message: EmailMessage) -> None:
        self.attempts.append(str(message["To"]))
        if str(message["To"]) in self.refused:
            raise RuntimeError("refused by the test's server")
        self.sent.append(message)

    def recipients(self) -> Counter[str]:
        return Counter(str(m["To"]) for m in self.sent)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def text_part(email: Any) -> str:
    """The text/plain alternative of a message parsed with the default policy."""
    return str(email.get_body(("plain",)).get_content())


def a_letter(*paragraphs: str, **fields: Any) -> Letter:
    return Letter(greeting="Hello,", before=paragraphs, reason="A test.", **fields)


def enqueue(sessions: sessionmaker[Session], *recipients: str, **fields: Any) -> list[int]:
    with transaction(sessions) as session:
        messages = [
            mail.queue(session, to=to, **{"subject": "Your badge", "letter": a_letter(), **fields})
            for to in recipients
        ]
        session.flush()
        return [m.id for m in messages]


def stored(sessions: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with transaction(sessions) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def nearly_given_up(sessions: sessionmaker[Session], message_id: int) -> None:
    """One attempt left (instead of failing MAX_ATTEMPTS - 1 times first)."""
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=mail.MAX_ATTEMPTS - 1)
        )


def test_a_message_failing_mid_batch_neither_stops_nor_resends_the_others(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime.now(UTC)
    recipients = [f"m{n}@example.org" for n in range(5)]
    enqueue(sessions, *recipients, now=now)
    server = Server("m2@example.org")
    assert mail.deliver_due(sessions, server, sender=SENDER, now=now) == 4
    for later in (now + mail.FIRST_RETRY, now + timedelta(hours=1)):
        assert mail.deliver_due(sessions, server, sender=SENDER, now=later) == 0
    server.refused.clear()
    assert mail.deliver_due(sessions, server, sender=SENDER, now=now + timedelta(days=1)) == 1
    assert server.recipients() == Counter(recipients)  # each exactly once
    assert server.attempts.count("m2@example.org") == 4


def test_a_message_that_cannot_be_composed_fails_alone(sessions: sessionmaker[Session]) -> None:
    """A framework title with CR/LF once made composing raise and abort the whole batch."""
    now = datetime.now(UTC)
    [first] = enqueue(sessions, "m0@example.org", now=now)
    [unparsable] = enqueue(sessions, "a@[1.2.3", now=now)  # the email package: AttributeError
    enqueue(sessions, "m2@example.org", subject="Your badge: X\r\nBcc: evil@example.org", now=now)
    enqueue(sessions, "m3@example.org", subject="Your badge: \x85Y\u2028\x1c\tZ", now=now)
    server = Server()
    assert mail.deliver_due(sessions, server, sender=SENDER, now=now) == 3
    _, injected, controls = server.sent
    assert stored(sessions, first).sent_at is not None
    failed = stored(sessions, unparsable)
    assert failed.sent_at is None and failed.dead_at is None and failed.attempts == 1
    assert (failed.last_error or "").startswith("AttributeError")
    assert injected["Subject"] == "Your badge: X  Bcc: evil@example.org"
    assert injected["Bcc"] is None and b"\nBcc:" not in injected.as_bytes()
    assert controls["Subject"] == "Your badge:  Y   Z"


def test_a_message_failing_every_attempt_is_given_up(sessions: sessionmaker[Session]) -> None:
    [message_id] = enqueue(sessions, "gone@example.org")
    server = Server("gone@example.org")
    for _ in range(mail.MAX_ATTEMPTS):
        due = stored(sessions, message_id).next_attempt_at
        assert mail.deliver_due(sessions, server, sender=SENDER, now=due) == 0
    message = stored(sessions, message_id)
    assert message.dead_at is not None and message.attempts == mail.MAX_ATTEMPTS
    assert message.last_error == "RuntimeError: refused by the test's server"
    far = datetime.now(UTC) + timedelta(days=365)
    assert mail.deliver_due(sessions, server, sender=SENDER, now=far) == 0
    assert len(server.attempts) == mail.MAX_ATTEMPTS


def test_a_last_attempt_whose_outcome_was_lost_is_given_up(
    sessions: sessionmaker[Session],
) -> None:
    """A crash after claiming the last attempt: once the lease ends it is a dead letter, not a
    message pending for ever where nobody sees it."""
    [message_id] = enqueue(sessions, "lost@example.org")
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=mail.MAX_ATTEMPTS, next_attempt_at=now - timedelta(seconds=1))
        )
    server = Server()
    assert mail.deliver_due(sessions, server, sender=SENDER, now=now) == 0
    message = stored(sessions, message_id)
    assert server.attempts == [] and message.dead_at == now
    assert message.last_error == "the last attempt was not recorded"


def columns(sessions: sessionmaker[Session], message_id: int) -> str:
    """Every column of the stored row, as text."""
    with transaction(sessions) as session:
        row = session.execute(
            text("SELECT * FROM outbox_messages WHERE id = :id"), {"id": message_id}
        ).one()
    return "\n".join(str(value) for value in row)


def test_secrets_are_erased_once_delivered(sessions: sessionmaker[Session]) -> None:
    with_secrets = a_letter(
        action=Action("Open it", LINK), code=Code("Enter this code when your wallet asks", CODE)
    )
    [message_id] = enqueue(sessions, "lee@example.org", letter=with_secrets, secrets=[LINK, CODE])
    assert LINK in columns(sessions, message_id)  # needed until it goes
    server = Server()
    assert mail.deliver_due(sessions, server, sender=SENDER) == 1
    [sent] = server.sent
    assert LINK in text_part(sent) and CODE in text_part(sent)
    after = columns(sessions, message_id)
    assert "s3cr3t-Claim_Token" not in after and CODE not in after
    message = stored(sessions, message_id)
    assert message.body == (
        f"Hello,\n\nEnter this code when your wallet asks: {mail.REDACTED}\n\n"
        f"Open it:\n{mail.REDACTED}\n\n-- \nA test.\n"
    )
    assert message.redacted_body is None and message.secrets_erased_at == message.sent_at


def test_secrets_are_erased_when_a_message_is_given_up(sessions: sessionmaker[Session]) -> None:
    [message_id] = enqueue(
        sessions,
        "gone@example.org",
        letter=a_letter(action=Action("Open it", LINK)),
        secrets=[LINK],
    )
    nearly_given_up(sessions, message_id)
    assert mail.deliver_due(sessions, Server("gone@example.org"), sender=SENDER) == 0
    assert stored(sessions, message_id).dead_at is not None
    assert "s3cr3t-Claim_Token" not in columns(sessions, message_id)


def test_queue_refuses_secrets_it_could_not_erase(sessions: sessionmaker[Session]) -> None:
    for subject, secrets in (
        ("Your badge", [""]),
        ("Your badge", ["not-in-the-letter"]),
        (f"Your code {CODE}", [CODE]),
    ):
        with pytest.raises(InvalidInput):
            enqueue(
                sessions, "lee@example.org", subject=subject, letter=a_letter(CODE), secrets=secrets
            )


def test_a_long_subject_is_cut_to_fit_rather_than_failing_the_issuance(
    sessions: sessionmaker[Session],
) -> None:
    [message_id] = enqueue(sessions, "lee@example.org", subject="Your badge: " + "x" * 400)
    assert len(stored(sessions, message_id).subject) == mail.SUBJECT_LENGTH


def test_coordinators_see_dead_letters_and_put_one_back(
    world: World, db_settings: Settings
) -> None:
    engine = make_engine(db_settings.database_url)
    sessions = session_factory(engine)
    [message_id] = enqueue(sessions, "gone@example.org", letter=a_letter("Welcome"))
    nearly_given_up(sessions, message_id)
    assert mail.deliver_due(sessions, Server("gone@example.org"), sender=SENDER) == 0
    coordinator = bearer(world.coordinator)

    listed = world.client.get("/api/mail/dead-letters", headers=coordinator)
    assert listed.status_code == 200
    [letter] = listed.json()
    assert {k: letter[k] for k in ("id", "recipient", "subject", "attempts", "last_error")} == {
        "id": message_id,
        "recipient": "gone@example.org",
        "subject": "Your badge",
        "attempts": mail.MAX_ATTEMPTS,
        "last_error": "RuntimeError: refused by the test's server",
    }
    assert letter["created"] and letter["given_up"] and letter["retryable"] is True
    assert (
        world.client.get("/api/mail/dead-letters", headers=bearer(world.supervisor)).status_code
        == 403
    )

    signed_in = world.client.post(
        "/api/login", json={"email": "coord@example.org", "password": "correct horse battery"}
    )
    csrf = signed_in.json()["csrf_token"]
    page = world.client.get("/coordinator/mail", headers={"accept": "text/html"})
    assert page.status_code == 200 and "gone@example.org" in page.text
    assert f'action="/coordinator/mail/{message_id}/retry"' in page.text
    path = f"/coordinator/mail/{message_id}/retry"
    assert world.client.post(path, headers={"accept": "text/html"}).status_code == 403  # no CSRF
    retried = world.client.post(path, data={"csrf_token": csrf}, follow_redirects=False)
    assert retried.status_code == 303 and retried.headers["location"] == "/coordinator/mail"
    shown = world.client.get("/coordinator/mail").text
    assert "Done: message queued again." in shown
    world.client.cookies.clear()

    # Back in the queue, and sent by the delivery that follows the request.
    message = stored(sessions, message_id)
    engine.dispose()
    assert message.dead_at is None and message.sent_at is not None and message.attempts == 1
    assert any(
        "gone@example.org" in eml.read_text()
        for eml in (db_settings.data_dir / "outbox").glob("*.eml")
    )
    [event] = world.client.get(
        "/api/audit", params={"action": "mail.retried"}, headers=coordinator
    ).json()
    assert event["actor"] == "coord@example.org" and event["subject"] == "gone@example.org"
    assert event["detail"] == {"message_id": message_id}
    assert world.client.get("/api/mail/dead-letters", headers=coordinator).json() == []
    again = world.client.post(f"/api/mail/dead-letters/{message_id}/retry", headers=coordinator)
    assert again.status_code == 404


def test_a_dead_letter_whose_link_was_erased_is_not_sent_again(
    world: World, db_settings: Settings
) -> None:
    """It would reach the learner with a placeholder for the link: a new claim mail is needed."""
    engine = make_engine(db_settings.database_url)
    sessions = session_factory(engine)
    [message_id] = enqueue(
        sessions,
        "gone@example.org",
        letter=a_letter(action=Action("Open it", LINK)),
        secrets=[LINK],
    )
    nearly_given_up(sessions, message_id)
    mail.deliver_due(sessions, Server("gone@example.org"), sender=SENDER)
    engine.dispose()
    coordinator = bearer(world.coordinator)
    [letter] = world.client.get("/api/mail/dead-letters", headers=coordinator).json()
    assert letter["retryable"] is False
    refused = world.client.post(f"/api/mail/dead-letters/{message_id}/retry", headers=coordinator)
    assert refused.status_code == 409 and "re-send the claim link" in refused.json()["detail"]


def test_mail_deliver_counts_the_messages_given_up(settings: Settings, runner: CliRunner) -> None:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    [message_id] = enqueue(sessions, "gone@example.org")
    nearly_given_up(sessions, message_id)
    mail.deliver_due(sessions, Server("gone@example.org"), sender=SENDER)
    engine.dispose()
    result = runner.invoke(cli, ["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 0 message(s)" in result.stdout
    assert "1 message(s) given up: see /coordinator/mail" in result.stderr


def test_the_upgrade_erases_the_secrets_of_mail_queued_before_it(database_url: str) -> None:
    """Rows from before revision 0009 carry no list of their secrets: the claim and wallet-code
    mails are recognised by their wording, erased if sent, erasable once sent if pending."""
    engine = make_engine(database_url)
    config = migrate.alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0009").down_revision
    sent_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=1)
    rows = {
        1: (f"Open it:\n{LINK}\n\nFrom there…\n", sent_at),
        2: (f"Enter this code when your wallet asks: {CODE}\n\nIt works once.\n", None),
        3: ("Nothing secret here.\n", sent_at),
    }
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, str(before))
        for message_id, (body, sent) in rows.items():
            connection.execute(
                text(
                    "INSERT INTO outbox_messages (id, recipient, subject, body, created_at,"
                    " attempts, next_attempt_at, sent_at) VALUES (:id, 'lee@example.org',"
                    " 'Your badge', :body, :at, 1, :at, :sent)"
                ),
                {"id": message_id, "body": body, "at": sent_at, "sent": sent},
            )
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    claim, code, plain = (stored(sessions, n) for n in rows)
    assert claim.body == f"Open it:\nhttp://127.0.0.1:8000/claim/{mail.REDACTED}\n\nFrom there…\n"
    assert claim.secrets_erased_at == claim.sent_at
    assert CODE in code.body and code.redacted_body is not None and CODE not in code.redacted_body
    assert plain.body == rows[3][0] and plain.secrets_erased_at is None
    assert mail.deliver_due(sessions, Server(), sender=SENDER) == 1
    assert CODE not in columns(sessions, 2)
    engine.dispose()


def test_migration_0013_goes_up_and_down_and_mail_from_before_it_goes_as_text(
    database_url: str,
) -> None:
    """0013 adds the letter beside the text: rows queued before it have none and are sent as
    the plain text they were; a downgrade drops the letters and keeps every text whole."""
    engine = make_engine(database_url)
    config = migrate.alembic_config(database_url)
    at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def step(move: Any, revision: str, *rows: tuple[int, str]) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            move(config, revision)
            for message_id, body in rows:
                connection.execute(
                    text(
                        "INSERT INTO outbox_messages (id, recipient, subject, body, created_at,"
                        " attempts, next_attempt_at) VALUES (:id, 'lee@example.org',"
                        " 'Your badge', :body, :at, 0, :at)"
                    ),
                    {"id": message_id, "body": body, "at": at},
                )

    def outbox_columns() -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns("outbox_messages")}

    step(command.upgrade, "0012", (1, "Queued before 0013.\n"))
    assert "letter" not in outbox_columns()
    step(command.upgrade, "0013")
    assert {"letter", "redacted_letter"} <= outbox_columns()
    with engine.begin() as connection:
        assert connection.execute(text("SELECT letter FROM outbox_messages")).scalar() is None
        connection.execute(
            text("UPDATE outbox_messages SET letter = :letter, redacted_letter = :letter"),
            {"letter": a_letter("Queued before 0013.").to_json()},
        )
    step(command.downgrade, "0012")
    assert not {"letter", "redacted_letter"} & outbox_columns()
    migrate.upgrade(engine)
    assert {"letter", "redacted_letter"} <= outbox_columns()
    sessions = session_factory(engine)
    assert (
        stored(sessions, 1).letter is None and stored(sessions, 1).body == "Queued before 0013.\n"
    )
    server = Server()
    assert mail.deliver_due(sessions, server, sender=SENDER) == 1
    engine.dispose()
    [message] = server.sent
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert message.get_content() == "Queued before 0013.\nSent by Open Badges issuer.\n"
    assert message["From"].addresses[0].addr_spec == SENDER
