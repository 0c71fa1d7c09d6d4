"""Invitations, password resets and learners' sign-in links, as people use them (issue 16).

A supervisor added from the console could never sign in; a learner who signed out after the
claim link was locked out. Every way in here is a link we e-mail: read from the development
outbox (.eml files), followed as a browser would, spent once, refused when used or expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.services import account_links, accounts
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import AuditEvent, User, WebSession
from issuer.web.app import create_app
from tests.web.helpers import World, bearer
from tests.web.test_single_use import RACERS, race

BASE = "http://127.0.0.1:8000"
HTML = {"accept": "text/html"}
GOOD = "wintry orchard lanterns"
SAME_ANSWER = "If an account exists for that address, we have sent it a link"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str

    def link(self, path: str) -> str:
        """The path (under BASE) of the one link to `path` in this message."""
        [found] = re.findall(rf"{re.escape(BASE)}({re.escape(path)}\S+)", self.body)
        return str(found)


def outbox(settings: Settings, to: str | None = None) -> list[Mail]:
    """Every message the development transport wrote, oldest first (optionally to one address)."""
    directory = settings.data_dir / "outbox"
    files = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    mails = []
    for eml in files:
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        text = message.get_body(("plain",))  # the HTML alternative says the same
        assert text is not None
        mails.append(Mail(message["To"], message["Subject"], str(text.get_content())))
    return [m for m in mails if to is None or m.to == to]


class Database:
    """Look-ups and set-ups through the services, each in a transaction of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, work: Any) -> Any:
        engine = make_engine(self.settings.database_url)
        try:
            with transaction(session_factory(engine)) as session:
                result = work(session)
                session.flush()
                session.expunge_all()
                return result
        finally:
            engine.dispose()

    def user(self, email: str) -> User:
        return self.run(lambda s: accounts.user_by_email(s, email))  # type: ignore[no-any-return]

    def link(self, email: str, purpose: str, *, age: timedelta = timedelta(0)) -> str:
        """A link of `purpose` for `email` issued `age` ago (the path under BASE)."""
        now = datetime.now(UTC) - age

        def issue(session: Any) -> str:
            user = accounts.user_by_email(session, email)
            return account_links.issue(session, user, purpose, BASE, now=now)

        return str(self.run(issue)).removeprefix(BASE)

    def actions(self, action: str) -> list[AuditEvent]:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return self.run(lambda s: list(s.scalars(query)))  # type: ignore[no-any-return]

    def sessions_of(self, email: str) -> int:
        def count(session: Any) -> int:
            user = accounts.user_by_email(session, email)
            query = select(func.count()).select_from(WebSession)
            return session.scalar(query.where(WebSession.user_id == user.id)) or 0

        return int(self.run(count))


def invite(world: World, email: str = "ana@example.org", roles: list[str] | None = None) -> Any:
    return world.client.post(
        "/api/users",
        json={"email": email, "name": "Ana Ruiz", "roles": roles or ["supervisor"]},
        headers=bearer(world.coordinator),
    )


def accept(
    client: TestClient,
    path: str,
    password: str = GOOD,
    repeat: str | None = None,
    origin: str | None = None,
) -> Any:
    form = {"password": password, "repeat": password if repeat is None else repeat}
    headers = {**HTML, **({"origin": origin} if origin else {})}
    return client.post(path, data=form, headers=headers, follow_redirects=False)


# ── invitations ──


def test_a_person_added_by_the_api_is_invited_and_signs_in_once(
    world: World, db_settings: Settings
) -> None:
    assert invite(world).status_code == 201
    [mail] = outbox(db_settings, "ana@example.org")
    assert mail.subject == "You are invited to the Open Badges issuer" and "7 days" in mail.body
    path = mail.link("/invitations/")
    client = world.client
    for _ in range(2):  # looking (a mail scanner, the person) spends nothing
        page = client.get(path, headers=HTML)
        assert page.status_code == 200 and "Welcome, Ana Ruiz" in page.text
        assert page.headers["cache-control"] == "no-store"
        # The token, in the path, is sent to no other site.
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    evil = client.post(path, data={"password": GOOD, "repeat": GOOD}, headers={"origin": "null"})
    assert evil.status_code == 403  # a form from elsewhere (or from a page that hid its origin)
    accepted = accept(client, path, origin="http://testserver")  # as a browser sends it
    assert accepted.status_code == 303 and accepted.headers["location"] == "/supervisor"
    assert client.get("/api/whoami").json()["email"] == "ana@example.org"
    assert "Done: your password is set." in client.get("/supervisor", headers=HTML).text
    client.cookies.clear()
    again = accept(client, path)
    assert again.status_code == 404 and "This link no longer works" in again.text
    assert "issuer_session" not in again.cookies
    signed_in = client.post("/api/login", json={"email": "ana@example.org", "password": GOOD})
    assert signed_in.status_code == 200
    client.cookies.clear()
    database = Database(db_settings)
    assert database.user("ana@example.org").last_signed_in_at is not None
    assert [e.subject for e in database.actions("user.invited")] == ["ana@example.org"]
    assert [e.subject for e in database.actions("user.invitation_accepted")] == ["ana@example.org"]


def test_an_account_created_with_a_password_is_not_invited(
    world: World, db_settings: Settings
) -> None:
    """build_world gave Lee and Sam passwords: nothing went out to them."""
    assert outbox(db_settings) == []


def test_an_expired_invitation_is_refused_with_a_clear_page(
    world: World, db_settings: Settings
) -> None:
    assert invite(world).status_code == 201
    old = Database(db_settings).link("ana@example.org", "invitation", age=timedelta(days=8))
    shown = world.client.get(old, headers=HTML)
    assert shown.status_code == 404 and "it has expired" in shown.text
    assert "Ask your coordinator to send you a new invitation" in shown.text
    assert accept(world.client, old).status_code == 404
    assert "issuer_session" not in world.client.cookies


@pytest.mark.parametrize(
    ("password", "repeat", "said"),
    [
        ("short pw", None, "At least 12 characters"),
        ("password1234", None, "Too easy to guess: this is a very common password"),
        ("qwertyuiop123", None, "Too easy to guess"),
        ("ana@example.org!", None, "Too easy to guess"),
        (GOOD, "wintry orchard lantern", "The two passwords differ."),
        ("x" * 1001, None, "At most 1000 characters"),
    ],
)
def test_a_refused_password_leaves_the_invitation_usable(
    world: World, db_settings: Settings, password: str, repeat: str | None, said: str
) -> None:
    assert invite(world).status_code == 201
    path = outbox(db_settings, "ana@example.org")[0].link("/invitations/")
    refused = accept(world.client, path, password, repeat)
    assert refused.status_code == 422
    assert said.lower() in refused.text.lower(), refused.text
    assert "issuer_session" not in world.client.cookies
    assert accept(world.client, path).status_code == 303
    world.client.cookies.clear()


def test_an_invitation_is_re_sent_and_the_earlier_one_stops_working(
    world: World, db_settings: Settings
) -> None:
    person = invite(world).json()
    first = outbox(db_settings, "ana@example.org")[0].link("/invitations/")
    resent = world.client.post(
        f"/api/users/{person['id']}/invitation", headers=bearer(world.coordinator)
    )
    assert resent.status_code == 202
    mails = outbox(db_settings, "ana@example.org")
    assert len(mails) == 2
    assert world.client.get(first, headers=HTML).status_code == 404
    assert accept(world.client, mails[1].link("/invitations/")).status_code == 303
    world.client.cookies.clear()
    # Once the password is set there is nothing to invite to: the person resets it instead.
    again = world.client.post(
        f"/api/users/{person['id']}/invitation", headers=bearer(world.coordinator)
    )
    assert again.status_code == 409 and "reset" in again.json()["detail"]
    missing = world.client.post("/api/users/999999/invitation", headers=bearer(world.coordinator))
    assert missing.status_code == 404


def test_the_console_invites_the_person_it_adds(world: World, db_settings: Settings) -> None:
    _, csrf = coordinator_session(world)
    added = world.client.post(
        "/coordinator/people",
        data={
            "name": "Ana Ruiz",
            "email": "ana@example.org",
            "role": "supervisor",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == "/coordinator/people"
    console = world.client.get("/coordinator/people", headers=HTML).text
    assert "supervisor added; an invitation was e-mailed to ana@example.org" in console
    [mail] = outbox(db_settings, "ana@example.org")
    assert "as supervisor" in mail.body
    world.client.cookies.clear()


def test_enrolment_invites_each_learner_it_creates(world: World, db_settings: Settings) -> None:
    csv = (
        "name,email,supervisor_email,framework\n"
        "Ana Ruiz,ana@example.org,sam@example.org,29-2034.00\n"
        "Lee Learner,lee@example.org,sam@example.org,29-2033.00\n"
    )
    applied = world.client.post(
        "/api/enrolments",
        params={"dry_run": "false"},
        content=csv.encode(),
        headers=bearer(world.coordinator),
    )
    assert applied.status_code == 200 and applied.json()["summary"] == {"enrolled": 2}
    # Lee had an account already: only the new learner is invited.
    assert [m.to for m in outbox(db_settings)] == ["ana@example.org"]
    path = outbox(db_settings)[0].link("/invitations/")
    accepted = accept(world.client, path)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/learner"
    world.client.cookies.clear()


def test_sixteen_racing_requests_accept_an_invitation_once(
    world: World, db_settings: Settings
) -> None:
    assert invite(world).status_code == 201
    path = outbox(db_settings, "ana@example.org")[0].link("/invitations/")
    passwords = [f"wintry orchard lantern number {n}" for n in range(RACERS)]
    responses = race(
        RACERS,
        lambda n: world.client.post(
            path,
            data={"password": passwords[n], "repeat": passwords[n]},
            follow_redirects=False,
        ),
    )
    assert sorted(r.status_code for r in responses) == [303] + [404] * (RACERS - 1)
    world.client.cookies.clear()
    assert Database(db_settings).sessions_of("ana@example.org") == 1
    [winner] = [n for n, r in enumerate(responses) if r.status_code == 303]
    loser = (winner + 1) % RACERS
    for n, status in ((loser, 401), (winner, 200)):
        response = world.client.post(
            "/api/login", json={"email": "ana@example.org", "password": passwords[n]}
        )
        assert response.status_code == status
        world.client.cookies.clear()


# ── password resets ──


def coordinator_session(world: World) -> tuple[str, str]:
    response = world.client.post(
        "/api/login", json={"email": "coord@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    return response.cookies["issuer_session"], response.json()["csrf_token"]


def ask(client: TestClient, path: str, email: str) -> Any:
    return client.post(path, data={"email": email}, headers=HTML)


def test_a_reset_for_an_unknown_address_answers_exactly_like_a_known_one(
    world: World, db_settings: Settings
) -> None:
    unknown = ask(world.client, "/account/reset", "nobody@example.org")
    assert outbox(db_settings) == []
    known = ask(world.client, "/account/reset", "lee@example.org")
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text and SAME_ANSWER in known.text
    not_an_address = ask(world.client, "/account/reset", "not an address")
    assert not_an_address.text == known.text
    [mail] = outbox(db_settings)
    assert mail.to == "lee@example.org" and mail.subject == "Reset your password"
    assert "60 minutes" in mail.body
    assert [e.subject for e in Database(db_settings).actions("user.reset_requested")] == [
        "lee@example.org"
    ]


def test_asking_again_within_a_minute_sends_nothing_more(
    world: World, db_settings: Settings
) -> None:
    for _ in range(3):
        assert SAME_ANSWER in ask(world.client, "/account/reset", "Lee@Example.org ").text
    assert len(outbox(db_settings)) == 1


def test_reset_requests_are_rate_limited_alike_for_known_and_unknown_addresses(
    db_settings: Settings,
) -> None:
    with TestClient(create_app(replace(db_settings, login_rate_limit=2))) as client:
        for email in ("nobody@example.org", "lee@example.org"):
            assert ask(client, "/account/reset", email).status_code == 200
        refused = ask(client, "/account/reset", "someone@example.org")
        assert refused.status_code == 429 and "retry-after" in refused.headers


def test_a_reset_link_sets_a_new_password_and_ends_every_session(
    world: World, db_settings: Settings
) -> None:
    client = world.client
    old_sessions = []
    for _ in range(2):
        response = client.post(
            "/api/login", json={"email": "lee@example.org", "password": "learner-password-1"}
        )
        old_sessions.append(response.cookies["issuer_session"])
        client.cookies.clear()
    ask(client, "/account/reset", "lee@example.org")
    path = outbox(db_settings, "lee@example.org")[0].link("/account/reset/")
    page = client.get(path, headers=HTML)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert accept(client, path, "password").status_code == 422  # short and common
    changed = accept(client, path, "a brand new passphrase")
    assert changed.status_code == 303 and changed.headers["location"] == "/learner"
    assert client.get("/api/whoami").status_code == 200  # the session the reset opened
    client.cookies.clear()
    for cookie in old_sessions:
        client.cookies.set("issuer_session", cookie)
        assert client.get("/api/whoami").status_code == 401
        client.cookies.clear()
    assert accept(client, path, "another new passphrase").status_code == 404
    old = client.post(
        "/api/login", json={"email": "lee@example.org", "password": "learner-password-1"}
    )
    assert old.status_code == 401
    events = Database(db_settings).actions("user.password_changed")
    assert [e.detail for e in events] == [{"via": "reset link"}]


def test_an_expired_reset_link_is_refused(world: World, db_settings: Settings) -> None:
    old = Database(db_settings).link("lee@example.org", "reset", age=timedelta(minutes=61))
    shown = world.client.get(old, headers=HTML)
    assert shown.status_code == 404 and "Ask for a new reset link" in shown.text
    assert accept(world.client, old, "a brand new passphrase").status_code == 404


def test_a_reset_link_is_no_invitation_and_an_invitation_no_reset_link(
    world: World, db_settings: Settings
) -> None:
    reset = Database(db_settings).link("lee@example.org", "reset")
    token = reset.rsplit("/", 1)[1]
    assert world.client.get(f"/invitations/{token}", headers=HTML).status_code == 404
    assert accept(world.client, f"/invitations/{token}").status_code == 404
    assert accept(world.client, reset, GOOD).status_code == 303
    world.client.cookies.clear()


def test_a_changed_password_follows_the_policy_too(world: World) -> None:
    response = world.client.post(
        "/api/login", json={"email": "lee@example.org", "password": "learner-password-1"}
    )
    csrf = response.json()["csrf_token"]
    for new, said in (("tiny", "at least 12"), ("iloveyou1234", "too easy to guess")):
        refused = world.client.post(
            "/account/password",
            data={"current": "learner-password-1", "new": new, "csrf_token": csrf},
            headers=HTML,
        )
        assert refused.status_code == 422 and said in refused.text.lower()
    world.client.cookies.clear()


def test_the_api_refuses_a_common_password(world: World) -> None:
    response = world.client.post(
        "/api/users",
        json={
            "email": "ana@example.org",
            "name": "Ana Ruiz",
            "roles": ["learner"],
            "password": "1qaz2wsx3edc4rfv",
        },
        headers=bearer(world.coordinator),
    )
    assert response.status_code == 422 and "too easy to guess" in response.json()["detail"]


# ── learners' sign-in links ──


def test_a_learner_signs_in_by_an_emailed_link_to_their_own_pages_only(
    world: World, db_settings: Settings
) -> None:
    """Lee is a learner and, here, a coordinator too: the link opens the learner's pages."""
    made = world.client.post(
        f"/api/users/{world.learner_id}/roles",
        json={"role": "coordinator"},
        headers=bearer(world.coordinator),
    )
    assert made.status_code == 200
    sent = ask(world.client, "/account/sign-in-link", "lee@example.org")
    assert sent.status_code == 200 and "we have sent it a sign-in link" in sent.text
    [mail] = outbox(db_settings)
    assert mail.subject == "Your sign-in link" and "15 minutes" in mail.body
    path = mail.link("/account/sign-in/")
    for _ in range(2):
        assert world.client.get(path, headers=HTML).status_code == 200
    signed_in = world.client.post(path, headers=HTML, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/learner"
    assert world.client.get("/learner", headers=HTML).status_code == 200
    console = world.client.get("/coordinator", headers=HTML, follow_redirects=False)
    assert console.status_code == 403
    world.client.cookies.clear()
    assert world.client.post(path, headers=HTML, follow_redirects=False).status_code == 404
    assert Database(db_settings).user("lee@example.org").last_signed_in_at is not None
    assert [e.subject for e in Database(db_settings).actions("login.link")] == ["lee@example.org"]


def test_a_sign_in_link_goes_to_learners_only_with_the_same_answer(
    world: World, db_settings: Settings
) -> None:
    answers = {
        email: ask(world.client, "/account/sign-in-link", email).text
        for email in ("sam@example.org", "nobody@example.org", "lee@example.org")
    }
    assert len(set(answers.values())) == 1
    assert [m.to for m in outbox(db_settings)] == ["lee@example.org"]


def test_an_expired_sign_in_link_is_refused(world: World, db_settings: Settings) -> None:
    old = Database(db_settings).link("lee@example.org", "sign-in", age=timedelta(minutes=16))
    refused = world.client.post(old, headers=HTML, follow_redirects=False)
    assert refused.status_code == 404 and "ask for a new sign-in link" in refused.text
    assert "issuer_session" not in world.client.cookies
