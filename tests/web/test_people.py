"""People as coordinators keep them (issue 16): found on the people page, renamed, given a new
e-mail address only once that address confirms it, given and relieved of roles, deactivated
(no way in at all, their credentials still valid) and reactivated. Every change is audited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import accounts, sso
from tests.web.helpers import World, bearer
from tests.web.test_invitations import (
    BASE,
    HTML,
    Database,
    accept,
    ask,
    coordinator_session,
    outbox,
)

LEE = "learner-password-1"


def as_coordinator(world: World) -> str:
    """The coordinator's browser session on world.client; returns its CSRF token."""
    cookie, csrf = coordinator_session(world)
    world.client.cookies.clear()
    world.client.cookies.set("issuer_session", cookie)
    return csrf


def sign_in(client: TestClient, email: str, password: str) -> Any:
    response = client.post("/api/login", json={"email": email, "password": password})
    client.cookies.clear()
    return response


def add_people(settings: Settings, count: int) -> None:
    def add(session: Any) -> None:
        for n in range(count):
            accounts.create_user(
                session, email=f"nurse{n:02d}@example.org", name=f"Nurse {n:02d}", roles=["learner"]
            )

    Database(settings).run(add)


# ── finding people ──


def test_the_people_page_finds_by_name_or_email_a_page_at_a_time(
    world: World, db_settings: Settings
) -> None:
    add_people(db_settings, 60)
    as_coordinator(world)
    everyone = world.client.get("/coordinator/people", headers=HTML)
    assert everyone.status_code == 200 and "63 people." in everyone.text
    assert "Page 1 of 2" in everyone.text and 'rel="next"' in everyone.text
    assert "Dr Sam Müller" in everyone.text and "Nurse 59" not in everyone.text
    second = world.client.get("/coordinator/people", params={"page": 2}, headers=HTML)
    assert "Page 2 of 2" in second.text and "Nurse 59" in second.text
    by_name = world.client.get("/coordinator/people", params={"q": "müller"}, headers=HTML)
    assert "1 person matching" in by_name.text and "sam@example.org" in by_name.text
    by_email = world.client.get("/coordinator/people", params={"q": "NURSE0"}, headers=HTML)
    assert "10 people matching" in by_email.text
    wildcard = world.client.get("/coordinator/people", params={"q": "%"}, headers=HTML)
    assert "0 people matching" in wildcard.text and "Nobody matches" in wildcard.text
    beyond = world.client.get("/coordinator/people", params={"page": 99}, headers=HTML)
    assert "Page 2 of 2" in beyond.text
    world.client.cookies.clear()


def test_the_people_page_shows_each_persons_state_and_last_sign_in(
    world: World, db_settings: Settings
) -> None:
    world.client.post(
        "/api/users",
        json={"email": "ana@example.org", "name": "Ana Ruiz", "roles": ["supervisor"]},
        headers=bearer(world.coordinator),
    )
    sign_in(world.client, "lee@example.org", LEE)
    as_coordinator(world)
    page = world.client.get("/coordinator/people", headers=HTML).text
    rows = {row.split("</a>")[0].rsplit(">", 1)[1]: row for row in page.split("<tr>")[2:]}
    assert "Invited (no password yet)" in rows["Ana Ruiz"] and "never" in rows["Ana Ruiz"]
    assert "Active" in rows["Lee Learner"] and "UTC" in rows["Lee Learner"]
    world.client.cookies.clear()


def test_the_api_lists_and_finds_people(world: World, db_settings: Settings) -> None:
    add_people(db_settings, 60)
    headers = bearer(world.coordinator)
    first = world.client.get("/api/users", headers=headers).json()
    assert (first["total"], first["page"], first["pages"], len(first["people"])) == (63, 1, 2, 50)
    found = world.client.get("/api/users", params={"q": "LEE@"}, headers=headers).json()
    [lee] = found["people"]
    assert lee["email"] == "lee@example.org" and lee["state"] == "active"
    assert lee["last_signed_in_at"] is None and lee["roles"] == ["learner"]
    assert world.client.get("/api/users", params={"page": 0}, headers=headers).status_code == 422
    long = world.client.get("/api/users", params={"q": "x" * 321}, headers=headers)
    assert long.status_code == 422
    one = world.client.get(f"/api/users/{world.learner_id}", headers=headers)
    assert one.json()["name"] == "Lee Learner"
    assert world.client.get("/api/users/999999", headers=headers).status_code == 404


# ── editing ──


def test_a_rename_is_immediate_and_audited(world: World, db_settings: Settings) -> None:
    changed = world.client.patch(
        f"/api/users/{world.learner_id}",
        json={"name": "Lee Learner-Smith"},
        headers=bearer(world.coordinator),
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Lee Learner-Smith"
    assert changed.json()["email_confirmation_sent_to"] is None
    [event] = Database(db_settings).actions("user.renamed")
    assert event.detail == {"old": "Lee Learner", "new": "Lee Learner-Smith"}
    for body, field in (({"name": ""}, "name"), ({"name": "A\nB"}, "name"), ({"x": 1}, "x")):
        refused = world.client.patch(
            f"/api/users/{world.learner_id}", json=body, headers=bearer(world.coordinator)
        )
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == field


def test_a_new_email_address_counts_only_once_the_link_sent_to_it_is_followed(
    world: World, db_settings: Settings
) -> None:
    changed = world.client.patch(
        f"/api/users/{world.learner_id}",
        json={"email": "Lee.New@Example.org"},
        headers=bearer(world.coordinator),
    )
    assert changed.status_code == 200
    assert changed.json()["email"] == "lee@example.org"  # not yet
    assert changed.json()["email_confirmation_sent_to"] == "lee.new@example.org"
    [to_new] = outbox(db_settings, "lee.new@example.org")
    [to_old] = outbox(db_settings, "lee@example.org")
    assert BASE not in to_old.body and "lee.new@example.org" in to_old.body  # told, no link
    path = to_new.link("/account/email/")
    assert sign_in(world.client, "lee.new@example.org", LEE).status_code == 401
    for _ in range(2):
        page = world.client.get(path, headers=HTML)
        assert page.status_code == 200 and "Confirm lee.new@example.org" in page.text
    assert sign_in(world.client, "lee@example.org", LEE).status_code == 200  # still the old
    confirmed = world.client.post(path, headers=HTML)
    assert confirmed.status_code == 200 and "you now sign in as" in confirmed.text
    assert sign_in(world.client, "lee.new@example.org", LEE).status_code == 200
    assert sign_in(world.client, "lee@example.org", LEE).status_code == 401
    assert world.client.post(path, headers=HTML).status_code == 404
    events = Database(db_settings).actions("user.email_changed")
    assert [(e.subject, e.detail) for e in events] == [
        ("lee@example.org", {"new": "lee.new@example.org"})
    ]


def test_an_email_address_that_is_taken_or_not_one_is_refused(
    world: World, db_settings: Settings
) -> None:
    headers = bearer(world.coordinator)
    taken = world.client.patch(
        f"/api/users/{world.learner_id}", json={"email": "sam@example.org"}, headers=headers
    )
    assert taken.status_code == 409
    bad = world.client.patch(
        f"/api/users/{world.learner_id}", json={"email": "not an address"}, headers=headers
    )
    assert bad.status_code == 422
    # Free when asked, taken by the time the link is followed: refused then, nothing changes.
    asked = world.client.patch(
        f"/api/users/{world.learner_id}", json={"email": "ana@example.org"}, headers=headers
    )
    assert asked.status_code == 200
    path = outbox(db_settings, "ana@example.org")[0].link("/account/email/")
    world.client.post(
        "/api/users",
        json={"email": "ana@example.org", "name": "Ana Ruiz", "roles": ["learner"]},
        headers=headers,
    )
    assert world.client.post(path, headers=HTML).status_code == 409
    assert Database(db_settings).user("lee@example.org").name == "Lee Learner"


def test_roles_are_removed_but_never_ones_own_nor_the_last(
    world: World, db_settings: Settings
) -> None:
    headers = bearer(world.coordinator)
    world.client.post(
        f"/api/users/{world.learner_id}/roles", json={"role": "supervisor"}, headers=headers
    )
    removed = world.client.delete(
        f"/api/users/{world.learner_id}/roles/supervisor", headers=headers
    )
    assert removed.status_code == 200 and removed.json()["roles"] == ["learner"]
    last = world.client.delete(f"/api/users/{world.learner_id}/roles/learner", headers=headers)
    assert last.status_code == 409 and "deactivate" in last.json()["detail"]
    me = world.client.get("/api/whoami", headers=headers).json()
    own = world.client.delete(f"/api/users/{me['id']}/roles/coordinator", headers=headers)
    assert own.status_code == 403
    unknown = world.client.delete(f"/api/users/{world.learner_id}/roles/king", headers=headers)
    assert unknown.status_code == 422
    [event] = Database(db_settings).actions("user.role_removed")
    assert (event.subject, event.detail) == ("lee@example.org", {"role": "supervisor"})


def test_the_person_page_edits_and_says_what_went_wrong(
    world: World, db_settings: Settings
) -> None:
    csrf = as_coordinator(world)
    path = f"/coordinator/people/{world.learner_id}"
    page = world.client.get(path, headers=HTML)
    assert page.status_code == 200 and 'value="Lee Learner"' in page.text
    saved = world.client.post(
        path,
        data={"name": "Lee L.", "email": "lee@example.org", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == path
    assert "Done: saved." in world.client.get(path, headers=HTML).text
    moved = world.client.post(
        path, data={"name": "Lee L.", "email": "lee2@example.org", "csrf_token": csrf}
    )
    assert "a confirmation link was sent to lee2@example.org" in moved.text
    bad = world.client.post(
        path, data={"name": "Lee L.", "email": "sam@example.org", "csrf_token": csrf}
    )
    assert bad.status_code == 409 and "sam@example.org already has an account" in bad.text
    given = world.client.post(f"{path}/roles", data={"role": "supervisor", "csrf_token": csrf})
    assert "Done: supervisor role given." in given.text
    taken = world.client.post(
        f"{path}/roles/remove", data={"role": "supervisor", "csrf_token": csrf}
    )
    assert "Done: supervisor role removed." in taken.text
    forged = world.client.post(f"{path}/deactivate", data={"csrf_token": "guess"})
    assert forged.status_code == 403
    me = f"/coordinator/people/{world.client.get('/api/whoami').json()['id']}"
    myself = world.client.post(f"{me}/deactivate", data={"csrf_token": csrf})
    assert myself.status_code == 403 and "another coordinator must deactivate you" in myself.text
    world.client.cookies.clear()


# ── deactivation ──


def issued_credential(world: World) -> str:
    world.confirm_all()
    response = world.attest()
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_deactivated_person_cannot_get_in_by_any_way(world: World, db_settings: Settings) -> None:
    client, database = world.client, Database(db_settings)
    credential_id = issued_credential(world)
    claim = outbox(db_settings, "lee@example.org")[0].link("/claim/")
    ask(client, "/account/sign-in-link", "lee@example.org")
    sign_in_link = outbox(db_settings, "lee@example.org")[-1].link("/account/sign-in/")
    browser = client.post("/api/login", json={"email": "lee@example.org", "password": LEE})
    cookie = browser.cookies["issuer_session"]
    client.cookies.clear()

    shut = client.post(
        f"/api/users/{world.learner_id}/deactivate", headers=bearer(world.coordinator)
    )
    assert shut.status_code == 200 and shut.json()["state"] == "deactivated"
    assert [e.subject for e in database.actions("user.deactivated")] == ["lee@example.org"]

    # Their token and session are refused; so is every way of signing in.
    assert client.get("/api/me/credentials", headers=bearer(world.learner)).status_code == 401
    client.cookies.set("issuer_session", cookie)
    assert client.get("/api/whoami").status_code == 401
    client.cookies.clear()
    wrong = client.post("/api/login", json={"email": "lee@example.org", "password": "x" * 12})
    refused = client.post("/api/login", json={"email": "lee@example.org", "password": LEE})
    assert refused.status_code == wrong.status_code == 401 and refused.json() == wrong.json()
    assert client.post(sign_in_link, headers=HTML).status_code == 404
    assert client.post(claim, headers=HTML, follow_redirects=False).status_code == 401
    mails_before = len(outbox(db_settings))
    ask(client, "/account/sign-in-link", "lee@example.org")
    ask(client, "/account/reset", "lee@example.org")
    assert len(outbox(db_settings)) == mails_before
    assert "issuer_session" not in client.cookies
    assert database.sessions_of("lee@example.org") == 0

    # Single sign-on: the provider vouches for the e-mail, and it is still refused.
    identity = sso.Identity("https://idp.example", "lee", "lee@example.org", True, "Lee")
    outcome = database.run(lambda s: sso.sign_in(s, identity, may_create=False, client="t"))
    assert isinstance(outcome, sso.Refused) and "deactivated" in outcome.message

    # What they were issued stays valid.
    document = client.get(f"/credentials/{credential_id}", headers={"accept": "application/json"})
    assert document.status_code == 200
    verified = client.post("/credentials/verify", json={"verifiableCredential": document.json()})
    assert verified.status_code == 200 and verified.json()["verified"] is True


def test_an_invitation_of_a_deactivated_person_is_refused(
    world: World, db_settings: Settings
) -> None:
    headers = bearer(world.coordinator)
    person = world.client.post(
        "/api/users",
        json={"email": "ana@example.org", "name": "Ana Ruiz", "roles": ["supervisor"]},
        headers=headers,
    ).json()
    path = outbox(db_settings, "ana@example.org")[0].link("/invitations/")
    world.client.post(f"/api/users/{person['id']}/deactivate", headers=headers)
    assert world.client.get(path, headers=HTML).status_code == 404
    assert accept(world.client, path).status_code == 404
    resend = world.client.post(f"/api/users/{person['id']}/invitation", headers=headers)
    assert resend.status_code == 409 and "reactivate" in resend.json()["detail"]


def test_a_reactivated_person_signs_in_again_with_a_new_token_only(
    world: World, db_settings: Settings
) -> None:
    headers = bearer(world.coordinator)
    world.client.post(f"/api/users/{world.learner_id}/deactivate", headers=headers)
    again = world.client.post(f"/api/users/{world.learner_id}/reactivate", headers=headers)
    assert again.status_code == 200 and again.json()["state"] == "active"
    assert sign_in(world.client, "lee@example.org", LEE).status_code == 200
    assert world.client.get("/api/me/credentials", headers=bearer(world.learner)).status_code == 401
    events = [e.action for e in Database(db_settings).actions("user.reactivated")]
    assert events == ["user.reactivated"]


def test_nobody_deactivates_themselves(world: World) -> None:
    headers = bearer(world.coordinator)
    me = world.client.get("/api/whoami", headers=headers).json()
    assert (
        world.client.post(f"/api/users/{me['id']}/deactivate", headers=headers).status_code == 403
    )
    assert world.client.get("/api/whoami", headers=headers).status_code == 200


def test_deactivation_from_the_page_and_back(world: World, db_settings: Settings) -> None:
    csrf = as_coordinator(world)
    path = f"/coordinator/people/{world.supervisor_id}"
    shut = world.client.post(f"{path}/deactivate", data={"csrf_token": csrf})
    assert "Done: deactivated" in shut.text and "Deactivated on" in shut.text
    assert (
        world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor)).status_code
        == 401
    )
    reopened = world.client.post(f"{path}/reactivate", data={"csrf_token": csrf})
    assert "Done: reactivated." in reopened.text
    world.client.cookies.clear()
    assert sign_in(world.client, "sam@example.org", "supervisor-pass-1").status_code == 200
