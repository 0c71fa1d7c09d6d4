"""Limits declared once (issuer/limits.py), enforced at the edge, on SQLite and PostgreSQL.

The attacker's cases (issue 15): a ~290-character framework title made every later attestation
a 500 on PostgreSQL (the claim e-mail's subject, "Your badge: {title}: {label}", overflowed
`outbox_messages.subject`); 20 MB to the unauthenticated `POST /verify` took 3 s and 160 MB.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from issuer import limits
from issuer.config import Settings
from issuer.errors import InvalidInput
from issuer.services import accounts, signoff
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import OutboxMessage
from issuer.web.app import create_app
from issuer.web.limits import UPLOAD_PATHS
from tests.conftest import framework_document
from tests.web.helpers import LEVEL, SOC, World, bearer

HTML = {"accept": "text/html"}
MB = 1_000_000
NEW_SOC = "29-2099.00"


def import_framework(world: World, title: str, label: str = "Emerging") -> Any:
    document = framework_document()
    document["occupation"].update(soc=NEW_SOC, title=title)
    document["framework"]["levels"] = {
        "emerging": {**document["framework"]["levels"]["emerging"], "label": label}
    }
    return world.client.post(
        "/api/frameworks",
        content=json.dumps(document).encode(),
        headers=bearer(world.coordinator),
    )


def test_a_framework_title_over_its_limit_is_refused_with_its_path(world: World) -> None:
    response = import_framework(world, "T" * 290)
    assert response.status_code == 422
    assert "$.occupation.title: is longer than 200 characters" in response.json()["detail"]
    label = import_framework(world, "Sonographers", label="L" * (limits.LEVEL_LABEL + 1))
    assert label.status_code == 422
    assert "$.framework.levels.emerging.label" in label.json()["detail"]


@pytest.mark.parametrize(
    "text",
    ["Line one\nline two", "Carriage\rreturn", "Tab\there", "NEL\x85", "Sono\u202egraphers"],
)
def test_a_framework_title_or_level_name_on_several_lines_is_refused(
    world: World, text: str
) -> None:
    for title, label in ((text, "Emerging"), ("Sonographers", text)):
        response = import_framework(world, title, label)
        assert response.status_code == 422
        assert "line break or another control character" in response.json()["detail"]


def test_every_attestation_of_the_longest_framework_succeeds(
    world: World, db_settings: Settings
) -> None:
    """The longest title and label allowed: the claim e-mail's subject is stored whole."""
    title, label = "T" * limits.FRAMEWORK_TITLE, "L" * limits.LEVEL_LABEL
    assert import_framework(world, title, label).status_code == 201
    assigned = world.client.post(
        "/api/assignments",
        headers=bearer(world.coordinator),
        json={
            "learner_email": "lee@example.org",
            "supervisor_email": "sam@example.org",
            "soc": NEW_SOC,
        },
    )
    assert assigned.status_code == 201, assigned.text
    for statement in range(1, 11):
        confirmed = world.confirm(statement, soc=NEW_SOC, level="emerging")
        assert confirmed.status_code == 201, confirmed.text
    attested = world.client.post(
        f"/api/supervisor/learners/{world.learner_id}/attestations",
        json={"soc": NEW_SOC, "level": "emerging"},
        headers=bearer(world.supervisor),
    )
    assert attested.status_code == 201, attested.text
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        subjects = list(session.scalars(select(OutboxMessage.subject)))
    engine.dispose()
    assert subjects == [f"Your badge: {title}: {label}"]
    assert len(subjects[0]) <= limits.MAIL_SUBJECT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.org", "name": "N" * 201, "roles": ["learner"]}, "name"),
        ({"email": "x@example.org", "name": "Ann\nBcc: x", "roles": ["learner"]}, "name"),
        ({"email": f"{'x' * 320}@example.org", "name": "Ann", "roles": ["learner"]}, "email"),
    ],
)
def test_the_api_refuses_an_over_long_or_multi_line_person_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    response = world.client.post("/api/users", json=body, headers=bearer(world.coordinator))
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]


def test_a_setting_is_one_line_and_a_note_may_have_several(world: World) -> None:
    refused = world.confirm(1, setting="Ward 3\nand more")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "setting"]
    too_long = world.confirm(1, setting="S" * (limits.SETTING + 1))
    assert too_long.status_code == 422
    assert world.confirm(1, note="First line.\nSecond line.").status_code == 201


def test_the_sign_off_service_checks_what_page_forms_send(
    world: World, db_settings: Settings
) -> None:
    """The page forms accept up to 2,000 characters; the service holds the column's limit."""
    engine = make_engine(db_settings.database_url)
    for setting, note, problem in (
        ("S" * (limits.SETTING + 1), "", "the setting is longer than 300 characters"),
        ("Ward\r\n3", "", "the setting contains a line break"),
        ("Ward 3", "N" * (limits.NOTE + 1), "the note is longer than 2000 characters"),
        ("Ward 3", "bell\x07", "the note contains a control character"),
    ):
        with pytest.raises(InvalidInput, match=problem):
            with transaction(session_factory(engine)) as session:
                signoff.confirm_statement(
                    session,
                    accounts.user_by_email(session, "sam@example.org"),
                    learner_id=world.learner_id,
                    soc=SOC,
                    level=LEVEL,
                    statement=1,
                    observed_on=date(2026, 11, 2),
                    method="simulation",
                    setting=setting,
                    note=note,
                )
    engine.dispose()


# ── request bodies ──


@dataclass
class Upload:
    """A client sending `size` bytes in chunks, made as they are asked for (never held)."""

    size: int
    prefix: bytes = b""
    chunk: int = 64 * 1024
    sent: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        if self.sent >= self.size:
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}
        part = min(self.chunk, self.size - self.sent)
        body = (self.prefix if self.sent == 0 else b"") + b"x" * part
        self.sent += part
        return {"type": "http.request", "body": body, "more_body": self.sent < self.size}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def post(
    app: FastAPI, path: str, upload: Upload, *, declared: bool, headers: dict[str, str]
) -> int:
    """Drive the app as the server would; returns the peak memory the request took."""
    raw = [(k.encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()]
    if declared:
        raw.append((b"content-length", str(upload.size).encode()))
    else:
        raw.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    tracemalloc.start()
    try:
        asyncio.run(app(scope, upload.receive, upload.send))  # type: ignore[arg-type]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# A file part of the verify form, as a browser sends it: the rest of the body is the file.
FILE_PART = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.json"\r\n'
    b"Content-Type: application/json\r\n\r\n"
)
# The unauthenticated verify endpoints, each body as its clients send it: (path, type, start).
VERIFIERS = {
    "pasted": ("/verify", "application/x-www-form-urlencoded", b"credential="),
    "file": ("/verify", "multipart/form-data; boundary=b", FILE_PART),
    "credential": ("/credentials/verify", "application/json", b""),
    "presentation": ("/presentations/verify", "application/json", b""),
}


@pytest.mark.parametrize("case", VERIFIERS)
def test_twenty_megabytes_to_a_verify_endpoint_are_refused_unread(
    client: TestClient, case: str
) -> None:
    path, content_type, start = VERIFIERS[case]
    upload = Upload(20 * MB, prefix=start)
    post(client.app, path, upload, declared=True, headers={"content-type": content_type})  # type: ignore[arg-type]
    assert upload.status == 413 and upload.sent == 0
    assert json.loads(upload.body) == {"detail": "the request body is larger than 1,048,576 bytes"}
    headers = dict(upload.messages[0]["headers"])
    assert headers[b"connection"] == b"close" and b"content-security-policy" in headers


@pytest.mark.parametrize("case", VERIFIERS)
def test_a_chunked_body_is_cut_off_at_the_cap(client: TestClient, case: str) -> None:
    """Without the cap, 20 MB of JSON to the VC-API took a 40 MB peak here."""
    path, content_type, start = VERIFIERS[case]
    upload = Upload(20 * MB, prefix=start)
    peak = post(client.app, path, upload, declared=False, headers={"content-type": content_type})  # type: ignore[arg-type]
    assert upload.status == 413
    assert upload.sent <= 1_048_576 + upload.chunk
    assert peak < 4 * MB, f"the request took {peak:,} bytes"


def test_browsers_get_the_error_page(client: TestClient) -> None:
    path, content_type, start = VERIFIERS["file"]
    for declared in (True, False):
        upload = Upload(2 * MB, prefix=start)
        headers = {"content-type": content_type, **HTML}
        post(client.app, path, upload, declared=declared, headers=headers)  # type: ignore[arg-type]
        assert upload.status == 413
        assert b"larger than 1,048,576 bytes" in upload.body and b"<!doctype html>" in upload.body


def test_uploads_have_their_own_cap_and_the_file_its_own_limit(world: World) -> None:
    def upload(path: str, size: int) -> Any:
        body = b'{"x": "' + b"x" * (size - 10) + b'"}'
        return world.client.post(path, content=body, headers=bearer(world.coordinator))

    framework = upload("/api/frameworks", 2 * MB)
    assert framework.status_code == 422, framework.text
    assert "larger than 1000000 bytes" in framework.json()["detail"]
    enrolment = upload("/api/enrolments", 6 * MB)
    assert enrolment.status_code == 422, enrolment.text
    assert "larger than 5000000 bytes" in enrolment.json()["detail"]
    too_large = upload("/api/enrolments", 11 * MB)
    assert too_large.status_code == 413
    assert too_large.json() == {"detail": "the request body is larger than 10,000,000 bytes"}


def test_the_caps_are_settings(settings: Settings) -> None:
    from tests.conftest import prepare_database

    prepare_database(settings)
    small = TestClient(create_app(replace(settings, max_body_bytes=1000, max_upload_bytes=2000)))
    assert small.post("/credentials/verify", content=b"{" + b" " * 1000 + b"}").status_code == 413
    assert small.post("/api/frameworks", content=b" " * 1500).status_code == 401  # not signed in
    assert small.post("/api/frameworks", content=b" " * 2001).status_code == 413
    with pytest.raises(ValueError, match="must be positive"):
        Settings.from_env({"ISSUER_MAX_BODY_BYTES": "0"})


def test_every_upload_path_is_a_route_of_the_app(client: TestClient) -> None:
    """The caps go by path: a renamed upload route must not fall back to the 1 MiB cap."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert all("post" in paths.get(path, {}) for path in UPLOAD_PATHS)


def test_the_migration_stops_rather_than_cut_a_stored_title(database_url: str) -> None:
    """0010 shrinks frameworks.title to 200: a longer one stored before (SQLite never enforced
    300 either) stops the upgrade, naming the column, and nothing changes."""
    from alembic import command
    from sqlalchemy import text

    from issuer.store import migrate

    engine = make_engine(database_url)
    try:
        config = migrate.alembic_config(database_url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0009")
            connection.execute(
                text(
                    "INSERT INTO frameworks (soc, title, version, source, imported_at) "
                    "VALUES ('29-2099.00', :title, '1', '{}', CURRENT_TIMESTAMP)"
                ),
                {"title": "T" * 250},
            )
        with pytest.raises(RuntimeError, match=r"frameworks\.title: 1 longer than 200"):
            migrate.upgrade(engine)
        assert migrate.current_revision(engine) == "0009"
    finally:
        engine.dispose()


def test_a_value_no_database_column_takes_is_never_a_server_error(world: World) -> None:
    """A NUL character reaches PostgreSQL from a query string or a form the services do not
    check; PostgreSQL refuses it (SQLite takes it), and that is the request's fault: 422."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    for response in (
        client.get("/credentials/%00"),
        client.get("/api/audit?action=%00", headers=bearer(world.coordinator)),
        client.post("/login", data={"email": "a\x00@example.org", "password": "x"}, headers=HTML),
    ):
        assert response.status_code < 500, response.text
        if response.status_code == 422:
            assert "NUL character" in response.text


def test_an_upload_is_not_read_before_its_sender_is_known(client: TestClient) -> None:
    """The upload routes take up to ISSUER_MAX_UPLOAD_BYTES; a stranger (or a forged session)
    is answered before the app reads a byte of the body."""
    for path, headers, status in (
        ("/api/frameworks", {"content-type": "application/json"}, 401),
        ("/api/enrolments", {"authorization": "Bearer iss_forged"}, 401),
        (
            "/coordinator/frameworks",
            {"content-type": "multipart/form-data; boundary=b", "cookie": "issuer_session=x"},
            303,
        ),
    ):
        upload = Upload(5 * MB)
        post(client.app, path, upload, declared=True, headers=headers)  # type: ignore[arg-type]
        assert (upload.status, upload.sent) == (status, 0), path
