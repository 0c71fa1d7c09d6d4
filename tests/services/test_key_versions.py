"""After `issuer keys rotate`, every instance signs with the new key and publishes it, without a
restart: two apps on one database and one key directory, as two instances would be."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.cli import app as cli
from issuer.config import Settings
from issuer.services import key_versions
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.app import create_app
from tests.web.helpers import build_world

DID = "did:web:127.0.0.1%3A8000"


def method_keys(document: dict) -> set[str]:  # type: ignore[type-arg]
    return {method["publicKeyMultibase"] for method in document["verificationMethod"]}


def test_bumps_count_up_from_one_and_never_repeat(db_settings: Settings) -> None:
    engine = make_engine(db_settings.database_url)
    try:
        assert key_versions.current(engine) == 0
        seen: list[int] = []

        def rotate() -> None:
            with transaction(session_factory(engine)) as session:
                seen.append(key_versions.bump(session))

        threads = [threading.Thread(target=rotate) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == list(range(1, 9))
        assert key_versions.current(engine) == 8
    finally:
        engine.dispose()


def test_every_instance_signs_with_the_rotated_key_and_publishes_it(
    db_settings: Settings, runner: CliRunner
) -> None:
    settings = replace(db_settings, did=DID)
    runner.env = {"ISSUER_DATABASE_URL": settings.database_url, "ISSUER_DID": DID}
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        world = build_world(first, settings)
        before = method_keys(second.get("/.well-known/did.json").json())
        rotated = runner.invoke(cli, ["keys", "rotate", "--dev"])
        assert rotated.exit_code == 0, rotated.output
        assert "key ring version 1" in rotated.output
        new_key = rotated.output.split("new Ed25519 signing key: ")[1].split()[0]
        assert new_key not in before
        # Neither instance restarted: both publish the new key and keep the old ones.
        for instance in (first, second):
            published = method_keys(instance.get("/.well-known/did.json").json())
            assert published == before | {new_key}
        # The second instance, which never saw the rotation happen, signs with the new key.
        world.client = second
        world.confirm_all()
        issued = world.attest()
        assert issued.status_code == 201, issued.text
        proof = issued.json()["credential"]["proof"][0]
        assert proof["verificationMethod"] == f"{DID}#{new_key}"
        verified = first.post(
            "/credentials/verify", json={"verifiableCredential": issued.json()["credential"]}
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True, json.dumps(verified.json())[:2000]


def test_a_version_read_may_be_reused_only_as_long_as_asked(db_settings: Settings) -> None:
    engine = make_engine(db_settings.database_url)
    loads: list[int] = []
    try:
        reloading = key_versions.Reloading(lambda: loads.append(1) or len(loads), engine)
        assert reloading.get() == 1
        with transaction(session_factory(engine)) as session:
            key_versions.bump(session)
        assert reloading.get(max_age=60) == 1  # signing may use what it read a moment ago
        assert reloading.get() == 2  # the DID document may not
        assert reloading.get(max_age=60) == reloading.get() == 2
    finally:
        engine.dispose()


def test_fresh_says_whether_get_answers_without_reading_the_version(
    db_settings: Settings,
) -> None:
    engine = make_engine(db_settings.database_url)
    try:
        reloading = key_versions.Reloading(lambda: 1, engine)
        assert not reloading.fresh(max_age=60)  # nothing loaded yet
        reloading.get()
        assert reloading.fresh(max_age=60)
        assert not reloading.fresh(max_age=0)
    finally:
        engine.dispose()


def test_reading_the_version_never_waits_for_a_writer(db_settings: Settings) -> None:
    """Found by the VC-API tests: a request holding its write session, then asking for the
    issuer, waited out SQLite's 30 s busy timeout for the version."""
    engine = make_engine(db_settings.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            key_versions.bump(session)  # holds the write lock
            start = time.monotonic()
            assert key_versions.current(engine) == 0  # what was committed before
            assert time.monotonic() - start < 1
    finally:
        engine.dispose()
