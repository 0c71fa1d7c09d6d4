"""The mail worker: a process of its own that composes and delivers queued mail, so that no
web request spends its time (or its CPU) on a mail server.

Requests only queue a message (its letter, in the transaction of what caused it); the worker
claims what is due, builds each message (text and branded HTML with the badge) and sends it,
then sleeps `interval` seconds and goes round again. Several workers, on one machine or many,
share the queue safely: `mail.deliver_due` leases each batch it claims (`FOR UPDATE SKIP
LOCKED` on PostgreSQL), so a message goes once. `issuer serve` starts one beside the app and
tells the app (ISSUER_MAIL_WORKER) to leave delivery to it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from sqlalchemy.exc import OperationalError

from issuer.config import Settings
from issuer.services import mail
from issuer.store.db import make_engine, session_factory

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
    transport = settings.mail_transport()
    sent = 0
    try:
        while True:
            try:
                sent += mail.deliver_due(sessions, transport, sender=settings.mail_from)
            except OperationalError as error:  # busy or restarting: the queue keeps the mail
                logger.warning("mail worker: database unavailable (%s)", type(error).__name__)
            if once or stop.wait(interval):
                return sent
    finally:
        engine.dispose()


# Mail can wait a moment; requests can't. Beside the app on the same cores, the worker yields
# to it under load (bench/http_load.py: composing a claim mail costs ~4 ms of CPU).
WORKER_NICENESS = 10


def serve_forever() -> None:
    """The target `issuer serve` starts the worker process with: at a lower priority."""
    os.nice(WORKER_NICENESS)
    run()


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return handle
