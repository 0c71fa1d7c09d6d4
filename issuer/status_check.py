"""Credential status: is it revoked or suspended? (Bitstring Status List v1.0, also
StatusList2021Entry, and 1EdTech's 1EdTechRevocationList.)

The status list is fetched by the caller's `fetch` (bounded HTTPS, or the issuer's own records)
and, for bitstring lists, its proof and issuer are verified before a bit is believed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from issuer.checks import (
    REVOKED,
    STATUS_RETRIEVAL_ERROR,
    STATUS_VERIFICATION_ERROR,
    SUSPENDED,
    Check,
)
from issuer.errors import IssuerError, Unreachable
from issuer.proofs.data_integrity import Resolve, verify_proof
from issuer.status_list import StatusList
from issuer.types import DocumentLoader, JsonObject

Fetch = Callable[[str], JsonObject]
BITSTRING_TYPES = {"BitstringStatusListEntry", "StatusList2021Entry"}
REVOCATION_LIST = "1EdTechRevocationList"
# A credential has one entry per purpose; more than this is an attempt to make us fetch.
MAX_STATUS_ENTRIES = 4


def status_checks(
    credential: JsonObject,
    *,
    issuer: str | None,
    fetch: Fetch | None,
    resolve: Resolve,
    loader: DocumentLoader,
    now: datetime,
) -> list[Check]:
    """A check for each status entry; empty when the credential has none.

    A list that cannot be fetched is "not checked" (not essential: the credential may still be
    verified, with that said); one that comes back but cannot be believed is a failure.
    """
    entries = credential.get("credentialStatus")
    if entries is None:
        return []
    entries = entries if isinstance(entries, list) else [entries]
    if len(entries) > MAX_STATUS_ENTRIES:
        message = f"more than {MAX_STATUS_ENTRIES} status entries; none was fetched"
        return [Check("status", "failed", message, STATUS_VERIFICATION_ERROR)]
    results = []
    for entry in entries:
        if fetch is None:
            results.append(_not_checked("offline: status lists are not fetched"))
            continue
        try:
            results.append(_check_entry(credential, entry, issuer, fetch, resolve, loader, now))
        except Unreachable as error:
            results.append(_not_checked(f"the status list could not be retrieved: {error}"))
        except IssuerError as error:
            message = f"status could not be checked: {error}"
            results.append(Check("status", "failed", message, STATUS_RETRIEVAL_ERROR))
    return results


def _not_checked(message: str) -> Check:
    return Check("status", "not checked", message, STATUS_RETRIEVAL_ERROR, essential=False)


def _failed(message: str, code: str = STATUS_VERIFICATION_ERROR) -> Check:
    return Check("status", "failed", message, code)


def _check_entry(
    credential: JsonObject,
    entry: object,
    issuer: str | None,
    fetch: Fetch,
    resolve: Resolve,
    loader: DocumentLoader,
    now: datetime,
) -> Check:
    if not isinstance(entry, dict):
        return _failed("credentialStatus is not an object")
    kind = entry.get("type")
    if kind == REVOCATION_LIST:
        return _revocation_list(credential, entry, fetch)
    if kind not in BITSTRING_TYPES:
        return Check("status", "not checked", f"unknown status type {kind!r}", essential=False)
    purpose = entry.get("statusPurpose", "revocation")
    url = entry.get("statusListCredential")
    try:
        index = int(str(entry.get("statusListIndex")))
    except ValueError:
        return _failed("statusListIndex is not a number")
    if not isinstance(url, str):
        return _failed("the entry names no statusListCredential")
    listing = fetch(url)
    proof = verify_proof(listing, resolve=resolve, loader=loader)
    list_issuer = listing.get("issuer")
    list_issuer = list_issuer.get("id") if isinstance(list_issuer, dict) else list_issuer
    if not proof.verified:
        return _failed(f"the status list's proof does not verify: {proof.reason}")
    if proof.controller != list_issuer or list_issuer != issuer:
        return _failed("the status list is not signed by the credential's issuer")
    subject = listing.get("credentialSubject", {})
    if not isinstance(subject, dict) or subject.get("statusPurpose", purpose) != purpose:
        return _failed(f"the status list is not a {purpose} list")
    valid_until = listing.get("validUntil")
    if isinstance(valid_until, str) and valid_until < now.strftime("%Y-%m-%dT%H:%M:%SZ"):
        return _failed("the status list has expired")
    if StatusList.decode(subject.get("encodedList")).get(index):
        if purpose == "revocation":
            return _failed("revoked by the issuer", REVOKED)
        if purpose == "suspension":
            return _failed("suspended by the issuer", SUSPENDED)
        return _failed(f"the {purpose} status is set", STATUS_VERIFICATION_ERROR)
    word = "revoked" if purpose == "revocation" else purpose
    return Check("status", "passed", f"not {word} ({purpose} list checked)")


def _revocation_list(credential: JsonObject, entry: JsonObject, fetch: Fetch) -> Check:
    url = entry.get("id")
    if not isinstance(url, str):
        return _failed("the 1EdTechRevocationList entry has no id")
    listing = fetch(url)
    for revoked in listing.get("revokedCredentials", []) or []:
        if isinstance(revoked, dict) and revoked.get("id") == credential.get("id"):
            reason = revoked.get("revocationReason")
            message = "revoked by the issuer" + (f": {reason}" if reason else "")
            return _failed(message, REVOKED)
    message = "not on the issuer's 1EdTechRevocationList (the list is unsigned)"
    return Check("status", "warning", message, essential=False)
