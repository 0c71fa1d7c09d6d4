"""The mail worker (issue 19, item 3): requests only queue mail; `issuer worker` composes and
delivers it, and `issuer serve` starts one beside the app."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from issuer.cli import app
from issuer.config import Settings
from issuer.services import mail
from issuer.services.letters import Letter
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import OutboxMessage
from issuer.web.app import create_app
from tests.web.helpers import build_world, free_port, serve


def queue_one(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        mail.queue(
            session,
            to="lee@example.org",
            subject="A message for the worker",
            letter=Letter(
                greeting="Hello Lee,",
                before=("This one goes by the mail worker.",),
                reason="You receive this e-mail because a test sent it.",
            ),
        )
    engine.dispose()


def pending(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        count = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
    engine.dispose()
    return int(count or 0)


def delivered(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "outbox").glob("*.eml"))


def test_the_worker_delivers_what_was_queued(
    db_settings: Settings, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
    queue_one(db_settings)
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1 message(s)" in result.output
    (message,) = delivered(db_settings)
    assert "This one goes by the mail worker." in message.read_text()
    assert pending(db_settings) == 0


def test_with_a_worker_the_app_only_queues(
    db_settings: Settings, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
    settings = replace(db_settings, mail_worker=True)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        world.confirm_all()
        assert world.attest().status_code == 201  # queues the claim e-mail
    assert delivered(settings) == [] and pending(settings) >= 1
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert pending(settings) == 0
    assert any("Your badge" in path.read_text() for path in delivered(settings))


def test_serve_starts_a_mail_worker_and_stops_it(db_settings: Settings) -> None:
    queue_one(db_settings)  # nothing will ask the app for anything: only a worker sends it
    server = serve(db_settings, free_port(), workers=1)
    try:
        for _ in range(150):  # 15 s at most
            if delivered(db_settings):
                break
            time.sleep(0.1)
        assert len(delivered(db_settings)) == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert pending(db_settings) == 0
