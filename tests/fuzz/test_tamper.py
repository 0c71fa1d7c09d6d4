"""The tamper suite: change each field of a signed credential in turn, remove each property,
add one to each object — every semantic change fails verification; reordering keys does not."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential
from tests.realistic import realistic_credential

NOW = datetime(2026, 11, 23, tzinfo=UTC)
KEY = SigningKey.from_seed(bytes(range(32)))
DID = did_key(KEY.multikey)
IDENTITY = IssuerIdentity(DID, KEY, (KEY.multikey,), IssuerProfile(id=DID, name="St Example"))
SIGNED: dict[str, Any] = sign_credential(realistic_credential(), IDENTITY, form="di", now=NOW)  # type: ignore[assignment]
RESOLVE = make_resolver(IDENTITY, Fetcher())


def verified(document: dict[str, Any]) -> bool:
    # Status is not fetched here: the suite is about the signature covering every field.
    return verify_credential(document, now=NOW, resolve=RESOLVE, loader=load_document).verified


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def objects(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from objects(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from objects(item, (*path, index))


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}x"


def test_the_untouched_credential_verifies() -> None:
    assert verified(copy.deepcopy(SIGNED))


LEAVES = [path for path, _ in leaves(SIGNED)]


@pytest.mark.parametrize("path", LEAVES, ids=lambda p: "/".join(map(str, p)))
def test_fails_to_verify_if_any_value_changes(path: tuple[Any, ...]) -> None:
    document = copy.deepcopy(SIGNED)
    at(document, path[:-1])[path[-1]] = changed(at(document, path))
    assert not verified(document)


OBJECTS = list(objects(SIGNED))


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: "/".join(map(str, p)) or "root")
def test_fails_to_verify_if_a_property_is_added_or_removed(path: tuple[Any, ...]) -> None:
    added = copy.deepcopy(SIGNED)
    at(added, path)["name" if "name" not in at(added, path) else "description"] = "added"
    assert not verified(added)
    for key in list(at(SIGNED, path)):
        if key == "proof" and path == ():
            continue
        removed = copy.deepcopy(SIGNED)
        del at(removed, path)[key]
        assert not verified(removed), (path, key)


def test_reordering_properties_changes_nothing() -> None:
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse(v) for k, v in reversed(list(value.items()))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    assert verified(reverse(copy.deepcopy(SIGNED)))
