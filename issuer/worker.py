"""The mail worker: a process of its own that composes and delivers queued mail, so that no
web request spends its time (or its CPU) on a mail server.

Requests only queue a message (its letter, in the transaction of what caused it); the worker
claims what is due, builds each message (text and branded HTML with the badge) and sends it,
then sleeps `interval` seconds and goes round again. Several workers, on one machine or many,
share the queue safely: `mail.deliver_due` leases each batch it claims (`FOR UPDATE SKIP
LOCKED` on PostgreSQL), so a message goes once. `issuer serve` starts one beside the app and
tells the app (ISSUER_MAIL_WORKER) to leave delivery to it.

Each round also applies the bulk award jobs that coordinators queued (imported sign-off
records, services/bulk_awards.py): a job is claimed under a lease, so several workers share
them too, and one whose worker died is taken over once its lease runs out. Mail waits while a
job runs (1,000 credentials take a few seconds); the claim e-mails it queued go next round.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from issuer.config import Settings
from issuer.errors import KeyMaterialError
from issuer.render_method import certificate_template, render_method
from issuer.services import bulk_awards, mail
from issuer.services.identity import load_identity
from issuer.services.issuing import Issuer
from issuer.serving import MAIL_PROCESS, end_with, name_process
from issuer.store.db import make_engine, read_session_factory, session_factory
from issuer.types import JsonObject

INTERVAL_SECONDS = 1.0
logger = logging.getLogger(__name__)


def run(*, interval: float = INTERVAL_SECONDS, once: bool = False) -> int:
    """Deliver what is due until SIGTERM or SIGINT (or one round when `once`); how many were
    sent in all. A database that is busy or away is waited out, round by round."""
    settings = Settings.from_env()
    stop = threading.Event()
    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stopper(stop))
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    read_sessions = read_session_factory(engine)
    transport = settings.mail_transport()
    sent = 0
    try:
        while True:
            try:
                sent += mail.deliver_due(sessions, transport, sender=settings.mail_from)
                award_jobs(settings, sessions, read_sessions)
            except OperationalError as error:  # busy or restarting: the queue keeps the mail
                logger.warning("mail worker: database unavailable (%s)", type(error).__name__)
            if once or stop.wait(interval):
                return sent
    finally:
        engine.dispose()


def award_jobs(
    settings: Settings, sessions: sessionmaker[Session], read_sessions: sessionmaker[Session]
) -> int:
    """Apply every bulk award job that is queued (or whose runner's lease ran out); how many."""
    applied = 0
    while bulk_awards.waiting(read_sessions):
        try:
            signer = issuer(settings)
        except KeyMaterialError as error:  # the job stays queued until there is a key
            logger.warning("worker: bulk award jobs wait for a signing key (%s)", error)
            return applied
        job_id = bulk_awards.claim(sessions)
        if job_id is None:
            return applied
        bulk_awards.run(sessions, read_sessions, signer, job_id, processes=os.cpu_count() or 1)
        applied += 1
    return applied


def issuer(settings: Settings) -> Issuer:
    """Who issues, as the web app issues (web/app.py, web/deps.py): the same keys, base URL,
    status entries and render method, so a credential reads the same whoever issued it."""
    identity = load_identity(
        settings.keys_dir,
        settings.key_passphrase,
        settings.did,
        settings.issuer_profile(),
        proofs=settings.proofs,
        jwt_algorithm=settings.jwt_alg,
    )
    return Issuer(
        identity,
        settings.base_url,
        suspension=settings.suspension,
        render_method=_render_method(settings) if settings.render_method else None,
    )


def _render_method(settings: Settings) -> list[JsonObject]:
    # The URL web/routes/render.py serves the template at (the web layer is above this one;
    # tests/services/test_records_import.py checks that the two agree).
    template = certificate_template(settings.brand().colour)
    key = hashlib.sha256(template).hexdigest()[:20]
    return render_method(f"{settings.base_url}/render/{key}/certificate.svg", template)


# Mail can wait a moment; requests can't. Beside the app on the same cores, the worker yields
# to it under load (bench/http_load.py: composing a claim mail costs ~4 ms of CPU).
WORKER_NICENESS = 10


def serve_forever(parent: int) -> None:
    """The target `issuer serve` (process `parent`) starts the worker process with: at a lower
    priority, and ended when `parent` ends."""
    name_process(MAIL_PROCESS)
    end_with(parent)
    os.nice(WORKER_NICENESS)
    run()


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return handle
