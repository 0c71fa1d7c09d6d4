"""Server-rendered pages: forms need the session's CSRF token; errors are shown in place."""

from __future__ import annotations

from tests.web.helpers import World

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
