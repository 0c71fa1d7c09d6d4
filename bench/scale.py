"""How cost grows with the number of stored credentials (1k, 10k, 100k by default).

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--database-url postgresql://…]

Seeds what a real issuer accumulates, per credential: a learner (role, assignment), ten
confirmations consumed by it, a really signed OpenBadgeCredential (2 processes sign while the
main one writes), a random status index, its claim token, claim mail and two audit events; 2 %
are revoked and issue dates spread over two years. At each size it then measures, with the app
in-process and requests one at a time (so the figures are latencies, not throughput):
- issuance: ms per attestation request (signed, stored), median of 20 fresh learners;
- verification: ms per POST /credentials/verify (status list included), median of 30;
- the status list: bytes served, and ms to rebuild it after a revocation (median of 5);
- the database's size on disk;
- the coordinator's dashboard (/coordinator) and "who holds what" (/coordinator/credentials):
  median and p95 of 30 page loads. Target: the dashboard under 200 ms at 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, text

from issuer.config import Settings
from issuer.credentials import StatementEvidence
from issuer.services import accounts, awards, catalog, issuing
from issuer.services.identity import load_identity
from issuer.services.keyring import KeyRing
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import (
    AchievementRecord,
    Assignment,
    AuditEvent,
    ClaimToken,
    Confirmation,
    CredentialRecord,
    OutboxMessage,
    Role,
    User,
)
from issuer.web.app import create_app
from issuer.web.deps import SESSION_COOKIE
from tests.web.helpers import LEVEL, SOC, confirmed_learners

CHUNK = 500
SUPERVISOR = "Dr Sam Supervisor"
METHODS = ("clinical-practice", "simulation", "direct-observation")

# ── seeding: signing in worker processes ──

_worker: dict[str, Any] = {}


def _start_worker(settings: Settings, achievements: dict[int, dict[str, Any]]) -> None:
    identity = load_identity(settings.keys_dir, None, None, settings.issuer_profile())
    _worker["issuer"] = issuing.Issuer(identity, settings.base_url)
    _worker["achievements"] = achievements


def _sign(batch: list[dict[str, Any]]) -> list[str]:
    """Really signed credentials for a batch of seeded learners (the issuance code path)."""
    signed = []
    for row in batch:
        document = _worker["achievements"][row["achievement_id"]]
        award = awards.Award(
            learner=User(email=row["email"], name=row["name"]),
            supervisor=User(name=SUPERVISOR),
            achievement=AchievementRecord(document=document),
            confirmations=[],
            evidence=[
                StatementEvidence(
                    number=n + 1,
                    statement=description["name"],
                    supervisor_name=SUPERVISOR,
                    observed_on=row["issued_at"].date() - timedelta(days=10 - n),
                    method=METHODS[n % 3],
                    setting="CT suite, St Example Hospital",
                )
                for n, description in enumerate(document["resultDescription"])
            ],
            valid_until=row["valid_until"],
        )
        credential = awards.signed_credential(
            _worker["issuer"], award, row["id"], row["index"], None, row["issued_at"]
        )
        signed.append(json.dumps(credential, ensure_ascii=False))
    return signed


# ── seeding: the rows ──


def seed(settings: Settings, engine: Engine, supervisor_id: int, start: int, stop: int) -> None:
    """Learners start..stop-1, each holding one stored credential, as issuance leaves them."""
    with engine.connect() as connection:
        achievements = {
            row.id: (row.document, row.framework_id, row.validity_days)
            for row in connection.execute(
                text(
                    "SELECT a.id, a.document, a.framework_id, f.validity_days "
                    "FROM achievements a JOIN frameworks f ON f.id = a.framework_id"
                )
            )
        }
        taken = set(connection.scalars(select(CredentialRecord.status_list_index)))
    for key, (document, *_rest) in achievements.items():
        if isinstance(document, str):
            achievements[key] = (json.loads(document), *_rest)
    free = [i for i in range(issuing.STATUS_LIST_SIZE) if i not in taken]
    random.shuffle(free)
    now = datetime.now(UTC)
    ids = sorted(achievements)

    def plan() -> Iterator[list[dict[str, Any]]]:
        for first in range(start, stop, CHUNK):
            batch = []
            for n in range(first, min(first + CHUNK, stop)):
                achievement_id = ids[n % len(ids)]
                issued = now - timedelta(
                    days=random.randrange(730), seconds=random.randrange(86400)
                )
                validity = achievements[achievement_id][2]
                batch.append(
                    {
                        "n": n,
                        "id": str(uuid.uuid4()),
                        "email": f"seed{n}@example.org",
                        "name": f"Seeded Learner {n}",
                        "achievement_id": achievement_id,
                        "index": free.pop(),
                        "issued_at": issued,
                        "valid_until": issued + timedelta(days=validity) if validity else None,
                    }
                )
            yield batch

    documents = {key: value[0] for key, value in achievements.items()}
    with ProcessPoolExecutor(2, initializer=_start_worker, initargs=(settings, documents)) as pool:
        batches = list(plan())
        for batch, signed in zip(batches, pool.map(_sign, batches), strict=True):
            with engine.begin() as connection:
                _store(connection, batch, signed, supervisor_id, achievements, now)
            print(f"  seeded {batch[-1]['n'] + 1:,}", end="\r", flush=True)
    print()


def _store(
    connection: Any,
    batch: list[dict[str, Any]],
    signed: list[str],
    supervisor_id: int,
    achievements: dict[int, tuple[Any, int, int | None]],
    now: datetime,
) -> None:
    users = connection.execute(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [{"email": r["email"], "name": r["name"], "created_at": r["issued_at"]} for r in batch],
    ).scalars()
    for row, user_id in zip(batch, users, strict=True):
        row["learner_id"] = user_id
    connection.execute(
        insert(Role), [{"user_id": r["learner_id"], "role": "learner"} for r in batch]
    )
    connection.execute(
        insert(Assignment),
        [
            {
                "learner_id": r["learner_id"],
                "supervisor_id": supervisor_id,
                "framework_id": achievements[r["achievement_id"]][1],
                "created_at": r["issued_at"] - timedelta(days=30),
            }
            for r in batch
        ],
    )
    revoked = [random.random() < 0.02 for _ in batch]
    connection.execute(
        insert(CredentialRecord),
        [
            {
                "id": r["id"],
                "learner_id": r["learner_id"],
                "achievement_id": r["achievement_id"],
                "attested_by": supervisor_id,
                "status_list_index": r["index"],
                "document": document,
                "issued_at": r["issued_at"],
                "valid_until": r["valid_until"],
                "revoked_at": now if gone else None,
                "revocation_reason": "left the programme" if gone else None,
                "public": True,
            }
            for r, document, gone in zip(batch, signed, revoked, strict=True)
        ],
    )
    connection.execute(
        insert(Confirmation),
        [
            {
                "learner_id": r["learner_id"],
                "achievement_id": r["achievement_id"],
                "statement_index": n,
                "supervisor_id": supervisor_id,
                "observed_on": r["issued_at"].date() - timedelta(days=10 - n),
                "method": METHODS[n % 3],
                "setting": "CT suite, St Example Hospital",
                "note": None,
                "confirmed_at": r["issued_at"] - timedelta(days=10 - n),
                "consumed_by": r["id"],
            }
            for r in batch
            for n in range(10)
        ],
    )
    connection.execute(
        insert(ClaimToken),
        [
            {
                "token_hash": secrets.token_hex(32),
                "user_id": r["learner_id"],
                "credential_id": r["id"],
                "expires_at": r["issued_at"] + timedelta(days=30),
                "used_at": r["issued_at"] + timedelta(days=1),
            }
            for r in batch
        ],
    )
    connection.execute(
        insert(OutboxMessage),
        [
            {
                "recipient": r["email"],
                "subject": "Your badge is ready to claim",
                "body": "Hello,\n\nYour supervisor has confirmed your level. " * 12,
                "created_at": r["issued_at"],
                "attempts": 1,
                "next_attempt_at": r["issued_at"],
                "sent_at": r["issued_at"],
            }
            for r in batch
        ],
    )
    connection.execute(
        insert(AuditEvent),
        [
            {
                "at": r["issued_at"],
                "actor_id": supervisor_id,
                "action": action,
                "subject": r["email"],
                "detail": {"credential": r["id"]},
            }
            for r in batch
            for action in ("level.attested", "credential.issued")
        ],
    )


# ── measuring ──


def timings(call: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    call()
    found = []
    for _ in range(repeat):
        begin = time.perf_counter()
        call()
        found.append((time.perf_counter() - begin) * 1000)
    return sorted(found)


def p95(values: list[float]) -> float:
    return values[max(0, round(len(values) * 0.95) - 1)]


def database_size(settings: Settings, engine: Engine) -> int:
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_database_size(current_database())")) or 0)


def measure(
    settings: Settings, engine: Engine, people: dict[str, Any], fresh: int
) -> dict[str, float]:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        coordinator = session.get(User, people["coordinator"])
        supervisor = session.get(User, people["supervisor"])
        learners = confirmed_learners(session, coordinator, supervisor, 21, first=fresh)
    app = create_app(settings)
    figures: dict[str, float] = {}
    with TestClient(app) as client:
        bearer = {"authorization": f"Bearer {people['token']}"}
        pages = {"cookie": f"{SESSION_COOKIE}={people['cookie']}"}
        queue = iter(learners)

        def attest() -> dict[str, Any]:
            response = client.post(
                f"/api/supervisor/learners/{next(queue)}/attestations",
                json={"soc": SOC, "level": LEVEL},
                headers=bearer,
            )
            assert response.status_code == 201, response.text
            return response.json()  # type: ignore[no-any-return]

        figures["issue_ms"] = statistics.median(timings(attest, 20))
        sample = _newest_document(sessions)

        def verify() -> None:
            response = client.post("/credentials/verify", json={"verifiableCredential": sample})
            assert response.status_code == 200 and response.json()["verified"], response.text

        figures["verify_ms"] = statistics.median(timings(verify, 30))
        served = client.get("/status/1")
        assert served.status_code == 200
        figures["status_list_bytes"] = len(served.content)
        encoded = served.json()["credentialSubject"]["encodedList"]
        figures["encoded_list_chars"] = len(encoded)

        revocable = iter(_recent_ids(sessions, 6))

        def rebuild() -> None:
            with transaction(sessions) as session:
                coordinator = session.get(User, people["coordinator"])
                awards.revoke(session, coordinator, next(revocable), "bench")
            assert client.get("/status/1").status_code == 200

        figures["status_rebuild_ms"] = statistics.median(timings(rebuild, 5))
        for name, path in (("dashboard", "/coordinator"), ("holders", "/coordinator/credentials")):

            def load(path: str = path) -> None:
                response = client.get(path, headers=pages)
                assert response.status_code == 200, response.text[:300]

            loads = timings(load, 30)
            figures[f"{name}_p50_ms"] = statistics.median(loads)
            figures[f"{name}_p95_ms"] = p95(loads)
    app.state.engine.dispose()
    figures["database_bytes"] = database_size(settings, engine)
    return figures


def _recent_ids(sessions: Any, count: int) -> list[str]:
    with transaction(sessions) as session:
        return list(
            session.scalars(
                select(CredentialRecord.id)
                .where(CredentialRecord.revoked_at.is_(None))
                .order_by(CredentialRecord.issued_at.desc())
                .limit(count)
            )
        )


def _newest_document(sessions: Any) -> dict[str, Any]:
    with transaction(sessions) as session:
        newest = session.scalars(
            select(CredentialRecord.document).order_by(CredentialRecord.issued_at.desc()).limit(1)
        ).one()
    return json.loads(newest)  # type: ignore[no-any-return]


def prepare(settings: Settings, engine: Engine) -> dict[str, Any]:
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        for path in catalog.framework_files(settings.frameworks_dir):
            catalog.import_framework(
                session,
                path.read_bytes(),
                str(path),
                base_url=settings.base_url,
                creator=settings.issuer_profile(),
                language="en",
            )
        coordinator = accounts.create_user(
            session, email="casey@example.org", name="Casey Coordinator", roles=["coordinator"]
        )
        supervisor = accounts.create_user(
            session, email="sam@example.org", name=SUPERVISOR, roles=["supervisor"]
        )
        cookie, _csrf = accounts.open_session(session, coordinator)
        return {
            "coordinator": coordinator.id,
            "supervisor": supervisor.id,
            "token": accounts.create_token(session, supervisor),
            "cookie": cookie,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            base_url="http://127.0.0.1:8000",
            data_dir=Path(directory),
            keys_dir=Path(directory) / "keys",
            database_url=options.database_url or f"sqlite:///{directory}/scale.db",
            verify_rate_limit=0,
        )
        KeyRing(settings.keys_dir).generate(None, dev=True)
        engine = make_engine(settings.database_url)
        people = prepare(settings, engine)
        seeded = 0
        for size in sizes:
            with engine.connect() as connection:
                stored = connection.scalar(select(func.count()).select_from(CredentialRecord)) or 0
            begin = time.perf_counter()
            seed(settings, engine, people["supervisor"], seeded, seeded + size - stored)
            seeding = time.perf_counter() - begin
            seeded += size - stored
            print(f"{size:,} credentials stored (seeded in {seeding:.0f} s); measuring …")
            # The measurement issues 21 more (fresh learners); the next size tops up to its own.
            figures = measure(settings, engine, people, fresh=len(rows) * 21)
            rows.append((size, figures))
        engine.dispose()
    backend = "PostgreSQL" if options.database_url.startswith("postgres") else "SQLite"
    print(f"\n{backend}, {os.cpu_count()} cores, app in-process, one request at a time")
    header = (
        "stored",
        "issue ms",
        "verify ms",
        "status list",
        "rebuild ms",
        "database",
        "dashboard p50/p95 ms",
        "holders p50/p95 ms",
    )
    print(" | ".join(header))
    for size, f in rows:
        print(
            f"{size:,} | {f['issue_ms']:.1f} | {f['verify_ms']:.1f} | "
            f"{f['status_list_bytes'] / 1024:.1f} KB | {f['status_rebuild_ms']:.1f} | "
            f"{f['database_bytes'] / 1_048_576:.1f} MB | "
            f"{f['dashboard_p50_ms']:.1f} / {f['dashboard_p95_ms']:.1f} | "
            f"{f['holders_p50_ms']:.1f} / {f['holders_p95_ms']:.1f}"
        )


if __name__ == "__main__":
    main()
