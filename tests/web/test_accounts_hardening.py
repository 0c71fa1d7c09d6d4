"""Sessions and accounts as an attacker found them (issue 15): each test failed before its fix.

A password change left other sessions signed in; `POST /api/users` with an existing e-mail
reset that person's password; `POST /login` took cross-site posts; a claim link opened a
session with every role of the person; `?done=` and `?error=` put attacker text in the app's
alerts; `login.failed` stored whatever was typed; a coordinator who is also a learner could
pick their own supervisor."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from issuer.config import Settings
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import AuditEvent
from tests.web.helpers import World, bearer

PASSWORD = "correct horse battery"  # the coordinator's (tests/web/helpers.py)
LEE = "learner-password-1"
HTML = {"accept": "text/html"}


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> tuple[str, str]:
    response = client.post("/api/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookie = response.cookies["issuer_session"]
    client.cookies.clear()
    return cookie, response.json()["csrf_token"]


def as_session(client: TestClient, cookie: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set("issuer_session", cookie)
    return client


def audit(settings: Settings, action: str) -> list[AuditEvent]:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        session.expunge_all()
    engine.dispose()
    return events


def test_a_password_change_ends_every_other_session(world: World) -> None:
    client = world.client
    first, _ = sign_in(client, "lee@example.org", LEE)
    second, csrf = sign_in(client, "lee@example.org", LEE)
    changed = as_session(client, second).post(
        "/account/password",
        data={"current": LEE, "new": "a brand new passphrase", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert as_session(client, second).get("/api/whoami").status_code == 200
    assert as_session(client, first).get("/api/whoami").status_code == 401
    client.cookies.clear()


def test_creating_an_existing_person_is_a_conflict_and_changes_nothing(
    world: World, db_settings: Settings
) -> None:
    taken = world.client.post(
        "/api/users",
        json={
            "email": "coord@example.org",
            "name": "Mallory",
            "roles": ["learner"],
            "password": "mallory's own password",
        },
        headers=bearer(world.coordinator),
    )
    assert taken.status_code == 409
    sign_in(world.client, "coord@example.org")  # the old password still works
    assert [e.subject for e in audit(db_settings, "user.created")].count("coord@example.org") == 1


def test_a_role_is_given_by_its_own_audited_action_never_to_oneself(
    world: World, db_settings: Settings
) -> None:
    headers = bearer(world.coordinator)
    given = world.client.post(
        f"/api/users/{world.learner_id}/roles", json={"role": "supervisor"}, headers=headers
    )
    assert given.status_code == 200 and "supervisor" in given.json()["roles"]
    [event] = audit(db_settings, "user.role_added")
    assert event.subject == "lee@example.org"
    me = world.client.get("/api/whoami", headers=headers).json()
    itself = world.client.post(
        f"/api/users/{me['id']}/roles", json={"role": "learner"}, headers=headers
    )
    assert itself.status_code == 403


def test_sign_in_refuses_a_cross_site_post(world: World) -> None:
    form = {"email": "lee@example.org", "password": LEE}
    evil = world.client.post(
        "/login", data=form, headers={"origin": "https://evil.example"}, follow_redirects=False
    )
    assert evil.status_code == 403
    api = world.client.post("/api/login", json=form, headers={"origin": "https://evil.example"})
    assert api.status_code == 403
    ours = world.client.post(
        "/login", data=form, headers={"origin": "http://testserver"}, follow_redirects=False
    )
    assert ours.status_code == 303
    world.client.cookies.clear()


def test_failed_sign_ins_record_the_address_and_never_raw_input(
    world: World, db_settings: Settings
) -> None:
    for typed in ("Lee@Example.org ", "my secret password 123"):
        world.client.post("/api/login", json={"email": typed, "password": "wrong one"})
    subjects = [(e.subject, e.detail) for e in audit(db_settings, "login.failed")]
    assert [subject for subject, _ in subjects] == [
        "lee@example.org",
        "(not an e-mail address)",
    ]
    assert all('"client"' in str(detail) or "client" in str(detail) for _, detail in subjects)
    assert not any("secret" in str(detail) for _, detail in subjects)


def test_a_claim_link_session_opens_only_the_learners_own_pages(
    world: World, db_settings: Settings
) -> None:
    """Lee is a learner and, here, a coordinator too: the claim link must not open the
    coordinator console, which Lee's password would."""
    headers = bearer(world.coordinator)
    made = world.client.post(
        f"/api/users/{world.learner_id}/roles", json={"role": "coordinator"}, headers=headers
    )
    assert made.status_code == 200
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    link = claim_link(db_settings)
    claimed = world.client.post(link, follow_redirects=False)
    assert claimed.status_code == 303
    assert world.client.get(f"/credentials/{credential_id}", headers=HTML).status_code == 200
    assert world.client.get("/learner", headers=HTML).status_code == 200
    console = world.client.get("/coordinator", headers=HTML, follow_redirects=False)
    assert console.status_code == 403
    assert "Coordinator" not in world.client.get("/learner", headers=HTML).text.split("<main")[0]
    world.client.cookies.clear()
    cookie, _ = sign_in(world.client, "lee@example.org", LEE)
    assert as_session(world.client, cookie).get("/coordinator").status_code == 200
    world.client.cookies.clear()


def claim_link(settings: Settings) -> str:
    messages = [
        message_from_bytes(eml.read_bytes(), policy=policy.default)
        for eml in (settings.data_dir / "outbox").iterdir()
    ]
    bodies = [str(m.get_body(("plain",)).get_content()) for m in messages]  # type: ignore[union-attr]
    found = [
        m for body in bodies for m in re.findall(r"http://127\.0\.0\.1:8000(/claim/\S+)", body)
    ]
    assert found, bodies
    return str(found[-1])


def test_messages_come_from_the_session_never_from_the_url(world: World) -> None:
    cookie, csrf = sign_in(world.client, "coord@example.org")
    client = as_session(world.client, cookie)
    forged = client.get("/coordinator?done=Your+account+is+locked,+call+555-0100", headers=HTML)
    assert "555-0100" not in forged.text
    assigned = client.post(
        "/coordinator/assignments",
        data={
            "learner_email": "lee@example.org",
            "supervisor_email": "sam@example.org",
            "soc": "29-2034.00",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    # The assignment form lives on the Enrolment page, and returns there.
    assert assigned.status_code == 303 and assigned.headers["location"] == "/coordinator/enrolment"
    done = "Done: supervisor assigned."
    assert done in client.get("/coordinator/enrolment", headers=HTML).text
    assert done not in client.get("/coordinator/enrolment", headers=HTML).text
    client.cookies.clear()


def test_a_coordinator_cannot_assign_their_own_supervisor(world: World) -> None:
    headers = bearer(world.coordinator)
    me = world.client.get("/api/whoami", headers=headers).json()
    other = _second_coordinator(world)
    world.client.post(
        f"/api/users/{me['id']}/roles", json={"role": "learner"}, headers=bearer(other)
    )
    mine = world.client.post(
        "/api/assignments",
        json={
            "learner_email": me["email"],
            "supervisor_email": "sam@example.org",
            "soc": "29-2034.00",
        },
        headers=headers,
    )
    assert mine.status_code == 403
    by_another = world.client.post(
        "/api/assignments",
        json={
            "learner_email": me["email"],
            "supervisor_email": "sam@example.org",
            "soc": "29-2034.00",
        },
        headers=bearer(other),
    )
    assert by_another.status_code == 201


def test_a_coordinator_cannot_assign_their_own_supervisor_through_the_form(
    world: World, db_settings: Settings
) -> None:
    """The Enrolment page's form (and a person's page, which posts the same form) refuses
    the coordinator's own learner record, as the API does; another coordinator's form works."""
    headers = bearer(world.coordinator)
    me = world.client.get("/api/whoami", headers=headers).json()
    other = _second_coordinator(world)
    made = world.client.post(
        f"/api/users/{me['id']}/roles", json={"role": "learner"}, headers=bearer(other)
    )
    assert made.status_code == 200
    form = {
        "learner_email": me["email"],
        "supervisor_email": "sam@example.org",
        "soc": "29-2034.00",
    }
    cookie, csrf = sign_in(world.client, me["email"])
    client = as_session(world.client, cookie)
    for extra in ({}, {"person": str(me["id"])}):
        refused = client.post(
            "/coordinator/assignments",
            data={**form, **extra, "csrf_token": csrf},
            headers=HTML,
            follow_redirects=False,
        )
        assert refused.status_code == 403, (extra, refused.status_code)
        assert "another coordinator must assign your own supervisor" in refused.text, extra
    client.cookies.clear()
    supervised = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor))
    assert [learner["email"] for learner in supervised.json()] == ["lee@example.org"]
    assert not [e for e in audit(db_settings, "assignment.created") if e.subject == me["email"]]

    cookie, csrf = sign_in(world.client, "casey2@example.org")
    by_another = as_session(world.client, cookie).post(
        "/coordinator/assignments",
        data={**form, "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    world.client.cookies.clear()
    assert by_another.status_code == 303, by_another.text
    supervised = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor))
    assert sorted(learner["email"] for learner in supervised.json()) == [
        me["email"],
        "lee@example.org",
    ]


def _second_coordinator(world: World) -> Any:
    created = world.client.post(
        "/api/users",
        json={
            "email": "casey2@example.org",
            "name": "Second Coordinator",
            "roles": ["coordinator"],
            "password": PASSWORD,
        },
        headers=bearer(world.coordinator),
    )
    assert created.status_code == 201
    response = world.client.post(
        "/api/login", json={"email": "casey2@example.org", "password": PASSWORD}
    )
    world.client.cookies.clear()
    assert response.status_code == 200
    from issuer.services import accounts  # a bearer token for the second coordinator

    engine = make_engine(world.client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with transaction(session_factory(engine)) as session:
        token = accounts.create_token(
            session, accounts.user_by_email(session, "casey2@example.org")
        )
    engine.dispose()
    return token


def test_sign_in_never_sends_anyone_off_the_site(world: World) -> None:
    """Browsers read `/\\evil.example` as `//evil.example`: another site."""
    for next_url in ("/\\evil.example", "//evil.example", "https://evil.example/", "/ok\x00"):
        signed_in = world.client.post(
            "/login",
            data={"email": "lee@example.org", "password": LEE, "next": next_url},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/learner", next_url
        world.client.cookies.clear()
