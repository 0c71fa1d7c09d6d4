"""Server-rendered pages: forms need the session's CSRF token; errors are shown in place."""

from __future__ import annotations

import pytest

from issuer.config import Settings
from issuer.services import accounts
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.routes.coordinator import records
from tests.web.helpers import World, confirmed_learners

HTML = {"accept": "text/html"}


def sign_in(world: World, email: str, password: str) -> str:
    world.client.cookies.clear()
    response = world.client.post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303
    page = world.client.get(response.headers["location"], headers=HTML)
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_forms_are_refused_without_the_csrf_token(world: World) -> None:
    from tests.web.helpers import make_token

    make_token(world.client.app.state.settings, "boss@example.org", "Boss", ["coordinator"])  # type: ignore[attr-defined]
    from issuer.services import accounts
    from issuer.store.db import transaction

    with transaction(world.client.app.state.sessions) as session:  # type: ignore[attr-defined]
        accounts.set_password(
            accounts.user_by_email(session, "boss@example.org"), "a long password"
        )
    csrf = sign_in(world, "boss@example.org", "a long password")
    person = {"name": "New Person", "email": "new@example.org", "role": "learner"}
    refused = world.client.post("/coordinator/people", data=person, headers=HTML)
    assert refused.status_code == 403 and "CSRF" in refused.text
    accepted = world.client.post(
        "/coordinator/people", data={**person, "csrf_token": csrf}, headers=HTML
    )
    assert accepted.status_code == 200 and "learner added" in accepted.text


def test_wrong_password_is_announced(world: World) -> None:
    response = world.client.post(
        "/login", data={"email": "sam@example.org", "password": "nope nope"}, headers=HTML
    )
    assert response.status_code == 401 and 'role="alert"' in response.text


def test_who_holds_what_comes_a_page_at_a_time(
    world: World, db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newest first, with Older/Newer links; bench/scale.py found one page of 500 too slow."""
    monkeypatch.setattr(records, "CREDENTIALS_PER_PAGE", 2)
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        coordinator = accounts.user_by_email(session, "coord@example.org")
        supervisor = accounts.user_by_email(session, "sam@example.org")
        learners = confirmed_learners(session, coordinator, supervisor, 3)
    engine.dispose()
    for learner_id in learners:
        assert world.attest(learner_id=learner_id).status_code == 201
    sign_in(world, "coord@example.org", "correct horse battery")

    first = world.client.get("/coordinator/credentials", headers=HTML)
    second = world.client.get("/coordinator/credentials?page=2", headers=HTML)
    assert first.status_code == second.status_code == 200
    assert "Learner 2" in first.text and "Learner 1" in first.text
    assert "Learner 0" not in first.text and 'href="/coordinator/credentials?page=2"' in first.text
    assert "Learner 0" in second.text and "Learner 2" not in second.text
    assert 'href="/coordinator/credentials?page=1"' in second.text and "Older" not in second.text
    assert world.client.get("/coordinator/credentials?page=0", headers=HTML).status_code == 422


def test_re_importing_the_same_framework_says_unchanged(world: World) -> None:
    from tests.conftest import RADIOLOGY

    csrf = sign_in(world, "coord@example.org", "correct horse battery")
    upload = world.client.post(
        "/coordinator/frameworks",
        data={"csrf_token": csrf},
        files={"file": ("radiology.json", RADIOLOGY.read_bytes(), "application/json")},
        headers=HTML,
    )
    assert upload.status_code == 200
    assert "framework unchanged: this file was imported before" in upload.text
    assert "framework imported" not in upload.text
    world.client.cookies.clear()
