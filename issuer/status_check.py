"""Credential status: is it revoked or suspended? (Bitstring Status List v1.0, also
StatusList2021Entry, and 1EdTech's 1EdTechRevocationList.)

The status list is fetched by the caller's `fetch` (bounded HTTPS, or the issuer's own records)
and, for bitstring lists, its proof and issuer are verified before a bit is believed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from issuer.errors import IssuerError
from issuer.proofs.data_integrity import Resolve, verify_proof
from issuer.status_list import StatusList
from issuer.types import DocumentLoader, JsonObject

Fetch = Callable[[str], JsonObject]
BITSTRING_TYPES = {"BitstringStatusListEntry", "StatusList2021Entry"}
REVOCATION_LIST = "1EdTechRevocationList"


def status_checks(
    credential: JsonObject,
    *,
    issuer: str | None,
    fetch: Fetch | None,
    resolve: Resolve,
    loader: DocumentLoader,
    now: datetime,
) -> list[tuple[str, str, str]]:
    """(status, name, message) for each status entry; empty when the credential has none."""
    entries = credential.get("credentialStatus")
    if entries is None:
        return []
    results = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if fetch is None:
            results.append(("warning", "status", "status not checked (offline)"))
            continue
        try:
            results.append(_check_entry(credential, entry, issuer, fetch, resolve, loader, now))
        except IssuerError as error:
            results.append(("failed", "status", f"status could not be checked: {error}"))
    return results


def _check_entry(
    credential: JsonObject,
    entry: object,
    issuer: str | None,
    fetch: Fetch,
    resolve: Resolve,
    loader: DocumentLoader,
    now: datetime,
) -> tuple[str, str, str]:
    if not isinstance(entry, dict):
        return ("failed", "status", "credentialStatus is not an object")
    kind = entry.get("type")
    if kind == REVOCATION_LIST:
        return _revocation_list(credential, entry, fetch)
    if kind not in BITSTRING_TYPES:
        return ("warning", "status", f"unknown status type {kind!r}: not checked")
    purpose = entry.get("statusPurpose", "revocation")
    url = entry.get("statusListCredential")
    try:
        index = int(str(entry.get("statusListIndex")))
    except ValueError:
        return ("failed", "status", "statusListIndex is not a number")
    if not isinstance(url, str):
        return ("failed", "status", "the entry names no statusListCredential")
    listing = fetch(url)
    proof = verify_proof(listing, resolve=resolve, loader=loader)
    list_issuer = listing.get("issuer")
    list_issuer = list_issuer.get("id") if isinstance(list_issuer, dict) else list_issuer
    if not proof.verified:
        return ("failed", "status", f"the status list's proof does not verify: {proof.reason}")
    if proof.controller != list_issuer or list_issuer != issuer:
        return ("failed", "status", "the status list is not signed by the credential's issuer")
    subject = listing.get("credentialSubject", {})
    if not isinstance(subject, dict) or subject.get("statusPurpose", purpose) != purpose:
        return ("failed", "status", f"the status list is not a {purpose} list")
    valid_until = listing.get("validUntil")
    if isinstance(valid_until, str) and valid_until < now.strftime("%Y-%m-%dT%H:%M:%SZ"):
        return ("failed", "status", "the status list has expired")
    if StatusList.decode(subject.get("encodedList")).get(index):
        word = {"revocation": "revoked", "suspension": "suspended"}.get(str(purpose), str(purpose))
        return ("failed", "status", f"{word} by the issuer")
    return (
        "passed",
        "status",
        f"not {'revoked' if purpose == 'revocation' else purpose} ({purpose} list checked)",
    )


def _revocation_list(
    credential: JsonObject, entry: JsonObject, fetch: Fetch
) -> tuple[str, str, str]:
    url = entry.get("id")
    if not isinstance(url, str):
        return ("failed", "status", "the 1EdTechRevocationList entry has no id")
    listing = fetch(url)
    for revoked in listing.get("revokedCredentials", []) or []:
        if isinstance(revoked, dict) and revoked.get("id") == credential.get("id"):
            reason = revoked.get("revocationReason")
            return ("failed", "status", "revoked by the issuer" + (f": {reason}" if reason else ""))
    return ("passed", "status", "not on the issuer's 1EdTechRevocationList (the list is unsigned)")
