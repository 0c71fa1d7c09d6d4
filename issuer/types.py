"""Type aliases shared by the core; imports nothing of the package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

JsonObject = dict[str, Any]


class RemoteDocument(TypedDict):
    """What a JSON-LD document loader returns (JSON-LD 1.1 API, RemoteDocument)."""

    contextUrl: str | None
    documentUrl: str
    document: JsonObject
    tag: str


DocumentLoader = Callable[..., RemoteDocument]
