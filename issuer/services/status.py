"""Publishing our status list, and fetching status lists and credentials for verification.

The revocation list is rebuilt from the credentials table on each request, so a revocation
shows in the very next fetch and survives restarts (the table is the truth). Our own URLs are
answered from the database, everything else through the bounded Fetcher.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.errors import InvalidInput, NotFound
from issuer.services.fetching import Fetcher
from issuer.services.issuing import LIST_PURPOSES, STATUS_LIST_SIZE, Issuer
from issuer.status_check import Fetch
from issuer.status_list import StatusList, status_list_credential
from issuer.store.models import CredentialRecord
from issuer.types import JsonObject


def status_list(session: Session, purpose: str) -> StatusList:
    """The bits of one list: revoked credentials, or currently suspended ones."""
    column = (
        CredentialRecord.revoked_at if purpose == "revocation" else CredentialRecord.suspended_at
    )
    indexes = session.scalars(select(CredentialRecord.status_list_index).where(column.is_not(None)))
    return StatusList.with_set(indexes, STATUS_LIST_SIZE)


# Signed lists by (keys, URL, bits): the list is re-signed only when a bit changes, so a
# revocation still shows on the very next request while verifications stop paying a signature.
_signed_lists: dict[tuple[str, str, str], JsonObject] = {}


def published_list(
    session: Session, issuer: Issuer, list_id: int, now: datetime | None = None
) -> JsonObject:
    """The signed BitstringStatusListCredential at `/status/{list_id}`."""
    purpose = LIST_PURPOSES.get(list_id)
    if purpose is None:
        raise NotFound(f"no status list {list_id}")
    now = now or datetime.now(UTC)
    bits = status_list(session, purpose)
    methods = " ".join(signer.verification_method for signer in issuer.identity.signers())
    key = (methods, issuer.status_list_url(list_id), bits.encode())
    cached = _signed_lists.get(key)
    if cached is not None:
        return cached
    unsigned = status_list_credential(
        list_url=issuer.status_list_url(list_id),
        issuer=issuer.identity.did,
        purpose=purpose,
        status_list=bits,
        valid_from=now,
    )
    signed = issuer.identity.sign(unsigned, created=now)
    if len(_signed_lists) > 64:
        _signed_lists.clear()
    _signed_lists[key] = signed
    return signed


def make_fetch(session: Session | None, issuer: Issuer | None, fetcher: Fetcher) -> Fetch:
    """A JSON fetch for verification: our status list and credentials from the database."""

    def fetch(url: str) -> JsonObject:
        if session is None or issuer is None:
            return _remote(url, fetcher)
        for list_id in LIST_PURPOSES:
            if url == issuer.status_list_url(list_id):
                return published_list(session, issuer, list_id)
        if url.startswith(issuer.credential_url("")):
            stored = session.get(CredentialRecord, url.removeprefix(issuer.credential_url("")))
            if stored is None:
                raise NotFound(f"no credential at {url}")
            document: JsonObject = json.loads(stored.document)
            return document
        return _remote(url, fetcher)

    return fetch


def _remote(url: str, fetcher: Fetcher) -> JsonObject:
    try:
        fetched = json.loads(fetcher.get(url))
    except ValueError as error:
        raise InvalidInput(f"{url} did not return JSON") from error
    if not isinstance(fetched, dict):
        raise InvalidInput(f"{url} did not return a JSON object")
    return fetched
