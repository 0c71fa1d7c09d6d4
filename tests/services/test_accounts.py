"""Secrets at rest: Argon2 for passwords, SHA-256 for random tokens; never the plain value."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from issuer.errors import InvalidInput, NotAuthenticated
from issuer.services import accounts
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import ApiToken, User


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_passwords_are_argon2_and_tokens_are_hashed(sessions) -> None:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        user = accounts.create_user(
            session,
            email="A@Example.org",
            name="A",
            roles=["learner", "supervisor"],
            password="a long password",
        )
        token = accounts.create_token(session, user)
    with transaction(sessions) as session:
        stored = session.scalar(select(User))
        assert stored is not None and stored.email == "a@example.org"
        assert stored.password_hash is not None and stored.password_hash.startswith("$argon2id$")
        assert "a long password" not in stored.password_hash
        assert token not in [t.token_hash for t in session.scalars(select(ApiToken))]
        assert accounts.user_for_token(session, token).id == stored.id
        assert accounts.authenticate(session, "a@example.org", "a long password") is not None
        assert accounts.authenticate(session, "a@example.org", "wrong password") is None
        with pytest.raises(NotAuthenticated):
            accounts.user_for_token(session, token + "x")
        assert {r.role for r in stored.roles} == {"learner", "supervisor"}


@pytest.mark.parametrize(
    ("email", "roles", "password"),
    [
        ("not-an-email", ["learner"], None),
        ("b@example.org", [], None),
        ("b@example.org", ["admin"], None),
        ("b@example.org", ["learner"], "short"),
    ],
)
def test_bad_accounts_are_refused(
    sessions, email: str, roles: list[str], password: str | None
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput), transaction(sessions) as session:
        accounts.create_user(session, email=email, name="B", roles=roles, password=password)
    with transaction(sessions) as session:
        assert session.scalar(select(User)) is None
